// Converting checkpoints between formats: TensorFlow checkpoints (V1, V2 and
// TF2 object checkpoints) and safetensors files (ckpt/safetensors.h), with
// tensor names rewritten by rules. `ckpt convert` and `ckpt diff` are built
// on it (docs/format/safetensors.md, "Converting").
//
// A TensorSource is any file of named tensors: it lists them (name, dtype,
// shape) and reads one at a time, so a conversion never holds more than one
// tensor in memory for a TensorFlow destination.
//
// Thread safety: a TensorSource's const methods may be called concurrently;
// the functions are reentrant.
#ifndef CKPT_CONVERT_H_
#define CKPT_CONVERT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/bundle_reader.h"  // VariableInfo
#include "ckpt/env.h"
#include "ckpt/status.h"
#include "ckpt/tensor.h"
#include "ckpt/types.h"

namespace ckpt {

enum class TensorFormat {
  kTfCheckpoint,  // a V1/V2 checkpoint: prefix, V1 file or directory
  kSafetensors,   // a .safetensors file
  kKerasH5,       // a Keras 3 .weights.h5 file (ckpt/keras_weights.h)
};

// "tf", "safetensors", "keras".
std::string_view TensorFormatName(TensorFormat format);
// Parses a TensorFormatName (or "keras-h5" for kKerasH5); InvalidArgument
// otherwise.
Result<TensorFormat> ParseTensorFormat(std::string_view name);
// The format a path's name says: ".safetensors" -> kSafetensors, ".h5" ->
// kKerasH5, anything else (a prefix, a directory) -> kTfCheckpoint.
TensorFormat TensorFormatFromPath(std::string_view path);

class TensorSource {
 public:
  virtual ~TensorSource() = default;
  // The path opened (for a TensorFlow directory: the checkpoint it named).
  virtual const std::string& path() const = 0;
  virtual TensorFormat format() const = 0;
  // True for a TF2 object checkpoint (its names end in
  // "/.ATTRIBUTES/VARIABLE_VALUE").
  virtual bool is_object_checkpoint() const { return false; }
  // Every tensor, sorted by name. A TF2 object checkpoint's object graph
  // (_CHECKPOINTABLE_OBJECT_GRAPH) is not a tensor of the model: not listed.
  virtual const std::vector<VariableInfo>& tensors() const = 0;
  // NotFound for a name tensors() does not list.
  virtual Result<Tensor> Read(std::string_view name) const = 0;
};

// Opens `path` as `format`. REQUIRES: env non-null.
Result<std::unique_ptr<TensorSource>> OpenTensorSource(Env* env, const std::string& path,
                                                       TensorFormat format);

// One name-mapping rule; see ParseNameRule.
struct NameRule {
  enum class Kind { kStrip, kPrefix, kRegex };
  Kind kind = Kind::kStrip;
  std::string from;  // strip: the text; prefix: the old prefix; regex: the pattern
  std::string to;    // prefix: the new prefix; regex: the replacement ($1, ...)
  std::string text;  // the rule as written, for messages
};

// Parses a rule:
//   strip:TEXT            remove every occurrence of TEXT
//   prefix:OLD=NEW        a name starting with OLD starts with NEW instead
//   regex:PATTERN=REPL    std::regex_replace (ECMAScript; every match; $1 refers
//                         to a group); the first '=' ends the pattern
// InvalidArgument for anything else or a pattern that does not compile.
Result<NameRule> ParseNameRule(std::string_view text);

// Applies `rules` in order to every name of `tensors` and returns
// mapped name -> source name. InvalidArgument naming both sources when two
// names map to one, or naming the source when a name maps to "".
Result<std::map<std::string, std::string>> MapNames(const std::vector<VariableInfo>& tensors,
                                                     const std::vector<NameRule>& rules);
// One name through `rules`. InvalidArgument if a regex gives up on it
// (std::regex's complexity limits).
Result<std::string> ApplyNameRules(std::string name, const std::vector<NameRule>& rules);

// The rules ConvertCheckpoint and `ckpt diff` apply to `source`: for a TF2
// object checkpoint with `default_rules`, first strip:/.ATTRIBUTES/VARIABLE_VALUE,
// then `rules`.
std::vector<NameRule> RulesFor(const TensorSource& source, const std::vector<NameRule>& rules,
                               bool default_rules);

struct ConvertOptions {
  // Not owned. REQUIRES: non-null.
  Env* env = Env::Posix();
  // Unset: from the source path's name (TensorFormatFromPath).
  std::optional<TensorFormat> from;
  // Unset: from the destination path's name.
  std::optional<TensorFormat> to;
  // Applied in order (after the default rule, see RulesFor).
  std::vector<NameRule> name_rules;
  bool default_name_rules = true;
  // Safetensors destination: the header's __metadata__.
  std::map<std::string, std::string> metadata;
  // Tensors the destination cannot hold (a string tensor to safetensors):
  // skipped when true (listed in ConvertResult::skipped), an error naming
  // the tensor when false.
  bool skip_unsupported = false;
  // TensorFlow destination: also write the directory's `checkpoint` state
  // file naming the new checkpoint. A destination that is an existing
  // directory (or ends in '/') is written as <dir>/model.ckpt with the state
  // file whatever this says, and only if the directory holds neither yet
  // (AlreadyExists naming the file otherwise: nothing is replaced).
  bool write_state_file = false;
  bool sync = true;
  // Keras 3 weights (kKerasH5, either side; the other side must be a TF2
  // object checkpoint): the output's template, required (ckpt/keras_weights.h:
  // a .weights.h5 of the same model when writing one, an object checkpoint of
  // the same model when reading one), the checkpoint's child holding the
  // model, and whether the optimizer's variables go along. Name rules do not
  // apply (the correspondence follows the model's structure).
  std::string keras_template;
  std::string keras_model_name = "model";
  bool keras_include_optimizer = true;
  // Called after each tensor is written with the bytes written so far and in
  // all (element bytes; a string tensor counts its elements), e.g. for a
  // progress bar. May be empty.
  std::function<void(uint64_t done_bytes, uint64_t total_bytes)> on_progress;
};

struct ConvertResult {
  // What was written: the safetensors file or the V2 prefix.
  std::string destination;
  // Source name -> destination name, for every tensor written.
  std::map<std::string, std::string> written;
  // Source names skipped (skip_unsupported), with the reason.
  std::map<std::string, std::string> skipped;
};

// Converts `src` to `dst`. Nothing is written when a check fails (names,
// dtypes); a destination is published atomically or not at all.
// InvalidArgument when source and destination are the same file, for
// collisions and unsupported dtypes; a Keras weights file converts only to
// and from a TF2 object checkpoint (InvalidArgument without a template,
// Unimplemented for other pairs).
Result<ConvertResult> ConvertCheckpoint(const std::string& src, const std::string& dst,
                                        const ConvertOptions& options = {});

}  // namespace ckpt

#endif  // CKPT_CONVERT_H_

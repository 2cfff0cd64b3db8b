// Keras 3 weights files (`model.save_weights("x.weights.h5")`, HDF5) and
// their conversion to and from TF2 object checkpoints
// (`tf.train.Checkpoint(model=model)`).
//
// A Keras 3 weights file holds one group per saveable object (the model, each
// layer, nested layers, the optimizer), each with a subgroup "vars" whose
// datasets "0", "1", ... are the object's variables in order and whose
// attribute "name" is the object's Keras name. The layout and how it
// corresponds to an object checkpoint's graph are in
// docs/format/keras_weights.md.
//
// Neither file alone says everything the other needs: a weights file names
// its groups after layer classes ("layers/dense_1"), which an object
// checkpoint does not record, and an object checkpoint's graph and keys
// depend on Keras internals a weights file does not record. Each conversion
// therefore takes a template of the output: a weights file of the same model
// (ckpt -> h5), or an object checkpoint of the same model (h5 -> ckpt);
// the template's values are ignored, its structure is kept.
//
// Thread safety: the functions may be called from several threads; HDF5
// calls are serialized inside (Debian's libhdf5 is not thread-safe).
#ifndef CKPT_KERAS_WEIGHTS_H_
#define CKPT_KERAS_WEIGHTS_H_

#include <optional>
#include <string>
#include <vector>

#include "ckpt/env.h"
#include "ckpt/status.h"
#include "ckpt/tensor.h"

namespace ckpt {

// The variables of one saveable object: the group "<owner>/vars".
struct KerasVarsGroup {
  // The owner group's path without a leading '/': "" for the model itself,
  // "layers/dense", "layers/lstm/cell", "optimizer".
  std::string owner;
  // The "name" attribute of the vars group (the object's Keras name, e.g.
  // "dense_1"); nullopt when absent.
  std::optional<std::string> name;
  // Datasets "0", "1", ... in index order.
  std::vector<Tensor> vars;
};

// A whole weights file: its vars groups, sorted by owner.
struct KerasWeights {
  std::vector<KerasVarsGroup> groups;

  // The group of `owner`, or nullptr.
  const KerasVarsGroup* Find(const std::string& owner) const;
  KerasVarsGroup* Find(const std::string& owner);
};

struct KerasWeightsReadOptions {
  // libhdf5 trusts a file's internal structure: a corrupt file can make it
  // crash or loop. The file is therefore read in a forked child process; a
  // child that crashes is a DataLoss error, one that takes longer than this
  // is killed (DeadlineExceeded). <= 0: 60 s plus 1 s per 20 MiB.
  double timeout_seconds = 0;
};

// Reads a Keras 3 `.weights.h5` file (in a child process, see above).
// NotFound if the file does not exist;
// InvalidArgument if it is not HDF5 or not a Keras 3 weights file (a Keras 2
// file, a dataset outside a vars group, vars not numbered 0..n-1);
// Unimplemented for a dtype ckpt does not convert (float16, bfloat16, bool,
// strings); DataLoss for a corrupt file. Messages name the file and the
// group or dataset.
Result<KerasWeights> ReadKerasWeights(const std::string& path,
                                      const KerasWeightsReadOptions& options = {});

struct KerasWeightsWriteOptions {
  // Renames and directory syncs go through this Env (HDF5 itself writes the
  // temporary file with POSIX IO). Not owned. REQUIRES: non-null.
  Env* env = Env::Posix();
  // fsync the file and its directory before and after publishing.
  bool sync = true;
};

// Writes `weights` as Keras 3 does (h5py's defaults: every owner path's
// groups, a variable-length UTF-8 "name" attribute on each vars group that
// has a name, little-endian datasets, scalars as HDF5 scalars) to a temporary
// name beside `path`, then renames it: an existing `path` is replaced only by
// a complete file. InvalidArgument for a dtype Keras cannot hold or an owner
// path with an empty segment.
Status WriteKerasWeights(const KerasWeights& weights, const std::string& path,
                         const KerasWeightsWriteOptions& options = {});

struct KerasConvertOptions {
  // The output's structure (see the top of this file). Required.
  std::string template_path;
  // The root's child holding the model (tf.train.Checkpoint(model=...)).
  std::string model_name = "model";
  // Convert the optimizer's variables too (the weights file's "optimizer"
  // group and the checkpoint's optimizer `_variables`).
  bool include_optimizer = true;
  Env* env = Env::Posix();
  bool sync = true;
};

// Object checkpoint `prefix` -> weights file `h5_path`. The template is a
// `.weights.h5` of the same model (e.g. `model.save_weights` of a freshly
// built model); every dataset of its layer groups gets the value of the
// corresponding checkpoint variable. The optimizer group is written from
// the checkpoint's optimizer whenever it has variables. NotFound /
// InvalidArgument (naming both sides) when the two do not correspond.
Status ObjectCheckpointToKerasWeights(const std::string& prefix, const std::string& h5_path,
                                      const KerasConvertOptions& options);

// Weights file `h5_path` -> object checkpoint `prefix`. The template is an
// object checkpoint of the same model (e.g. `tf.train.Checkpoint(model=
// fresh_model).write(...)`); the output has the template's object graph and
// keys, with every model variable (and, when both have one, every optimizer
// variable) taken from the weights file. Template values the weights file
// has no counterpart for (the save counter, an optimizer the file lacks) are
// kept. The output is written atomically (BundleWriter).
Status KerasWeightsToObjectCheckpoint(const std::string& h5_path, const std::string& prefix,
                                      const KerasConvertOptions& options);

}  // namespace ckpt

#endif  // CKPT_KERAS_WEIGHTS_H_

// `ckpt inspect`: prints a checkpoint's variables and values the way
// TensorFlow's inspect_checkpoint does, or as JSON (see inspect.h for the
// output formats). Values are printed by numpy_format.h (text) and
// json_output.h (--json); this file is the command: open the checkpoint,
// choose what to print, report errors with TensorFlow's hints.
#include "inspect.h"

#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "checkpoint/variable_entries.h"
#include "ckpt/bundle_reader.h"
#include "ckpt/checkpoint_reader.h"
#include "ckpt/escape.h"
#include "ckpt/types.h"
#include "command.h"
#include "filenames/filenames.h"
#include "json_output.h"

namespace ckpt::tools {
namespace {

std::string JsonVariableHead(std::string_view name, DataType dtype, const TensorShape& shape) {
  return "{\"name\": " + JsonString(name) + ", \"dtype\": " + JsonString(DataTypeName(dtype)) +
         ", \"shape\": " + JsonShape(shape);
}

// TensorFlow's inspect_checkpoint: the "# Total number of params" line,
// after an "# Excluding ..." line when a pattern leaves tensors out.
Result<std::string> ParamCountLines(const CheckpointReader& reader, const std::string& pattern) {
  std::optional<std::regex> exclude;
  if (!pattern.empty()) {
    try {
      exclude.emplace(pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return InvalidArgumentError("--count_exclude_pattern '" + EscapeForDisplay(pattern) +
                                  "' is not a valid regular expression: " + e.what());
    }
  }
  int64_t total = 0, excluded_tensors = 0, excluded_params = 0;
  auto count = [&](const std::string& name, const TensorShape& shape) {
    if (exclude && std::regex_search(name, *exclude)) {
      ++excluded_tensors;
      excluded_params += shape.num_elements();
    } else {
      total += shape.num_elements();
    }
  };
  // A V2 checkpoint is counted from its entries: the same variables without
  // building reader.variables(), a second copy of every name and shape.
  if (const BundleReader* bundle = reader.bundle()) {
    ForEachVariableEntry(*bundle, [&](const BundleEntry& e) { count(e.key, e.shape); });
  } else {
    for (const VariableInfo& v : reader.variables()) count(v.name, v.shape);
  }
  std::string out;
  if (exclude) {
    out += "# Excluding " + std::to_string(excluded_tensors) + " tensors (" +
           std::to_string(excluded_params) + " params) that match " + EscapeForDisplay(pattern) +
           " when counting.\n";
  }
  return out + "# Total number of params: " + std::to_string(total) + "\n";
}

// TensorFlow's Python dtype name (tf.DType.name): as DataTypeName but for
// the three types Python spells by width.
std::string_view PythonDTypeName(DataType dtype) {
  switch (dtype) {
    case DataType::kFloat:
      return "float32";
    case DataType::kDouble:
      return "float64";
    case DataType::kHalf:
      return "float16";
    default:
      return DataTypeName(dtype);
  }
}

// The line before a tensor's value: TF 1.x's "tensor_name:  <name>" or TF
// 2.x's "tensor: <name> (<dtype>) [d0, d1]" (Python's reprs of the dtype
// name and the shape list).
std::string HeaderLine(InspectOptions::Style style, std::string_view name, DataType dtype,
                       const TensorShape& shape) {
  if (style == InspectOptions::Style::kTf1) return "tensor_name:  " + EscapeForDisplay(name) + "\n";
  std::string dims;
  for (int i = 0; i < shape.rank(); ++i) {
    if (i > 0) dims += ", ";
    dims += std::to_string(shape.dim(i));
  }
  return "tensor: " + EscapeForDisplay(name) + " (" + std::string(PythonDTypeName(dtype)) +
         ") [" + dims + "]\n";
}

void PrintError(const Status& status, const std::string& file_name, std::ostream& err) {
  err << "ckpt inspect: " << EscapeForDisplay(status.ToString()) << "\n";
  if (status.message().find("corrupted compressed block contents") != std::string::npos) {
    err << "It's likely that your checkpoint file has been compressed with SNAPPY.\n";
  }
  const bool data_loss_or_missing =
      status.code() == StatusCode::kDataLoss || status.code() == StatusCode::kNotFound;
  if (data_loss_or_missing) {
    // TensorFlow's hint for a file of a V2 checkpoint passed instead of its prefix.
    if (!CheckpointFileExtensionIn(file_name).empty()) {
      std::string proposed = file_name.substr(0, file_name.rfind('.'));
      err << "\nIt's likely that this is a V2 checkpoint and you need to provide the filename\n"
             "*prefix*.  Try removing the '.' and extension.  Try:\n"
             "ckpt inspect --file_name="
          << EscapeForDisplay(proposed) << "\n";
    }
  }
}

Status Inspect(const InspectOptions& options, std::string* out) {
  CKPT_ASSIGN_OR_RETURN(std::unique_ptr<CheckpointReader> reader,
                        CheckpointReader::Open(options.file_name));
  const bool show_values = options.all_tensors;
  const bool list = options.all_tensors || options.all_tensor_names;
  if (!list && !options.tensor_name.empty() && !reader->HasTensor(options.tensor_name)) {
    return NotFoundError("Tensor " + EscapeForDisplay(options.tensor_name) +
                         " not found in checkpoint");
  }

  if (options.json) {
    if (!list && !options.tensor_name.empty()) {
      CKPT_ASSIGN_OR_RETURN(Tensor t, reader->GetTensor(options.tensor_name));
      *out += JsonVariableHead(options.tensor_name, t.dtype(), t.shape()) +
              ", \"values\": " + TensorValuesToJson(t) + "}\n";
      return Status::OK();
    }
    *out += "{\"checkpoint\": " + JsonString(reader->prefix()) + ", \"format\": \"" +
            (reader->format() == CheckpointReader::Format::kV1 ? "V1" : "V2") +
            "\", \"variables\": [";
    bool first = true;
    for (const VariableInfo& v : reader->variables()) {
      *out += first ? "\n  " : ",\n  ";
      first = false;
      *out += JsonVariableHead(v.name, v.dtype, v.shape);
      if (show_values) {
        CKPT_ASSIGN_OR_RETURN(Tensor t, reader->GetTensor(v.name));
        *out += ", \"values\": " + TensorValuesToJson(t);
      }
      *out += "}";
    }
    *out += first ? "]}\n" : "\n]}\n";
    return Status::OK();
  }

  if (list) {
    for (const VariableInfo& v : reader->variables()) {
      *out += HeaderLine(options.style, v.name, v.dtype, v.shape);
      if (show_values) {
        CKPT_ASSIGN_OR_RETURN(Tensor t, reader->GetTensor(v.name));
        *out += FormatTensor(t, options.print_options) + "\n";
      }
    }
  } else if (options.tensor_name.empty()) {
    std::string listing = reader->DebugString();
    if (out->empty()) {
      *out = std::move(listing);  // no copy of a listing of a million lines
    } else {
      *out += listing;
    }
    *out += "\n";
  } else {
    CKPT_ASSIGN_OR_RETURN(Tensor t, reader->GetTensor(options.tensor_name));
    *out += HeaderLine(options.style, options.tensor_name, t.dtype(), t.shape());
    *out += FormatTensor(t, options.print_options) + "\n";
  }
  CKPT_ASSIGN_OR_RETURN(std::string count, ParamCountLines(*reader, options.count_exclude_pattern));
  *out += count;
  return Status::OK();
}

}  // namespace

int RunInspect(const InspectOptions& options, std::ostream& out, std::ostream& err) {
  if (options.file_name.empty()) {
    err << "Usage: inspect_checkpoint --file_name=checkpoint_file_name "
           "[--tensor_name=tensor_to_print] [--all_tensors] [--all_tensor_names] "
           "[--count_exclude_pattern] [--printoptions]\n";
    return kExitFailure;
  }
  std::string text;
  Status s = Inspect(options, &text);
  if (!s.ok()) {
    PrintError(s, options.file_name, err);
    return kExitFailure;
  }
  out << text;
  out.flush();
  return kExitOk;
}

void AddInspectCommand(CLI::App* app, std::ostream* out, std::ostream* err, int* exit_code) {
  auto* cmd = app->add_subcommand(
      "inspect", "Print the variables of a checkpoint (like TensorFlow's inspect_checkpoint)");
  auto options = std::make_shared<InspectOptions>();
  auto printoptions = std::make_shared<std::vector<std::string>>();
  cmd->add_option("--file_name", options->file_name,
                  "Checkpoint: a V2 prefix, a V1 file, or a directory (newest checkpoint)");
  cmd->add_option("--tensor_name", options->tensor_name, "Name of the tensor to print");
  cmd->add_option("--all_tensors", options->all_tensors,
                  "Print the names and values of all tensors")
      ->expected(0, 1)
      ->default_str("true");
  cmd->add_option("--all_tensor_names", options->all_tensor_names, "Print the names of all tensors")
      ->expected(0, 1)
      ->default_str("true");
  cmd->add_option("--count_exclude_pattern", options->count_exclude_pattern,
                  "Regex of tensors (e.g. optimizer slots) to leave out of the parameter count");
  cmd->add_option("--printoptions", *printoptions,
                  "numpy print options as k=v: threshold, edgeitems, precision, linewidth, "
                  "suppress, sign, nanstr, infstr, floatmode, legacy (false only)")
      ->expected(0, CLI::detail::expected_max_vector_size);
  cmd->add_option("--style", options->style,
                  "Header line per tensor: tf1 'tensor_name:  NAME' (default, as the "
                  "Checkpoints guide) or tf2 'tensor: NAME (float32) [2, 3]' (TensorFlow 2.x)")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, InspectOptions::Style>{{"tf1", InspectOptions::Style::kTf1},
                                                       {"tf2", InspectOptions::Style::kTf2}}));
  cmd->add_flag("--json", options->json, "Print JSON instead of text");
  cmd->callback([options, printoptions, out, err, exit_code] {
    InspectOptions run = *options;
    for (const std::string& kv : *printoptions) {
      Status s = SetPrintOption(kv, &run.print_options);
      if (!s.ok()) {
        *err << "ckpt inspect: --printoptions: " << s.message() << "\n";
        *exit_code = kExitUsage;
        return;
      }
    }
    *exit_code = RunInspect(run, *out, *err);
  });
}

}  // namespace ckpt::tools

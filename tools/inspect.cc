// `ckpt inspect`: prints a checkpoint's variables and values the way
// TensorFlow's inspect_checkpoint does, or as JSON (see inspect.h for the
// output formats). Values are printed by numpy_format.h (text) and
// json_output.h (--json); this file is the command: open the checkpoint,
// choose what to print, report errors with TensorFlow's hints.
#include "inspect.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

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

std::string ParamCountLine(const CheckpointReader& reader) {
  int64_t total = 0;
  for (const VariableInfo& v : reader.variables()) total += v.shape.num_elements();
  return "# Total number of params: " + std::to_string(total) + "\n";
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
      *out += "tensor_name:  " + EscapeForDisplay(v.name) + "\n";
      if (show_values) {
        CKPT_ASSIGN_OR_RETURN(Tensor t, reader->GetTensor(v.name));
        *out += FormatTensor(t, options.print_options) + "\n";
      }
    }
  } else if (options.tensor_name.empty()) {
    *out += reader->DebugString() + "\n";
  } else {
    CKPT_ASSIGN_OR_RETURN(Tensor t, reader->GetTensor(options.tensor_name));
    *out += "tensor_name:  " + EscapeForDisplay(options.tensor_name) + "\n";
    *out += FormatTensor(t, options.print_options) + "\n";
  }
  *out += ParamCountLine(*reader);
  return Status::OK();
}

}  // namespace

int RunInspect(const InspectOptions& options, std::ostream& out, std::ostream& err) {
  if (options.file_name.empty()) {
    err << "Usage: inspect_checkpoint --file_name=checkpoint_file_name "
           "[--tensor_name=tensor_to_print] [--all_tensors] [--all_tensor_names] "
           "[--printoptions]\n";
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
  cmd->add_option("--printoptions", *printoptions,
                  "numpy print options as k=v: threshold, edgeitems, precision, linewidth, "
                  "suppress, sign, nanstr, infstr")
      ->expected(0, CLI::detail::expected_max_vector_size);
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

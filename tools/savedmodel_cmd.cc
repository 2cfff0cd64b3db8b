// `ckpt savedmodel show`: prints a SavedModel's tag sets, signatures and
// their tensors in saved_model_cli's words (see savedmodel_cmd.h).
#include "savedmodel_cmd.h"

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "ckpt/escape.h"
#include "ckpt/run_config.h"
#include "ckpt/saved_model.h"
#include "ckpt/types.h"
#include "command.h"
#include "graph_cmd.h"
#include "json_output.h"

namespace ckpt::tools {
namespace {

using Tags = std::vector<std::string>;

Tags TagsOf(const tensorflow::MetaGraphDef& meta) {
  return Tags(meta.meta_info_def().tags().begin(), meta.meta_info_def().tags().end());
}

std::string Join(const Tags& parts, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

// "serve,gpu" -> {"serve", "gpu"}, empty pieces dropped (saved_model_cli
// strips them too).
Tags SplitTagSet(const std::string& tag_set) {
  Tags out;
  size_t start = 0;
  while (start <= tag_set.size()) {
    size_t comma = std::min(tag_set.find(',', start), tag_set.size());
    std::string tag = tag_set.substr(start, comma - start);
    if (!tag.empty()) out.push_back(tag);
    start = comma + 1;
  }
  return out;
}

std::string JsonList(const Tags& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + JsonString(items[i]);
  return out + "]";
}

std::vector<std::string> SortedSignatureKeys(const tensorflow::MetaGraphDef& meta) {
  std::vector<std::string> keys;
  for (const auto& entry : meta.signature_def()) keys.push_back(entry.first);
  std::sort(keys.begin(), keys.end());
  return keys;
}

// The op types of the graph's nodes, sorted. TF's ops_used_by_graph_def
// adds those of the function library's bodies, which ckpt's graph.proto
// leaves out (TF2 graphs keep their tf.functions there).
std::vector<std::string> OpsUsed(const tensorflow::MetaGraphDef& meta) {
  std::set<std::string> ops;
  for (const auto& node : meta.graph_def().node()) ops.insert(node.op());
  return {ops.begin(), ops.end()};
}

// TF2 SavedModels carry MetaGraphDef.object_graph_def (field 7), which
// ckpt's meta_graph.proto leaves out: it survives as an unknown field.
bool HasObjectGraph(const tensorflow::MetaGraphDef& meta) {
  const auto& unknown = meta.GetReflection()->GetUnknownFields(meta);
  for (int i = 0; i < unknown.field_count(); ++i) {
    if (unknown.field(i).number() == 7) return true;
  }
  return false;
}

// saved_model_cli's _print_tensor_info, each line after `pad`.
std::string TensorInfoText(const tensorflow::TensorInfo& info, const std::string& pad) {
  std::string shape = "unknown_rank";
  if (!info.tensor_shape().unknown_rank()) {
    shape = "(";
    for (int i = 0; i < info.tensor_shape().dim_size(); ++i) {
      shape += (i ? ", " : "") + std::to_string(info.tensor_shape().dim(i).size());
    }
    shape += ")";
  }
  return pad + "    dtype: " +
         std::string(DataTypeEnumName(static_cast<DataType>(info.dtype()))) + "\n" + pad +
         "    shape: " + shape + "\n" + pad + "    name: " + EscapeForDisplay(info.name()) + "\n";
}

// saved_model_cli's _show_inputs_outputs_mgd.
std::string SignatureText(const tensorflow::SignatureDef& sig, const std::string& pad) {
  std::string out;
  for (const bool inputs : {true, false}) {
    const auto& map = inputs ? sig.inputs() : sig.outputs();
    out += pad + "The given SavedModel SignatureDef contains the following " +
           (inputs ? "input(s):\n" : "output(s):\n");
    std::vector<std::string> keys;
    for (const auto& entry : map) keys.push_back(entry.first);
    std::sort(keys.begin(), keys.end());
    for (const std::string& key : keys) {
      out += pad + "  " + (inputs ? "inputs['" : "outputs['") + EscapeForDisplay(key) +
             "'] tensor_info:\n" + TensorInfoText(map.at(key), pad + "  ");
    }
  }
  return out + pad + "Method name is: " + EscapeForDisplay(sig.method_name()) + "\n";
}

Status ShowTagSets(const tensorflow::SavedModel& model, bool json, std::string* out) {
  std::vector<Tags> tag_sets;
  for (const auto& meta : model.meta_graphs()) tag_sets.push_back(TagsOf(meta));
  std::sort(tag_sets.begin(), tag_sets.end());
  if (json) {
    std::vector<std::string> lists;
    for (const Tags& tags : tag_sets) lists.push_back(JsonList(tags));
    *out += "{\"tag_sets\": [" + Join(lists, ", ") + "]}\n";
    return Status::OK();
  }
  *out += "The given SavedModel contains the following tag-sets:\n";
  for (Tags tags : tag_sets) {
    std::sort(tags.begin(), tags.end());
    *out += EscapeForDisplay(PyRepr(Join(tags, ", "))) + "\n";
  }
  return Status::OK();
}

Status ShowSignatureKeys(const tensorflow::MetaGraphDef& meta, bool json, std::string* out) {
  const std::vector<std::string> keys = SortedSignatureKeys(meta);
  if (json) {
    *out += "{\"tags\": " + JsonList(TagsOf(meta)) + ", \"signature_keys\": " + JsonList(keys) +
            "}\n";
    return Status::OK();
  }
  *out += "The given SavedModel MetaGraphDef contains SignatureDefs with the following keys:\n";
  for (const std::string& key : keys) *out += "SignatureDef key: \"" + EscapeForDisplay(key) + "\"\n";
  return Status::OK();
}

Status ShowSignature(const tensorflow::MetaGraphDef& meta, const std::string& key, bool json,
                     std::string* out) {
  auto it = meta.signature_def().find(key);
  if (it == meta.signature_def().end()) {
    return NotFoundError("Could not find signature \"" + EscapeForDisplay(key) +
                         "\". Please choose from: " + Join(SortedSignatureKeys(meta), ", "));
  }
  *out += json ? SignatureJson(key, it->second) + "\n" : SignatureText(it->second, "");
  return Status::OK();
}

std::string PyList(const Tags& items) {
  std::vector<std::string> quoted;
  for (const std::string& s : items) quoted.push_back(PyRepr(s));
  return "[" + Join(quoted, ", ") + "]";
}

Status ShowAll(const tensorflow::SavedModel& model, bool json, std::string* out) {
  std::vector<const tensorflow::MetaGraphDef*> metas;
  for (const auto& meta : model.meta_graphs()) metas.push_back(&meta);
  std::stable_sort(metas.begin(), metas.end(), [](const auto* a, const auto* b) {
    return TagsOf(*a) < TagsOf(*b);
  });
  std::string text;
  bool object_graph = false;
  std::vector<std::string> json_metas;
  for (const tensorflow::MetaGraphDef* meta : metas) {
    object_graph = object_graph || HasObjectGraph(*meta);
    if (json) {
      std::vector<std::string> sigs;
      for (const std::string& key : SortedSignatureKeys(*meta)) {
        sigs.push_back(SignatureJson(key, meta->signature_def().at(key)));
      }
      json_metas.push_back("{\"tags\": " + JsonList(TagsOf(*meta)) + ", \"signatures\": [" +
                           Join(sigs, ", ") + "], \"ops\": " + JsonList(OpsUsed(*meta)) +
                           ", \"has_object_graph\": " + JsonBool(HasObjectGraph(*meta)) + "}");
      continue;
    }
    text += "\nMetaGraphDef with tag-set: '" + EscapeForDisplay(Join(TagsOf(*meta), ", ")) +
            "' contains the following SignatureDefs:\n";
    for (const std::string& key : SortedSignatureKeys(*meta)) {
      text += "\nsignature_def['" + EscapeForDisplay(key) + "']:\n" +
              SignatureText(meta->signature_def().at(key), "  ");
    }
    std::vector<std::string> ops;
    for (const std::string& op : OpsUsed(*meta)) ops.push_back(PyRepr(op));
    text += "The MetaGraph with tag set " + EscapeForDisplay(PyList(TagsOf(*meta))) +
            " contains the following ops: {" + EscapeForDisplay(Join(ops, ", ")) + "}\n";
  }
  if (json) {
    *out += "{\"meta_graphs\": [" + Join(json_metas, ",\n  ") + "]}\n";
    return Status::OK();
  }
  if (object_graph) {
    text += "\nConcrete Functions: N/A (ckpt does not read a TF2 SavedModel's object graph; "
            "use saved_model_cli)\n";
  }
  *out += text;
  return Status::OK();
}

Status Show(const SavedModelShowOptions& options, std::string* out) {
  if (options.dir.empty()) return InvalidArgumentError("give the SavedModel directory (DIR or --dir)");
  if (!options.signature_def.empty() && options.tag_set.empty() && !options.all) {
    return InvalidArgumentError("--signature_def needs --tag_set (the meta graph holding it)");
  }
  CKPT_ASSIGN_OR_RETURN(tensorflow::SavedModel model, ReadSavedModel(options.env, options.dir));
  if (options.all) return ShowAll(model, options.json, out);
  if (options.tag_set.empty()) return ShowTagSets(model, options.json, out);
  CKPT_ASSIGN_OR_RETURN(const tensorflow::MetaGraphDef* meta,
                        FindMetaGraph(model, SplitTagSet(options.tag_set)));
  if (options.signature_def.empty()) return ShowSignatureKeys(*meta, options.json, out);
  return ShowSignature(*meta, options.signature_def, options.json, out);
}

}  // namespace

int RunSavedModelShow(const SavedModelShowOptions& options, std::ostream& out, std::ostream& err) {
  std::string text;
  Status s = Show(options, &text);
  if (!s.ok()) {
    err << "ckpt savedmodel show: " << EscapeForDisplay(s.ToString()) << "\n";
    return kExitFailure;
  }
  out << text;
  out.flush();
  return kExitOk;
}

void AddSavedModelCommand(CLI::App* app, std::ostream* out, std::ostream* err, int* exit_code) {
  auto* cmd = app->add_subcommand("savedmodel", "Look into a SavedModel (like saved_model_cli)");
  cmd->require_subcommand(1);
  auto* show = cmd->add_subcommand(
      "show",
      "Show a SavedModel's tag sets, signature keys, or a signature's inputs and outputs, as "
      "saved_model_cli show does. Not shown: a TF2 SavedModel's concrete functions (ckpt does "
      "not read the object graph); --all lists op types sorted");
  auto options = std::make_shared<SavedModelShowOptions>();
  show->add_option("dir", options->dir, "The SavedModel directory (or its saved_model.pb)");
  show->add_option("--dir", options->dir, "The SavedModel directory (as saved_model_cli)");
  show->add_option("--tag_set", options->tag_set,
                   "The meta graph's tags, comma-separated (e.g. serve): list its signatures");
  show->add_option("--signature_def", options->signature_def,
                   "With --tag_set: show this signature's inputs, outputs and method");
  show->add_flag("--all", options->all, "Every meta graph, signature and op type");
  show->add_flag("--json", options->json, "Print JSON instead of text");
  show->callback(
      [options, out, err, exit_code] { *exit_code = RunSavedModelShow(*options, *out, *err); });
}

}  // namespace ckpt::tools

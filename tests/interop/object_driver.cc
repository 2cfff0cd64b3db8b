// ckpt_object_driver: lets pytest drive ckpt's object-based checkpoints
// (include/ckpt/object_checkpoint.h) against TensorFlow. Test helper only.
//
//   ckpt_object_driver write   <prefix> <spec>       ObjectCheckpoint::Write
//   ckpt_object_driver save    <file_prefix> <spec> <times>
//                                                    Save `times` times; prints each path
//   ckpt_object_driver read    <path>                prints the graph and values
//   ckpt_object_driver restore <path> <spec>         RestoreWithStatus into the spec's
//                                                    tree, then prints like `read` plus
//                                                    "consumed OK" or the assertion text
//
// Spec lines (paths are escaped object paths, '/'-separated, relative to the
// checkpoint root; parents must be declared first):
//   object <path>
//   variable <path> <hex full_name> <DT_*> <rank> <dims...> <hex value bytes>
//   alias <path> <existing path>                 the same object under a second name
//   slot <optimizer path> <variable path> <slot name> <hex full_name> <DT_*> <rank>
//        <dims...> <hex value bytes>
// Strings: the value field is "s:" followed by comma-separated hex elements.
//
// Output of read/restore:
//   node <id> <hex path or "-" if unreachable> <hex "local=id,..." children>
//   var <hex path> <hex full_name> <hex key> <DT_*> <rank> <dims...> <hex value>
// Errors go to stderr with exit status 1.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "ckpt/object_checkpoint.h"

namespace {

using ckpt::DataType;
using ckpt::Status;
using ckpt::Tensor;

std::string Hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out.empty() ? "-" : out;
}

bool Unhex(const std::string& h, std::string* out) {
  out->clear();
  if (h == "-") return true;
  if (h.size() % 2) return false;
  for (size_t i = 0; i < h.size(); i += 2) {
    out->push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
  }
  return true;
}

std::string ValueHex(const Tensor& t) {
  if (t.dtype() != DataType::kString) return Hex(t.bytes());
  std::string out = "s:";
  for (size_t i = 0; i < t.strings().size(); ++i) {
    if (i) out += ",";
    out += Hex(t.strings()[i]);
  }
  return out;
}

ckpt::Result<Tensor> ParseValue(std::istringstream& in) {
  std::string dt;
  int rank = 0;
  in >> dt >> rank;
  auto dtype = ckpt::DataTypeFromName(dt);
  if (!dtype) return ckpt::InvalidArgumentError("bad dtype " + dt);
  std::vector<int64_t> dims(rank);
  for (auto& d : dims) in >> d;
  std::string hex;
  in >> hex;
  ckpt::TensorShape shape(dims);
  if (*dtype == DataType::kString) {
    std::vector<std::string> elems;
    std::string body = hex.substr(2);
    size_t start = 0;
    while (start <= body.size() && !body.empty()) {
      size_t comma = body.find(',', start);
      std::string e;
      Unhex(body.substr(start, comma == std::string::npos ? std::string::npos : comma - start), &e);
      elems.push_back(e);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    return Tensor::FromStrings(shape, elems);
  }
  CKPT_ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(*dtype, shape));
  std::string bytes;
  if (!Unhex(hex, &bytes) || bytes.size() != t.byte_size()) {
    return ckpt::InvalidArgumentError("bad value bytes for " + shape.DebugString());
  }
  std::copy(bytes.begin(), bytes.end(), t.mutable_data());
  return t;
}

std::pair<std::string, std::string> SplitLast(const std::string& path) {
  size_t pos = path.rfind('/');
  if (pos == std::string::npos) return {"", path};
  return {path.substr(0, pos), path.substr(pos + 1)};
}

// Builds the spec's tree under `root`.
Status BuildTree(const std::string& spec_path, ckpt::Trackable* root) {
  std::ifstream f(spec_path);
  if (!f) return ckpt::NotFoundError("cannot open spec " + spec_path);
  std::map<std::string, std::shared_ptr<ckpt::Trackable>> objects;
  auto lookup = [&](const std::string& path) -> ckpt::Trackable* {
    if (path.empty()) return root;
    auto it = objects.find(path);
    return it == objects.end() ? nullptr : it->second.get();
  };
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream in(line);
    std::string cmd, path;
    in >> cmd >> path;
    auto [parent_path, escaped] = SplitLast(path);
    if (cmd == "slot") {
      std::string var_path, slot_name, full_hex, full_name;
      in >> var_path >> slot_name >> full_hex;
      Unhex(full_hex, &full_name);
      CKPT_ASSIGN_OR_RETURN(Tensor value, ParseValue(in));
      ckpt::Trackable* opt = lookup(path);
      auto var = objects.count(var_path) ? objects[var_path] : nullptr;
      if (opt == nullptr || var == nullptr || var->AsVariable() == nullptr) {
        return ckpt::InvalidArgumentError("bad slot line: " + line);
      }
      auto slot = ckpt::Variable::Create(value, full_name);
      CKPT_RETURN_IF_ERROR(opt->AddSlotVariable(
          std::static_pointer_cast<ckpt::Variable>(var), slot_name, slot));
      continue;
    }
    ckpt::Trackable* parent = lookup(parent_path);
    if (parent == nullptr) return ckpt::InvalidArgumentError("no parent for: " + line);
    CKPT_ASSIGN_OR_RETURN(std::string local, ckpt::UnescapeLocalName(escaped));
    std::shared_ptr<ckpt::Trackable> obj;
    if (cmd == "object") {
      obj = std::make_shared<ckpt::Trackable>();
    } else if (cmd == "variable") {
      std::string full_hex, full_name;
      in >> full_hex;
      Unhex(full_hex, &full_name);
      CKPT_ASSIGN_OR_RETURN(Tensor value, ParseValue(in));
      obj = ckpt::Variable::Create(value, full_name);
    } else if (cmd == "alias") {
      std::string target;
      in >> target;
      if (!objects.count(target)) return ckpt::InvalidArgumentError("bad alias: " + line);
      obj = objects[target];
    } else {
      return ckpt::InvalidArgumentError("unknown spec line: " + line);
    }
    CKPT_RETURN_IF_ERROR(parent->AddChild(local, obj));
    objects[path] = obj;
  }
  return Status::OK();
}

int Fail(const Status& s) {
  std::cerr << s.ToString() << "\n";
  return 1;
}

int Read(const std::string& path) {
  auto reader = ckpt::ObjectCheckpointReader::Open(path);
  if (!reader.ok()) return Fail(reader.status());
  for (const auto& node : (*reader)->graph().nodes()) {
    std::string children;
    for (const auto& c : node.children) {
      if (!children.empty()) children += ",";
      children += c.local_name + "=" + std::to_string(c.node_id);
    }
    std::cout << "node " << node.id << " " << (node.reachable ? Hex(node.path) : "-") << " "
              << Hex(children) << "\n";
  }
  for (const auto& v : (*reader)->Variables()) {
    auto value = (*reader)->GetVariable(v.path);
    if (!value.ok()) return Fail(value.status());
    std::cout << "var " << Hex(v.path) << " " << Hex(v.full_name) << " " << Hex(v.checkpoint_key)
              << " " << ckpt::DataTypeEnumName(value->dtype()) << " " << value->shape().rank();
    for (int64_t d : value->shape().dims()) std::cout << " " << d;
    std::cout << " " << ValueHex(*value) << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 3 && args[0] == "write") {
    ckpt::ObjectCheckpoint ckpt;
    Status s = BuildTree(args[2], &ckpt.root());
    if (!s.ok()) return Fail(s);
    s = ckpt.Write(args[1]);
    return s.ok() ? 0 : Fail(s);
  }
  if (args.size() == 4 && args[0] == "save") {
    ckpt::ObjectCheckpoint ckpt;
    Status s = BuildTree(args[2], &ckpt.root());
    if (!s.ok()) return Fail(s);
    for (int i = 0; i < std::stoi(args[3]); ++i) {
      auto path = ckpt.Save(args[1]);
      if (!path.ok()) return Fail(path.status());
      std::cout << *path << "\n";
    }
    return 0;
  }
  if (args.size() == 2 && args[0] == "read") return Read(args[1]);
  if (args.size() == 3 && args[0] == "restore") {
    ckpt::ObjectCheckpoint ckpt;
    Status s = BuildTree(args[2], &ckpt.root());
    if (!s.ok()) return Fail(s);
    auto status = ckpt.RestoreWithStatus(args[1]);
    if (!status.ok()) return Fail(status.status());
    // Print every variable of the tree with its (restored) value.
    std::vector<std::pair<std::string, ckpt::Trackable*>> todo{{"", &ckpt.root()}};
    std::map<const ckpt::Trackable*, bool> seen;
    for (size_t i = 0; i < todo.size(); ++i) {
      auto [path, t] = todo[i];
      if (ckpt::Variable* v = t->AsVariable()) {
        std::cout << "var " << Hex(path) << " " << Hex(v->full_name()) << " - "
                  << ckpt::DataTypeEnumName(v->dtype()) << " " << v->shape().rank();
        for (int64_t d : v->shape().dims()) std::cout << " " << d;
        std::cout << " " << ValueHex(v->value()) << "\n";
      }
      for (const auto& c : t->children()) {
        if (seen[c.object.get()]) continue;
        seen[c.object.get()] = true;
        std::string esc = ckpt::EscapeLocalName(c.local_name);
        todo.push_back({path.empty() ? esc : path + "/" + esc, c.object.get()});
      }
      for (const auto& sl : t->slot_variables()) {
        std::cout << "slot " << Hex(path) << " " << Hex(sl.slot_name) << " "
                  << ValueHex(sl.slot->value()) << "\n";
      }
    }
    Status consumed = status->AssertConsumed();
    std::cout << (consumed.ok() ? std::string("consumed OK") : "not consumed: " + Hex(consumed.message()))
              << "\n";
    return 0;
  }
  std::cerr << "usage: ckpt_object_driver write|save|read|restore ... (see object_driver.cc)\n";
  return 2;
}

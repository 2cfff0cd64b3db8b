// ckpt_graph_driver: builds and saves a small model as a TF graph, or
// describes a TF meta graph, for tests/interop/test_meta_graph.py. Not
// installed.
//
//   ckpt_graph_driver dense <dir> <step>
//     Builds x[?,4] -> dense 4x3 + bias -> relu -> dense 3x2 + bias ->
//     softmax (plus argmax and a global_step) with ckpt::GraphBuilder, adds
//     the Saver subgraph, saves the variables with ckpt::Saver (its
//     meta_graph_writer set) to <dir>/model.ckpt-<step> (+ .meta) and writes
//     <dir>/graph.pbtxt. Prints, one per line:
//       prefix <checkpoint prefix>
//       input <row> <4 values %.9g>        the fixed inputs (5 rows)
//       output <row> <2 values %.17g>      the C++ forward pass (softmax)
//       argmax <row> <k>
//   ckpt_graph_driver describe <file> [savedmodel]
//     Reads a .meta file (or each MetaGraphDef of a saved_model.pb) with
//     ckpt::ReadMetaGraph + DescribeMetaGraph and prints:
//       version <tensorflow_version>
//       producer <n>
//       op <name>                  (stripped_op_list)
//       node <name> <op> <input>...
//       variable <name> <initializer> <snapshot> <trainable 0|1>
//       collection <key> <kind> <count>
//       saver <filename_tensor> <save_tensor> <restore_op> <max_to_keep>
//             <keep_hours %g> <sharded 0|1> <version>
//   ckpt_graph_driver parse_example <out.meta> (<key> <dtype> <dims> <default>)...
//     A string Placeholder "input_example_tensor" [?] parsed with
//     GraphBuilder::ParseExample, one DenseFeature per group of four:
//     dtype float|int64|string, dims "2,3" ("." for a scalar), default "-"
//     (required) or comma-separated values (a vector). Writes the graph's
//     .meta (stripped_op_list included) and prints "output <key> <tensor>"
//     per feature, in the given order.
//   ckpt_graph_driver opdef <op>...
//     Prints "opdef <op> <hex of the serialized OpDef>" per op from ckpt's
//     op registry (FindOpDef).
// Errors: "error <CODE> <message>" on stdout and exit status 1.
#include <cmath>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "ckpt/env.h"
#include "ckpt/graph.h"
#include "ckpt/meta_graph.h"
#include "ckpt/saved_model.h"
#include "ckpt/saver.h"
#include "ckpt/tensor.h"

namespace {

using namespace ckpt;  // NOLINT: a test driver

int Fail(const Status& s) {
  std::cout << "error " << StatusCodeName(s.code()) << " " << s.message() << "\n";
  return 1;
}

Tensor Filled(TensorShape shape, float scale, float phase) {
  std::vector<float> v(static_cast<size_t>(shape.num_elements()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = scale * std::sin(0.7f * i + phase);
  return Tensor::FromVector<float>(shape, v);
}

int Dense(const std::string& dir, int64_t step) {
  Tensor w1 = Filled({4, 3}, 0.9f, 0.3f), b1 = Filled({3}, 0.2f, 1.1f);
  Tensor w2 = Filled({3, 2}, 1.3f, -0.5f), b2 = Filled({2}, 0.1f, 2.0f);
  Tensor gs = Tensor::Scalar<int64_t>(step);

  GraphBuilder g;
  Output x = g.Placeholder(DataType::kFloat, PartialShape{-1, 4}, "x");
  Output h;
  GraphVariable v_w1, v_b1, v_w2, v_b2;
  {
    auto s = g.NameScope("dense");
    v_w1 = g.Variable("kernel", w1);
    v_b1 = g.Variable("bias", b1);
    h = g.Relu(g.BiasAdd(g.MatMul(x, v_w1.read), v_b1.read));
  }
  Output logits;
  {
    auto s = g.NameScope("dense_1");
    v_w2 = g.Variable("kernel", w2);
    v_b2 = g.Variable("bias", b2);
    logits = g.BiasAdd(g.MatMul(h, v_w2.read), v_b2.read);
  }
  Output probs = g.Softmax(logits);
  Output cls = g.ArgMax(probs, 1);
  GraphVariable v_gs = g.GlobalStep();
  std::string init = g.GlobalVariablesInitializer();
  g.AddToCollection("predictions", probs.tensor_name());
  g.AddToCollection("classes", cls.tensor_name());
  if (!g.status().ok()) return Fail(g.status());

  SaverOptions saver_options;
  auto saver_def = AddSaverSubgraph(&g, SaverGraphOptions::FromSaverOptions(saver_options));
  if (!saver_def.ok()) return Fail(saver_def.status());
  auto meta = BuildMetaGraphDef(g, &*saver_def);
  if (!meta.ok()) return Fail(meta.status());
  saver_options.meta_graph_writer = MetaGraphWriter(*meta);

  auto saver = Saver::Create(VarListFromMap({{v_w1.name, &w1},
                                             {v_b1.name, &b1},
                                             {v_w2.name, &w2},
                                             {v_b2.name, &b2},
                                             {v_gs.name, &gs}}),
                             saver_options);
  if (!saver.ok()) return Fail(saver.status());
  SaveArgs args;
  args.global_step = step;
  auto prefix = (*saver)->Save(JoinPath(dir, "model.ckpt"), args);
  if (!prefix.ok()) return Fail(prefix.status());
  auto graph_def = BuildGraphDef(g);
  if (!graph_def.ok()) return Fail(graph_def.status());
  Status s = WriteTextGraph(Env::Posix(), JoinPath(dir, "graph.pbtxt"), *graph_def);
  if (!s.ok()) return Fail(s);
  std::cout << "prefix " << *prefix << "\n";

  // The C++ forward pass, in double from the float weights.
  const float* W1 = w1.flat<float>();
  const float* B1 = b1.flat<float>();
  const float* W2 = w2.flat<float>();
  const float* B2 = b2.flat<float>();
  for (int r = 0; r < 5; ++r) {
    float in[4];
    for (int j = 0; j < 4; ++j) in[j] = std::cos(1.3f * r + 0.4f * j) * 2.0f;
    double hid[3], out[2];
    for (int k = 0; k < 3; ++k) {
      double acc = B1[k];
      for (int j = 0; j < 4; ++j) acc += static_cast<double>(in[j]) * W1[j * 3 + k];
      hid[k] = acc > 0 ? acc : 0;
    }
    double mx = -1e300;
    for (int k = 0; k < 2; ++k) {
      double acc = B2[k];
      for (int j = 0; j < 3; ++j) acc += hid[j] * W2[j * 2 + k];
      out[k] = acc;
      mx = std::max(mx, acc);
    }
    double sum = 0;
    for (double& o : out) sum += (o = std::exp(o - mx));
    for (double& o : out) o /= sum;
    std::printf("input %d %.9g %.9g %.9g %.9g\n", r, in[0], in[1], in[2], in[3]);
    std::printf("output %d %.17g %.17g\n", r, out[0], out[1]);
    std::printf("argmax %d %d\n", r, out[1] > out[0] ? 1 : 0);
  }
  (void)init;
  return 0;
}

void PrintMeta(const MetaGraphInfo& info) {
  std::cout << "version " << info.tensorflow_version << "\n";
  std::cout << "producer " << info.producer << "\n";
  for (const auto& op : info.stripped_ops) std::cout << "op " << op << "\n";
  for (const auto& n : info.nodes) {
    std::cout << "node " << n.name << " " << n.op;
    for (const auto& in : n.inputs) std::cout << " " << in;
    std::cout << "\n";
  }
  for (const auto& v : info.variables) {
    std::cout << "variable " << v.name << " " << v.initializer << " " << v.snapshot << " "
              << (v.trainable ? 1 : 0) << "\n";
  }
  for (const auto& [key, c] : info.collections) {
    std::cout << "collection " << key << " " << (c.kind.empty() ? "-" : c.kind) << " "
              << c.values.size() << "\n";
  }
  if (info.saver_def) {
    const auto& s = *info.saver_def;
    std::printf("saver %s %s %s %d %g %d %d\n", s.filename_tensor_name().c_str(),
                s.save_tensor_name().c_str(), s.restore_op_name().c_str(), s.max_to_keep(),
                s.keep_checkpoint_every_n_hours(), s.sharded() ? 1 : 0,
                static_cast<int>(s.version()));
  }
}

int Describe(const std::string& path, bool saved_model) {
  std::vector<tensorflow::MetaGraphDef> metas;
  if (saved_model) {
    auto r = ReadSavedModel(Env::Posix(), path);
    if (!r.ok()) return Fail(r.status());
    metas.assign(r->meta_graphs().begin(), r->meta_graphs().end());
  } else {
    auto r = ReadMetaGraph(Env::Posix(), path);
    if (!r.ok()) return Fail(r.status());
    metas.push_back(std::move(*r));
  }
  for (const auto& m : metas) {
    auto info = DescribeMetaGraph(m);
    if (!info.ok()) return Fail(info.status());
    PrintMeta(*info);
  }
  return 0;
}

}  // namespace

std::vector<std::string> SplitCommas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t comma = std::min(s.find(',', start), s.size());
    out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

Tensor DefaultTensor(DataType dtype, const std::vector<std::string>& values) {
  const TensorShape shape({static_cast<int64_t>(values.size())});
  if (dtype == DataType::kString) return Tensor::FromStrings(shape, values).value();
  if (dtype == DataType::kInt64) {
    std::vector<int64_t> v;
    for (const auto& x : values) v.push_back(std::stoll(x));
    return Tensor::FromVector<int64_t>(shape, v);
  }
  std::vector<float> v;
  for (const auto& x : values) v.push_back(std::stof(x));
  return Tensor::FromVector<float>(shape, v);
}

int ParseExample(const std::string& out, const std::vector<std::string>& spec) {
  std::vector<DenseFeature> features;
  for (size_t i = 0; i + 3 < spec.size(); i += 4) {
    DenseFeature f;
    f.key = spec[i];
    f.dtype = spec[i + 1] == "float" ? DataType::kFloat
              : spec[i + 1] == "int64" ? DataType::kInt64 : DataType::kString;
    f.shape = PartialShape(false, {});
    if (spec[i + 2] != ".") {
      for (const auto& d : SplitCommas(spec[i + 2])) f.shape.dims.push_back(std::stoll(d));
    }
    if (spec[i + 3] != "-") f.default_value = DefaultTensor(f.dtype, SplitCommas(spec[i + 3]));
    features.push_back(std::move(f));
  }
  GraphBuilder g;
  Output serialized = g.Placeholder(DataType::kString, PartialShape{-1}, "input_example_tensor");
  std::vector<Output> outputs = g.ParseExample(serialized, features);
  auto meta = BuildMetaGraphDef(g, nullptr);
  if (!meta.ok()) return Fail(meta.status());
  if (Status s = WriteMetaGraph(Env::Posix(), out, *meta); !s.ok()) return Fail(s);
  for (size_t i = 0; i < outputs.size(); ++i) {
    std::cout << "output " << features[i].key << " " << outputs[i].tensor_name() << "\n";
  }
  return 0;
}

int PrintOpDefs(const std::vector<std::string>& ops) {
  for (const std::string& op : ops) {
    const tensorflow::OpDef* def = FindOpDef(op);
    if (def == nullptr) return Fail(NotFoundError("no OpDef for " + op));
    std::string hex;
    for (unsigned char c : def->SerializeAsString()) {
      hex += "0123456789abcdef"[c >> 4];
      hex += "0123456789abcdef"[c & 15];
    }
    std::cout << "opdef " << op << " " << hex << "\n";
  }
  return 0;
}

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 3 && args[0] == "dense") return Dense(args[1], std::stoll(args[2]));
  if ((args.size() == 2 || args.size() == 3) && args[0] == "describe") {
    return Describe(args[1], args.size() == 3 && args[2] == "savedmodel");
  }
  if (args.size() >= 2 && args[0] == "opdef") return PrintOpDefs({args.begin() + 1, args.end()});
  if (args.size() >= 2 && args[0] == "parse_example" && (args.size() - 2) % 4 == 0) {
    return ParseExample(args[1], {args.begin() + 2, args.end()});
  }
  std::cerr << "usage: ckpt_graph_driver dense <dir> <step> | describe <file> [savedmodel] | "
               "parse_example <out.meta> (<key> <dtype> <dims> <default>)...\n";
  return 2;
}

// Restores a TensorFlow 1.x model from its checkpoint and runs it: the three
// steps of "restore the model and test it", in C++ without TensorFlow.
//
//   restore_and_run MODEL.meta [INPUT OUTPUT [X.npy [Y.npy]]]
//
// Python, for the same model:
//   saver = tf.compat.v1.train.import_meta_graph('model/model.ckpt-9.meta')  # (1)
//   saver.restore(sess, tf.train.latest_checkpoint('model'))
//   X = sess.graph.get_tensor_by_name('input:0')                             # (2)
//   model_y = sess.graph.get_tensor_by_name('output_layer/output:0')
//   result = sess.run(model_y, feed_dict={X: test_x})                        # (3)
//
// INPUT and OUTPUT default to "input:0" and "output_layer/output:0". The
// input values come from X.npy (numpy's np.save); without it, one row of
// ones shaped like the input placeholder. The result is printed, and written
// to Y.npy if given.
#include <ckpt/checkpoint_state.h>
#include <ckpt/env.h>
#include <ckpt/graph_import.h>
#include <ckpt/session.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "npy.h"  // tools/npy.h: numpy's .npy format

namespace {

// One row of ones for a float Placeholder: its shape with unknown dims as 1.
ckpt::Result<ckpt::Tensor> OnesLike(const tensorflow::NodeDef& placeholder) {
  std::vector<int64_t> dims;
  auto shape = placeholder.attr().find("shape");
  if (shape != placeholder.attr().end()) {
    for (const auto& d : shape->second.shape().dim()) dims.push_back(d.size() < 0 ? 1 : d.size());
  }
  auto dtype = placeholder.attr().find("dtype");
  if (dtype == placeholder.attr().end() || dtype->second.type() != tensorflow::DT_FLOAT) {
    return ckpt::InvalidArgumentError("without X.npy the input must be a float placeholder");
  }
  ckpt::Tensor t = ckpt::Tensor::Allocate(ckpt::DataType::kFloat, ckpt::TensorShape(dims)).value();
  for (int64_t i = 0; i < t.num_elements(); ++i) t.mutable_flat<float>()[i] = 1.0f;
  return t;
}

void Print(const std::string& name, const ckpt::Tensor& t) {
  std::cout << name << " " << DataTypeName(t.dtype()) << " " << t.shape().DebugString() << "\n";
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    char buf[32];
    if (t.dtype() == ckpt::DataType::kFloat) {
      std::snprintf(buf, sizeof(buf), "%.9g", t.flat<float>()[i]);
    } else if (t.dtype() == ckpt::DataType::kInt64) {
      std::snprintf(buf, sizeof(buf), "%lld", static_cast<long long>(t.flat<int64_t>()[i]));
    } else {
      std::snprintf(buf, sizeof(buf), "?");
    }
    std::cout << buf << ((i + 1) % 8 == 0 || i + 1 == t.num_elements() ? "\n" : " ");
  }
}

int Fail(const ckpt::Status& s) {
  std::cerr << "restore_and_run: " << s << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && (argc < 4 || argc > 6)) {
    std::cerr << "usage: restore_and_run MODEL.meta [INPUT OUTPUT [X.npy [Y.npy]]]\n";
    return 2;
  }
  ckpt::Env* env = ckpt::Env::Posix();
  const std::string meta_path = argv[1];
  const std::string input = argc > 2 ? argv[2] : "input:0";
  const std::string output = argc > 3 ? argv[3] : "output_layer/output:0";

  // (1) Import the graph and restore the newest checkpoint of its directory
  // through the graph's own Saver (its SaverDef).
  auto graph = ckpt::ImportMetaGraph(env, meta_path);
  if (!graph.ok()) return Fail(graph.status());
  auto session = ckpt::Session::Create(*graph);
  if (!session.ok()) return Fail(session.status());
  std::string dir(ckpt::Dirname(meta_path));
  auto latest = ckpt::LatestCheckpoint(env, dir.empty() ? "." : dir);
  if (!latest.ok()) return Fail(latest.status());
  if (ckpt::Status s = (*session)->Restore(*latest); !s.ok()) return Fail(s);
  std::cout << "restored " << *latest << "\n";

  // (2) The input and output tensors, by name.
  auto input_node = (*graph)->GetNodeOfTensor(input);
  if (!input_node.ok()) return Fail(input_node.status());
  auto output_node = (*graph)->GetNodeOfTensor(output);
  if (!output_node.ok()) return Fail(output_node.status());

  // (3) Run the output with the input fed.
  auto x = argc > 4 ? ckpt::tools::ReadNpy(env, argv[4]) : OnesLike(**input_node);
  if (!x.ok()) return Fail(x.status());
  auto result = (*session)->Run({{input, *x}}, {output});
  if (!result.ok()) return Fail(result.status());
  Print(output, (*result)[0]);
  if (argc > 5) {
    if (ckpt::Status s = ckpt::tools::WriteNpy(env, argv[5], (*result)[0]); !s.ok()) return Fail(s);
  }
  return 0;
}

// Pieces shared by the interop drivers (small programs the pytest files run
// to write checkpoints for TensorFlow to read).
#ifndef CKPT_TESTS_INTEROP_DRIVER_UTIL_H_
#define CKPT_TESTS_INTEROP_DRIVER_UTIL_H_

#include <cstdio>
#include <string>

#include "ckpt/graph.h"
#include "ckpt/meta_graph.h"
#include "ckpt/saver.h"
#include "ckpt/tensor.h"

namespace ckpt_driver {

// Prints a float [rows, cols] tensor as one line per row: `tag` and the
// values (%.9g), e.g. "prob 0.1 0.2 0.7".
inline void PrintRows(const char* tag, const ckpt::Tensor& t) {
  const int64_t rows = t.shape().dim(0);
  const int64_t cols = t.shape().dim(1);
  for (int64_t r = 0; r < rows; ++r) {
    std::printf("%s", tag);
    for (int64_t c = 0; c < cols; ++c) std::printf(" %.9g", t.flat<float>()[r * cols + c]);
    std::printf("\n");
  }
}

// Saves `model` (a DnnClassifierModel or LinearClassifierModel) to
// <out_dir>/model.ckpt-<global step> with a .meta holding its
// DescribeGraph and the Saver subgraph; returns the checkpoint prefix.
template <typename Model>
ckpt::Result<std::string> SaveWithMetaGraph(Model* model, const std::string& out_dir) {
  ckpt::GraphBuilder graph;
  CKPT_RETURN_IF_ERROR(model->DescribeGraph(&graph));
  ckpt::SaverOptions options;
  CKPT_ASSIGN_OR_RETURN(
      tensorflow::SaverDef saver_def,
      ckpt::AddSaverSubgraph(&graph, ckpt::SaverGraphOptions::FromSaverOptions(options)));
  CKPT_ASSIGN_OR_RETURN(tensorflow::MetaGraphDef meta, ckpt::BuildMetaGraphDef(graph, &saver_def));
  options.meta_graph_writer = ckpt::MetaGraphWriter(meta, ckpt::Env::Posix());
  CKPT_ASSIGN_OR_RETURN(auto saver, ckpt::Saver::Create(model->SaveableVariables(), options));
  ckpt::SaveArgs args;
  args.global_step = model->global_step();
  return saver->Save(out_dir + "/model.ckpt", args);
}

}  // namespace ckpt_driver

#endif  // CKPT_TESTS_INTEROP_DRIVER_UTIL_H_

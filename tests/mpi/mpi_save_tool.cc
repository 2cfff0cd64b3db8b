// Writes a distributed checkpoint of deterministic values, for the
// TensorFlow interop test (tests/interop/test_distributed.py). Run under
// mpirun: `mpi_save_tool PREFIX`. Rank r of N holds
//   emb    float32 [10,4] = arange(40).reshape(10,4), rows split unevenly
//          (rank r's share proportional to r + 1), one partitioned variable;
//   bias   float32 [3] = [1,2,3], replicated on every rank;
//   w_<r>  float32 [2,2] = full(r);
//   step   int64 [] = 1234567890123 (every rank);
//   scale  float64 [2,3] = arange(6) * 0.1 + 1/3, held by the last rank.
// Every rank exits 0 on success, 1 (after printing the error) on failure.
#include <mpi.h>

#include <cstdio>
#include <memory>
#include <string>

#include "ckpt/distributed.h"
#include "ckpt/mpi_communicator.h"
#include "ckpt/saver.h"
#include "ckpt/tensor.h"
#include "ckpt/tensor_slice.h"

namespace {

int Run(const std::string& prefix) {
  using namespace ckpt;
  Result<std::unique_ptr<Communicator>> comm = NewMpiCommunicator(MPI_COMM_WORLD);
  if (!comm.ok()) {
    std::fprintf(stderr, "%s\n", comm.status().ToString().c_str());
    return 1;
  }
  const int me = (*comm)->rank(), n = (*comm)->size();
  constexpr int64_t kRows = 10, kCols = 4;
  auto start = [&](int r) { return kRows * (int64_t{r} * (r + 1) / 2) / (int64_t{n} * (n + 1) / 2); };
  const int64_t first = start(me), count = start(me + 1) - first;

  Tensor emb = *Tensor::Allocate(DataType::kFloat, TensorShape{count, kCols});
  for (int64_t i = 0; i < count * kCols; ++i) {
    emb.mutable_flat<float>()[i] = static_cast<float>(first * kCols + i);
  }
  Tensor bias = Tensor::FromVector<float>(TensorShape{3}, {1.f, 2.f, 3.f});
  Tensor w = *Tensor::Allocate(DataType::kFloat, TensorShape{2, 2});
  for (int i = 0; i < 4; ++i) w.mutable_flat<float>()[i] = static_cast<float>(me);
  Tensor step = Tensor::Scalar<int64_t>(1234567890123);
  Tensor scale = *Tensor::Allocate(DataType::kDouble, TensorShape{2, 3});
  for (int i = 0; i < 6; ++i) scale.mutable_flat<double>()[i] = i * 0.1 + 1.0 / 3.0;

  VarList vars;
  vars.push_back({"emb", &emb, TensorShape{kRows, kCols},
                  TensorSlice({{first, count}, {0, TensorSlice::kFullExtent}}), ""});
  vars.push_back({"bias", &bias, std::nullopt, TensorSlice(), ""});
  vars.push_back({"w_" + std::to_string(me), &w, std::nullopt, TensorSlice(), ""});
  vars.push_back({"step", &step, std::nullopt, TensorSlice(), ""});
  if (me == n - 1) vars.push_back({"scale", &scale, std::nullopt, TensorSlice(), ""});

  Status s = DistributedSave(**comm, prefix, vars);
  if (!s.ok()) {
    std::fprintf(stderr, "rank %d: %s\n", me, s.ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rc = 2;
  if (argc != 2) {
    std::fprintf(stderr, "usage: mpirun -np N %s PREFIX\n", argv[0]);
  } else {
    rc = Run(argv[1]);
  }
  MPI_Finalize();
  return rc;
}

// dist_bench: distributed checkpoints (ckpt/distributed.h) under mpirun, and
// the rank-0 index step simulated for many ranks. Writes JSON to stdout
// (rank 0 only). Run by bench/dist_run.
//
//   mpirun -np N dist_bench --dir=D [--mib=M] [--tensors=T] [--reps=R]
//     Every rank holds M/N MiB in T/N float tensors of its own. Per rep,
//     interleaved: "raw" (each rank writes its bytes to its own file, fsync,
//     and fsyncs the directory: the floor of any checkpoint), "save"
//     (DistributedSave, synced) and "restore" (every rank reads its tensors
//     back through CheckpointReader::ReadManyInto... warm page cache). Times
//     are between barriers: the slowest rank's.
//   mpirun -np N dist_bench --train_steps=S --dir=D
//     Data-parallel Iris DNNClassifier training (EstimatorOptions::
//     communicator), global batch 100, checkpoints off: steps per second.
//   dist_bench --simulate_ranks=R --tensors_per_rank=T --dir=D
//     The serial step of rank 0 for a job of R ranks: WriteBundleIndex from R
//     shards' entries of T tensors each (no MPI): seconds, index bytes.
//   mpirun -np N dist_bench --index_entries=E --dir=D [--reps=R]
//     Restore from a checkpoint of E scalars (a large index, little data):
//     every rank restores one of them with a Saver of its own (each rank
//     reads the whole index: "each") and with DistributedSaver (rank 0 reads
//     it and broadcasts it: "bcast"). Warm page cache.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "ckpt/bundle_writer.h"
#include "ckpt/canned.h"
#include "ckpt/estimator.h"
#include "ckpt/iris.h"
#include "ckpt/logging.h"
#include "ckpt/checkpoint_reader.h"
#include "ckpt/distributed.h"
#include "ckpt/env.h"
#include "ckpt/filenames.h"
#include "ckpt/mpi_communicator.h"
#include "ckpt/saver.h"
#include "env/coding.h"
#include "tensorflow/core/protobuf/tensor_bundle.pb.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a) {
  return std::chrono::duration<double>(Clock::now() - a).count();
}

bool Flag(const char* arg, const char* name, std::string* value) {
  const size_t n = std::strlen(name);
  if (std::strncmp(arg, name, n) != 0 || arg[n] != '=') return false;
  *value = arg + n + 1;
  return true;
}

int Simulate(int ranks, int per_rank, const std::string& dir) {
  std::vector<std::string> shards(static_cast<size_t>(ranks));
  for (int r = 0; r < ranks; ++r) {
    for (int t = 0; t < per_rank; ++t) {
      tensorflow::BundleEntryProto e;
      e.set_dtype(tensorflow::DT_FLOAT);
      e.mutable_shape()->add_dim()->set_size(1024);
      e.mutable_shape()->add_dim()->set_size(256);
      e.set_shard_id(r);
      e.set_offset(int64_t{t} * 1024 * 256 * 4);
      e.set_size(1024 * 256 * 4);
      e.set_crc32c(0x12345678u + static_cast<uint32_t>(t));
      const std::string key = "model/layer_" + std::to_string(r) + "/block_" + std::to_string(t) +
                              "/kernel";
      std::string value = e.SerializeAsString();
      ckpt::PutVarint64(&shards[r], key.size());
      shards[r] += key;
      ckpt::PutVarint64(&shards[r], value.size());
      shards[r] += value;
    }
  }
  const std::string prefix = dir + "/sim";
  const auto start = Clock::now();
  ckpt::Status s = ckpt::WriteBundleIndex(ckpt::Env::Posix(), prefix, ranks, shards, true);
  const double seconds = Seconds(start);
  if (!s.ok()) {
    std::fprintf(stderr, "dist_bench: %s\n", s.ToString().c_str());
    return 1;
  }
  auto size = ckpt::Env::Posix()->GetFileSize(ckpt::MetaFilename(prefix));
  size_t entry_bytes = 0;
  for (const std::string& sh : shards) entry_bytes += sh.size();
  std::printf("{\"simulate_ranks\": %d, \"tensors_per_rank\": %d, \"index_seconds\": %.6f, "
              "\"index_bytes\": %lld, \"gathered_bytes\": %zu}\n",
              ranks, per_rank, seconds, size.ok() ? static_cast<long long>(*size) : -1LL,
              entry_bytes);
  ckpt::Env::Posix()->DeleteFile(ckpt::MetaFilename(prefix)).IgnoreError();
  return 0;
}

// Data-parallel training steps per second over `comm` (rank 0 prints).
// `mode`: "off" (no checkpoints), "replicated" (the chief saves every 500
// steps) or "partitioned" (every 500 steps, every variable with as many rows
// as ranks partitioned: collective saves).
int Train(ckpt::Communicator& comm, int64_t steps, const std::string& dir,
          const std::string& mode) {
  ckpt::SetLogSink([](ckpt::LogSeverity, std::string_view) {});
  auto data = ckpt::LoadIrisCsv(ckpt::Env::Posix(),
                                std::string(CKPT_SOURCE_DIR) + "/data/iris/iris_training.csv");
  if (!data.ok()) {
    std::fprintf(stderr, "dist_bench: %s\n", data.status().ToString().c_str());
    return 1;
  }
  ckpt::DnnClassifierConfig model;
  model.feature_names = data->feature_names;
  ckpt::RunConfigOptions ro;
  ro.model_dir = dir + "/train";
  ro.tf_random_seed = 1;
  ro.save_checkpoints_steps = mode == "off" ? 0 : 500;
  ro.save_summary_steps = 0;
  auto config = ckpt::RunConfig::Create(ro);
  if (!config.ok()) return 1;
  ckpt::EstimatorOptions options;
  options.model_fn = ckpt::DnnClassifierModelFn(model);
  options.config = *config;
  options.communicator = comm.size() > 1 ? &comm : nullptr;
  if (mode == "partitioned") options.partition = ckpt::VariablePartitioning{0};
  auto est = ckpt::Estimator::Create(options);
  if (!est.ok()) return 1;
  ckpt::TrainOptions train;
  train.steps = steps;
  comm.Barrier().IgnoreError();
  const auto start = Clock::now();
  auto result = (*est)->Train(ckpt::IrisTrainInputFn(*data, 100, 1), train);
  comm.Barrier().IgnoreError();
  const double seconds = Seconds(start);
  if (!result.ok()) {
    std::fprintf(stderr, "rank %d: %s\n", comm.rank(), result.status().ToString().c_str());
    return 1;
  }
  if (comm.rank() == 0) {
    std::printf("{\"train_ranks\": %d, \"mode\": \"%s\", \"steps\": %lld, "
                "\"steps_per_second\": %.1f}\n",
                comm.size(), mode.c_str(), static_cast<long long>(steps),
                static_cast<double>(steps) / seconds);
  }
  return 0;
}

// --index_entries: restore times, the index read by every rank or broadcast.
int IndexRestore(ckpt::Communicator& comm, int entries, int reps, const std::string& dir) {
  ckpt::SetLogSink([](ckpt::LogSeverity, std::string_view) {});
  auto name = [](int i) { return "model/layer_" + std::to_string(i) + "/kernel"; };
  const std::string prefix = dir + "/index_ckpt";
  if (comm.rank() == 0) {
    auto writer = ckpt::BundleWriter::Create(prefix);
    ckpt::Status s = writer.status();
    for (int i = 0; i < entries && s.ok(); ++i) {
      s = (*writer)->Add(name(i), ckpt::Tensor::Scalar<float>(static_cast<float>(i)));
    }
    if (s.ok()) s = (*writer)->Finish();
    if (!s.ok()) std::fprintf(stderr, "dist_bench: %s\n", s.ToString().c_str());
  }
  comm.Barrier().IgnoreError();
  const int pick = comm.rank() % entries;
  ckpt::Tensor mine = ckpt::Tensor::Scalar<float>(-1);
  ckpt::VarList vars{{name(pick), &mine, std::nullopt, {}, ""}};
  auto saver = ckpt::Saver::Create(vars);
  auto distributed = ckpt::DistributedSaver::Create(&comm, vars);
  int failed = saver.ok() && distributed.ok() ? 0 : 1;
  std::vector<double> each, bcast;
  auto timed = [&](std::vector<double>* times, const std::function<ckpt::Status()>& restore) {
    mine.mutable_flat<float>()[0] = -1;
    comm.Barrier().IgnoreError();
    const auto t0 = Clock::now();
    ckpt::Status s = restore();
    comm.Barrier().IgnoreError();
    times->push_back(Seconds(t0));
    if (!s.ok() || mine.flat<float>()[0] != static_cast<float>(pick)) {
      std::fprintf(stderr, "rank %d: %s\n", comm.rank(), s.ToString().c_str());
      failed = 1;
    }
  };
  for (int rep = 0; rep < reps && !failed; ++rep) {
    timed(&each, [&] { return (*saver)->Restore(prefix); });
    timed(&bcast, [&] { return (*distributed)->Restore(prefix); });
  }
  if (comm.rank() == 0 && !failed) {
    auto median = [](std::vector<double> x) {
      std::sort(x.begin(), x.end());
      return x[x.size() / 2];
    };
    auto size = ckpt::Env::Posix()->GetFileSize(ckpt::MetaFilename(prefix));
    std::printf("{\"index_ranks\": %d, \"index_entries\": %d, \"index_bytes\": %lld, "
                "\"restore_each_seconds\": %.6f, \"restore_bcast_seconds\": %.6f}\n",
                comm.size(), entries, size.ok() ? static_cast<long long>(*size) : -1LL,
                median(each), median(bcast));
  }
  comm.Barrier().IgnoreError();
  if (comm.rank() == 0) {
    ::unlink(ckpt::MetaFilename(prefix).c_str());
    ::unlink(ckpt::DataFilename(prefix, 0, 1).c_str());
  }
  return failed;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir, v;
  int64_t mib = 256;
  int tensors = 64, reps = 3, simulate = 0, per_rank = 100;
  int64_t train_steps = 0;
  std::string train_mode = "off";
  int index_entries = 0;
  for (int i = 1; i < argc; ++i) {
    if (Flag(argv[i], "--dir", &v)) dir = v;
    else if (Flag(argv[i], "--mib", &v)) mib = std::atoll(v.c_str());
    else if (Flag(argv[i], "--tensors", &v)) tensors = std::atoi(v.c_str());
    else if (Flag(argv[i], "--reps", &v)) reps = std::atoi(v.c_str());
    else if (Flag(argv[i], "--simulate_ranks", &v)) simulate = std::atoi(v.c_str());
    else if (Flag(argv[i], "--tensors_per_rank", &v)) per_rank = std::atoi(v.c_str());
    else if (Flag(argv[i], "--train_steps", &v)) train_steps = std::atoll(v.c_str());
    else if (Flag(argv[i], "--train_mode", &v)) train_mode = v;
    else if (Flag(argv[i], "--index_entries", &v)) index_entries = std::atoi(v.c_str());
    else {
      std::fprintf(stderr, "dist_bench: unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  if (dir.empty()) {
    std::fprintf(stderr, "dist_bench: need --dir\n");
    return 2;
  }
  if (simulate > 0) return Simulate(simulate, per_rank, dir);

  MPI_Init(&argc, &argv);
  int failed = 0;
  if (train_steps > 0 || index_entries > 0) {
    int failed_mode = 0;
    {
      auto comm = ckpt::NewMpiCommunicator(MPI_COMM_WORLD).value();
      failed_mode = train_steps > 0 ? Train(*comm, train_steps, dir, train_mode)
                                     : IndexRestore(*comm, index_entries, reps, dir);
    }
    int any = 0;
    MPI_Allreduce(&failed_mode, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return any;
  }
  {
    auto comm = ckpt::NewMpiCommunicator(MPI_COMM_WORLD).value();
    const int rank = comm->rank(), size = comm->size();
    const int mine = std::max(1, tensors / size);
    const int64_t floats = mib * (int64_t{1} << 20) / 4 / size / mine;
    std::vector<ckpt::Tensor> data;
    ckpt::VarList vars;
    data.reserve(mine);
    for (int t = 0; t < mine; ++t) {
      ckpt::Tensor x = ckpt::Tensor::Allocate(ckpt::DataType::kFloat, {floats}).value();
      float* p = x.mutable_flat<float>();
      for (int64_t i = 0; i < floats; ++i) p[i] = static_cast<float>((i * 7 + t + rank) % 1000);
      data.push_back(std::move(x));
    }
    for (int t = 0; t < mine; ++t) {
      vars.push_back({"rank" + std::to_string(rank) + "/t" + std::to_string(t), &data[t],
                      std::nullopt, {}, ""});
    }
    const double bytes = static_cast<double>(floats) * 4 * mine * size;
    std::vector<double> raw, raw_read, save, restore;
    const std::string raw_path = dir + "/raw." + std::to_string(rank);
    const std::string prefix = dir + "/ckpt";
    for (int rep = 0; rep < reps && !failed; ++rep) {
      // raw: write + fsync one file per rank, then the directory.
      comm->Barrier().IgnoreError();
      auto t0 = Clock::now();
      int fd = ::open(raw_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      for (const ckpt::Tensor& x : data) {
        const char* p = x.data();
        size_t left = x.byte_size();
        while (left > 0 && fd >= 0) {
          ssize_t n = ::write(fd, p, left);
          if (n <= 0) break;
          p += n;
          left -= static_cast<size_t>(n);
        }
      }
      if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
      }
      ckpt::Env::Posix()->SyncDir(dir).IgnoreError();
      comm->Barrier().IgnoreError();
      raw.push_back(Seconds(t0));
      ::unlink(raw_path.c_str());

      comm->Barrier().IgnoreError();
      t0 = Clock::now();
      ckpt::Status s = ckpt::DistributedSave(*comm, prefix, vars);
      comm->Barrier().IgnoreError();
      save.push_back(Seconds(t0));
      if (!s.ok()) {
        std::fprintf(stderr, "rank %d: %s\n", rank, s.ToString().c_str());
        failed = 1;
        break;
      }

      // raw read: this rank's data file of the checkpoint, read whole into
      // fresh buffers, once untimed (the save wrote it with direct IO: this
      // brings it into the page cache, for the raw read and the restore
      // alike), then timed: the floor of a restore that allocates its tensors.
      const std::string shard = ckpt::DataFilename(prefix, rank, size);
      auto read_shard = [&shard] {
        int in = ::open(shard.c_str(), O_RDONLY);
        if (in < 0) return;
        for (;;) {
          constexpr size_t kChunk = size_t{8} << 20;
          std::unique_ptr<char[]> buffer(new char[kChunk]);
          if (::read(in, buffer.get(), kChunk) <= 0) break;
        }
        ::close(in);
      };
      read_shard();
      comm->Barrier().IgnoreError();
      t0 = Clock::now();
      read_shard();
      comm->Barrier().IgnoreError();
      raw_read.push_back(Seconds(t0));

      comm->Barrier().IgnoreError();
      t0 = Clock::now();
      auto reader = ckpt::CheckpointReader::Open(prefix);
      if (reader.ok()) {
        for (size_t t = 0; t < vars.size(); ++t) {
          auto got = (*reader)->GetTensor(vars[t].name);
          if (!got.ok() || std::memcmp(got->data(), data[t].data(), data[t].byte_size()) != 0) {
            std::fprintf(stderr, "rank %d: restore of %s differs\n", rank, vars[t].name.c_str());
            failed = 1;
          }
        }
      } else {
        failed = 1;
      }
      comm->Barrier().IgnoreError();
      restore.push_back(Seconds(t0));
    }
    if (rank == 0 && !failed) {
      auto median = [](std::vector<double> x) {
        std::sort(x.begin(), x.end());
        return x[x.size() / 2];
      };
      std::printf("{\"ranks\": %d, \"mib\": %lld, \"tensors\": %d, \"bytes\": %.0f, "
                  "\"raw_seconds\": %.6f, \"save_seconds\": %.6f, \"raw_read_seconds\": %.6f, "
                  "\"restore_seconds\": %.6f}\n",
                  size, static_cast<long long>(mib), mine * size, bytes, median(raw), median(save),
                  median(raw_read), median(restore));
    }
    if (rank == 0) {
      auto children = ckpt::Env::Posix()->GetChildren(dir);
      for (const std::string& f : children.ok() ? *children : std::vector<std::string>()) {
        if (f.rfind("ckpt.", 0) == 0) ::unlink((dir + "/" + f).c_str());
      }
    }
    int any = 0;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    failed = any;
  }
  MPI_Finalize();
  return failed;
}

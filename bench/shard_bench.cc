// shard_bench: durable sharded Saver saves, shards written one at a time vs
// concurrently (SaverOptions::shard_write_threads).
//
// Workload: --bench_tensors float32 tensors (default 10,000) of log-uniform
// sizes between 4 B and 4 MiB (deterministic seed), scaled to sum to exactly
// --bench_mib MiB (default 1024), views of one resident arena. Tensor i goes
// to device i % D, so the D shards hold about the same bytes.
//
// Benchmarks (each timed repetition is one full Saver::Save, wall clock;
// sync on: every data and index file and directory is fsynced):
//   sharded_save/devices:D/threads:T   D devices, T shard threads (1 = the
//                                      sequential path)
//   raw_write/files:F                  the same bytes as F files (one per
//                                      thread, F threads), 8 MiB write()s +
//                                      fdatasync each: what the disk gives to
//                                      F concurrent sequential writers
// Before each repetition, untimed: the previous checkpoint is deleted and
// every page of the arena touched; each benchmark starts with one untimed
// save (the warm-up bundle_bench explains: freshly reported guest memory).
// At exit a summary prints GiB/s (median of the repetitions) and, per device
// count, the ratio threads:N / threads:1.
//
// Own flags (stripped before Google Benchmark sees argv):
//   --bench_dir=DIR     where files go (default $CKPT_BENCH_DIR, else the
//                       build tree's bench/data); removed at exit
//   --bench_mib=N       workload size in MiB (default 1024)
//   --bench_tensors=N   tensors (default 10000)
//   --bench_reps=N      timed repetitions per benchmark (default 3)
//   --bench_direct_io=0|1  SaverOptions::direct_io (default: the option's
//                       default)
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ckpt/env.h"
#include "ckpt/saver.h"
#include "ckpt/tensor.h"
#include "bench_util.h"

namespace {

using ckpt::DataType;
using ckpt::Status;
using ckpt::Tensor;
using ckpt::TensorShape;
using ckpt_bench::MixedSizes;
using ckpt_bench::SplitMix64;

struct Config : ckpt_bench::CommonFlags {
  std::optional<bool> direct_io;  // --bench_direct_io=1|0, else the Saver's default
} g_cfg;

std::unique_ptr<char[]> g_arena;
int64_t g_bytes = 0;
std::vector<int64_t> g_elems, g_offsets;
std::vector<std::string> g_keys;
// Benchmark name -> seconds of each repetition, for the summary.
std::map<std::string, std::vector<double>> g_times;

void Init() {
  g_bytes = g_cfg.mib * (int64_t{1} << 20);
  g_elems = MixedSizes(g_cfg.tensors, g_bytes / 4);
  int64_t off = 0;
  char key[48];
  for (size_t i = 0; i < g_elems.size(); ++i) {
    g_offsets.push_back(off);
    off += g_elems[i] * 4;
    std::snprintf(key, sizeof(key), "layer_%05zu/kernel", i);
    g_keys.push_back(key);
  }
  g_arena.reset(new char[static_cast<size_t>(g_bytes)]);
  auto* f = reinterpret_cast<float*>(g_arena.get());
  uint64_t s = 7;
  for (int64_t i = 0; i < g_bytes / 4; ++i) {
    f[i] = static_cast<float>(SplitMix64(&s) >> 40) * 0x1.0p-24f;
  }
}

void TouchArena() { ckpt_bench::TouchPages(g_arena.get(), g_bytes); }

void RemoveTree(const std::string& dir) {
  ckpt::Env* env = ckpt::Env::Posix();
  auto children = env->GetChildren(dir);
  if (!children.ok()) return;
  for (const std::string& c : *children) {
    const std::string p = ckpt::JoinPath(dir, c);
    if (env->IsDirectory(p)) {
      RemoveTree(p);
    } else {
      env->DeleteFile(p).IgnoreError();
    }
  }
  env->DeleteDir(dir).IgnoreError();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

void Record(benchmark::State& state, const std::string& name, double seconds) {
  state.SetIterationTime(seconds);
  g_times[name].push_back(seconds);
  state.SetBytesProcessed(g_bytes);
  state.counters["GiB/s"] = static_cast<double>(g_bytes) / seconds / (1 << 30);
}

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void BM_ShardedSave(benchmark::State& state, int devices, int threads, const std::string& name) {
  std::vector<Tensor> views;
  views.reserve(g_elems.size());
  ckpt::VarList vars;
  for (size_t i = 0; i < g_elems.size(); ++i) {
    views.push_back(Tensor::View(DataType::kFloat, TensorShape({g_elems[i]}),
                                 g_arena.get() + g_offsets[i]));
  }
  for (size_t i = 0; i < g_elems.size(); ++i) {
    ckpt::SaveableTensor t;
    t.name = g_keys[i];
    t.tensor = &views[i];
    t.device = "/device:CPU:" + std::to_string(i % static_cast<size_t>(devices));
    vars.push_back(std::move(t));
  }
  ckpt::SaverOptions o;
  o.sharded = true;
  o.shard_write_threads = threads;
  o.max_to_keep = 1;
  o.log_saves = false;
  if (g_cfg.direct_io) o.direct_io = *g_cfg.direct_io;
  auto saver = ckpt::Saver::Create(std::move(vars), o);
  if (!saver.ok()) {
    state.SkipWithError(saver.status().ToString().c_str());
    return;
  }
  const std::string dir = g_cfg.dir + "/shard_bench";
  ckpt::SaveArgs args;
  args.write_meta_graph = false;
  auto fresh = [&] {
    RemoveTree(dir);
    return ckpt::Env::Posix()->CreateDirs(dir);
  };
  // Untimed warm-up save.
  Status s = fresh();
  if (s.ok()) s = (*saver)->Save(dir + "/model", args).status();
  if (s.ok()) s = fresh();
  if (!s.ok()) {
    state.SkipWithError(s.ToString().c_str());
    return;
  }
  TouchArena();
  for (auto _ : state) {
    double t0 = Now();
    auto r = (*saver)->Save(dir + "/model", args);
    double t1 = Now();
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      return;
    }
    Record(state, name, t1 - t0);
  }
  state.counters["devices"] = devices;
  state.counters["threads"] = threads;
  RemoveTree(dir);
}

bool WriteFile(const std::string& path, const char* p, int64_t n) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  bool ok = true;
  for (int64_t at = 0; ok && at < n; at += int64_t{8} << 20) {  // 8 MiB write()s
    ok = ckpt_bench::WriteAll(fd, p + at, static_cast<size_t>(std::min<int64_t>(n - at, int64_t{8} << 20)));
  }
  ok = ok && ::fdatasync(fd) == 0;
  return ::close(fd) == 0 && ok;
}

// The arena split into `files` contiguous parts, each written by its own thread.
bool RawWrite(const std::string& dir, int files) {
  std::vector<std::thread> threads;
  std::vector<char> ok(static_cast<size_t>(files), 0);
  for (int i = 0; i < files; ++i) {
    threads.emplace_back([&, i] {
      int64_t begin = g_bytes * i / files, end = g_bytes * (i + 1) / files;
      ok[static_cast<size_t>(i)] =
          WriteFile(dir + "/raw" + std::to_string(i), g_arena.get() + begin, end - begin);
    });
  }
  for (auto& t : threads) t.join();
  return std::all_of(ok.begin(), ok.end(), [](char c) { return c != 0; });
}

void BM_RawWrite(benchmark::State& state, int files, const std::string& name) {
  const std::string dir = g_cfg.dir + "/raw_bench";
  RemoveTree(dir);
  if (!ckpt::Env::Posix()->CreateDirs(dir).ok() || !RawWrite(dir, files)) {
    state.SkipWithError("raw write failed");
    return;
  }
  RemoveTree(dir);
  ckpt::Env::Posix()->CreateDirs(dir).IgnoreError();
  TouchArena();
  for (auto _ : state) {
    double t0 = Now();
    bool ok = RawWrite(dir, files);
    double t1 = Now();
    if (!ok) {
      state.SkipWithError("raw write failed");
      return;
    }
    Record(state, name, t1 - t0);
  }
  RemoveTree(dir);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> rest;
  if (!ckpt_bench::ParseFlags(
          argc, argv, "shard_bench", CKPT_BENCH_DEFAULT_DIR, &g_cfg,
          {{"--bench_direct_io", [](const std::string& v) { g_cfg.direct_io = v == "1"; }}},
          &rest)) {
    return 2;
  }
  if (Status s = ckpt::Env::Posix()->CreateDirs(g_cfg.dir); !s.ok()) {
    std::fprintf(stderr, "shard_bench: %s\n", s.ToString().c_str());
    return 1;
  }
  Init();

  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  auto reg = [](const std::string& name, auto fn) {
    benchmark::RegisterBenchmark(name.c_str(), [fn, name](benchmark::State& st) { fn(st, name); })
        ->Iterations(1)
        ->Repetitions(g_cfg.reps)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  };
  std::vector<std::pair<int, int>> runs;  // (devices, threads)
  for (int d : {1, 2, 4}) {
    runs.emplace_back(d, 1);
    if (d > 1) runs.emplace_back(d, std::min(d, std::max(hw, 2)));
    if (d == 4 && hw < 4) runs.emplace_back(d, 4);  // one thread per shard anyway
  }
  for (auto [d, t] : runs) {
    reg("sharded_save/devices:" + std::to_string(d) + "/threads:" + std::to_string(t),
        [d = d, t = t](benchmark::State& st, const std::string& n) { BM_ShardedSave(st, d, t, n); });
  }
  for (int f : {1, 2, 4}) {
    reg("raw_write/files:" + std::to_string(f),
        [f](benchmark::State& st, const std::string& n) { BM_RawWrite(st, f, n); });
  }
  ckpt_bench::AddFlagsContext(g_cfg);
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();

  // Summary: median GiB/s, and parallel / sequential per device count.
  std::printf("\nshard_bench summary (%lld MiB, %lld tensors, median of %d):\n",
              static_cast<long long>(g_cfg.mib), static_cast<long long>(g_cfg.tensors),
              g_cfg.reps);
  const double gib = static_cast<double>(g_bytes) / (1 << 30);
  for (const auto& [name, times] : g_times) {
    std::printf("  %-36s %7.3f GiB/s\n", name.c_str(), gib / Median(times));
  }
  for (auto [d, t] : runs) {
    if (t == 1) continue;
    auto seq = g_times.find("sharded_save/devices:" + std::to_string(d) + "/threads:1");
    auto par = g_times.find("sharded_save/devices:" + std::to_string(d) + "/threads:" +
                            std::to_string(t));
    if (seq == g_times.end() || par == g_times.end()) continue;
    std::printf("  devices:%d threads:%d / threads:1 = %.3fx\n", d, t,
                Median(seq->second) / Median(par->second));
  }
  RemoveTree(g_cfg.dir + "/shard_bench");
  RemoveTree(g_cfg.dir + "/raw_bench");
  return 0;
}

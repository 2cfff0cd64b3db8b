// Helpers shared by the Google Benchmark binaries in bench/: the mixed-size
// workload generator, page touching, flag parsing, whole writes.
#ifndef CKPT_BENCH_BENCH_UTIL_H_
#define CKPT_BENCH_BENCH_UTIL_H_

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace ckpt_bench {

inline uint64_t SplitMix64(uint64_t* s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// n element counts, log-uniform byte sizes in [4 B, 4 MiB] (fixed seed),
// scaled to sum to exactly total_elems (the remainder goes to the largest).
inline std::vector<int64_t> MixedSizes(int64_t n, int64_t total_elems) {
  uint64_t seed = 42;
  std::vector<double> w(static_cast<size_t>(n));
  double sum = 0;
  for (double& x : w) {
    double u = static_cast<double>(SplitMix64(&seed) >> 11) * 0x1.0p-53;
    x = std::exp2(2.0 + 20.0 * u);
    sum += x;
  }
  std::vector<int64_t> out(w.size());
  int64_t got = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    out[i] = std::max<int64_t>(1, static_cast<int64_t>(w[i] / sum * static_cast<double>(total_elems)));
    got += out[i];
  }
  *std::max_element(out.begin(), out.end()) += total_elems - got;
  return out;
}

// Reads one byte per page so that [p, p + n) is resident before timing.
inline void TouchPages(const char* p, int64_t n) {
  volatile char sink = 0;
  const long page = ::sysconf(_SC_PAGESIZE);
  for (int64_t i = 0; i < n; i += page) sink = sink + p[i];
  (void)sink;
}

// "--name=value" or "--name" (value "").
inline bool TakeFlag(const char* arg, const char* name, std::string* value) {
  const size_t n = std::strlen(name);
  if (std::strncmp(arg, name, n) != 0) return false;
  if (arg[n] == '\0') {
    *value = "";
    return true;
  }
  if (arg[n] != '=') return false;
  *value = arg + n + 1;
  return true;
}

// The flags every bench binary takes. A binary's own settings extend this.
struct CommonFlags {
  std::string dir;          // --bench_dir, else $CKPT_BENCH_DIR, else the build's default
  int64_t mib = 1024;       // --bench_mib: workload size
  int64_t tensors = 10000;  // --bench_tensors: tensors in the mixed workload
  int reps = 3;             // --bench_reps: repetitions per benchmark
};

// A binary's own flag: its name and what to do with its value ("" for a bare
// "--name").
struct OwnFlag {
  const char* name;
  std::function<void(const std::string&)> set;
};

// Parses argv into *common and the `own` flags; every other argument is
// appended to *rest (after argv[0]) for benchmark::Initialize. Returns false,
// after saying why on stderr under `prog`'s name, when the sizes are out of
// range (a tensor needs at least 4 bytes).
inline bool ParseFlags(int argc, char** argv, const char* prog, const char* default_dir,
                       CommonFlags* common, const std::vector<OwnFlag>& own,
                       std::vector<char*>* rest) {
  if (const char* e = std::getenv("CKPT_BENCH_DIR"); e != nullptr && *e != '\0') common->dir = e;
  if (common->dir.empty()) common->dir = default_dir;
  const std::vector<OwnFlag> shared = {
      {"--bench_dir", [&](const std::string& v) { common->dir = v; }},
      {"--bench_mib", [&](const std::string& v) { common->mib = std::atoll(v.c_str()); }},
      {"--bench_tensors", [&](const std::string& v) { common->tensors = std::atoll(v.c_str()); }},
      {"--bench_reps", [&](const std::string& v) { common->reps = std::atoi(v.c_str()); }},
  };
  rest->assign(argv, argv + 1);
  for (int i = 1; i < argc; ++i) {
    bool taken = false;
    std::string v;
    for (const auto* flags : {&shared, &own}) {
      for (const OwnFlag& f : *flags) {
        if (!taken && TakeFlag(argv[i], f.name, &v)) {
          f.set(v);
          taken = true;
        }
      }
    }
    if (!taken) rest->push_back(argv[i]);
  }
  if (common->mib <= 0 || common->tensors <= 0 || common->reps <= 0 ||
      common->tensors > common->mib * (int64_t{1} << 18)) {
    std::fprintf(stderr, "%s: bad --bench_mib/--bench_tensors/--bench_reps\n", prog);
    return false;
  }
  return true;
}

// Records the common flags in the benchmark output's context.
inline void AddFlagsContext(const CommonFlags& common) {
  benchmark::AddCustomContext("bench_dir", common.dir);
  benchmark::AddCustomContext("bench_mib", std::to_string(common.mib));
  benchmark::AddCustomContext("bench_tensors", std::to_string(common.tensors));
}

// write(2) until all n bytes are written; false on an error.
inline bool WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t r = ::write(fd, p, n);
    if (r < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

}  // namespace ckpt_bench

#endif  // CKPT_BENCH_BENCH_UTIL_H_

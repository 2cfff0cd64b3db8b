// Fields of /proc/self/status, for the benchmarks that report memory.
#ifndef CKPT_BENCH_PROC_STATUS_H_
#define CKPT_BENCH_PROC_STATUS_H_

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace ckpt_bench {

// A field of /proc/self/status in kB (VmRSS, VmHWM, RssAnon, ...), or -1.
inline int64_t StatusKb(const char* field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const size_t n = std::strlen(field);
  while (std::getline(f, line)) {
    if (line.compare(0, n, field) == 0 && line.size() > n && line[n] == ':') {
      return std::atoll(line.c_str() + n + 1);
    }
  }
  return -1;
}

}  // namespace ckpt_bench

#endif  // CKPT_BENCH_PROC_STATUS_H_

// Helpers shared by the libFuzzer harnesses: put fuzz bytes into an
// in-memory Env (every harness reads through the same Env seam the library
// uses for real files) and take small numbers off the front of an input.
#ifndef CKPT_TESTS_FUZZ_FUZZ_UTIL_H_
#define CKPT_TESTS_FUZZ_FUZZ_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "ckpt/env.h"
#include "ckpt/status.h"

namespace ckpt::fuzz {

// Writes `data` to `path` in `env` (a MemEnv), creating its directory.
inline void PutFile(Env* env, const std::string& path, std::string_view data) {
  std::string dir(Dirname(path));
  if (!dir.empty()) env->CreateDirs(dir).IgnoreError();
  auto file = env->NewWritableFile(path);
  if (!file.ok()) __builtin_trap();  // a MemEnv never refuses
  (*file)->Append(data).IgnoreError();
  (*file)->Close().IgnoreError();
}

// The bundle harness's two-file packing: a 4-byte little-endian length n,
// then n bytes of the .index file, then the data file (the rest). A length
// beyond the input takes all of it as the index.
inline void SplitIndexAndData(const uint8_t* data, size_t size, std::string_view* index,
                              std::string_view* rest) {
  uint32_t n = 0;
  if (size >= 4) {
    n = uint32_t{data[0]} | uint32_t{data[1]} << 8 | uint32_t{data[2]} << 16 |
        uint32_t{data[3]} << 24;
    data += 4;
    size -= 4;
  }
  if (n > size) n = static_cast<uint32_t>(size);
  *index = std::string_view(reinterpret_cast<const char*>(data), n);
  *rest = std::string_view(reinterpret_cast<const char*>(data) + n, size - n);
}

inline std::string PackIndexAndData(std::string_view index, std::string_view data) {
  std::string out(4, '\0');
  const uint32_t n = static_cast<uint32_t>(index.size());
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(n >> (8 * i));
  out.append(index);
  out.append(data);
  return out;
}

// Consumes bytes from the front of the input; zeros once it runs out.
class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : p_(data), n_(size) {}
  uint8_t U8() {
    if (n_ == 0) return 0;
    --n_;
    return *p_++;
  }
  uint64_t U64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t{U8()} << (8 * i);
    return v;
  }
  std::string_view Rest() const { return {reinterpret_cast<const char*>(p_), n_}; }
  size_t remaining() const { return n_; }

 private:
  const uint8_t* p_;
  size_t n_;
};

}  // namespace ckpt::fuzz

#endif  // CKPT_TESTS_FUZZ_FUZZ_UTIL_H_

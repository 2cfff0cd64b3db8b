// bundle_bench: save/restore throughput of ckpt bundles against raw-IO
// baselines, on a large workload (default 1 GiB of float32).
//
// Workloads (same total bytes):
//   one_tensor   a single float32 tensor of --bench_mib MiB
//   10k_tensors  --bench_tensors float32 tensors whose sizes are log-uniform
//                between 4 B and 4 MiB (deterministic seed), scaled so that
//                they sum to exactly --bench_mib MiB.
//
// Benchmarks (each timed repetition is one full save or restore, wall clock):
//   save/<w>                BundleWriter Create+Add*+Finish with sync=true
//                           and the default options (direct_io on)
//   save_buffered/<w>       the same with direct_io=false (page cache)
//   raw_write/<w>           open(O_TRUNC) + write() of the workload's bytes
//                           (the same resident memory save reads) in 8 MiB
//                           chunks + fdatasync + close, same directory. All
//                           save and raw_write variants do one identical
//                           untimed write+delete and touch every source page
//                           before each timed repetition.
//   raw_write_direct/<w>    the same bytes with O_DIRECT, written straight
//                           from the 4096-aligned source memory in 8 MiB
//                           writes (no copy) + fdatasync + close. The
//                           physical limit is the faster of the two raw
//                           writes.
//   restore_readinto/<w>/<cache>       BundleReader::Open + ReadManyInto of
//                           every tensor into preallocated caller buffers
//                           (CRC on; one call for the whole workload)
//   restore_readinto_nocrc/<w>/<cache> same with verify_checksums=false
//                           (diagnostic: isolates the CRC32C cost)
//   restore_readview/<w>/<cache>       Open(use_mmap) + ReadManyViews of
//                           every tensor (zero-copy; CRC on, so every page
//                           is read; one call for the whole workload)
//   raw_read/<w>/<cache>    open + pread() of the same byte ranges of the
//                           same data file into the same caller buffers
//   raw_read_direct/<w>/<cache>  the data file read sequentially with O_DIRECT
//                           in 8 MiB preads into one aligned buffer (no page
//                           cache): the other raw read baseline
//   raw_mmap_read/<w>/<cache>  mmap the data file and read every byte once
//                           (XOR of 64-bit words): the baseline for ReadView,
//                           same page faults, no CRC
//   open_view/<size>        200 x (Open(use_mmap, no CRC) + ReadView of the
//                           one tensor + close) on a warm 1-tensor bundle of
//                           1 MiB or --bench_mib MiB: zero-copy open cost
//   crc32c_mem, memcpy_mem  in-memory CRC32C / memcpy of the whole workload
//   first_touch_mem         mmap + memset of never-touched anonymous memory
//                           of the workload's size (page-allocation cost)
//   first_touch_huge_mem    the same on 2 MiB-aligned memory advised
//                           MADV_HUGEPAGE
//   load_gettensor/bert_base  CheckpointReader::Open + GetTensor of each of
//                           BERT-base's 199 variables (418 MiB) into new
//                           memory, warm; load_gettensors/bert_base: the
//                           same through one GetTensors of all 199;
//                           load_views/bert_base: Open(use_mmap)
//                           + ReadView of each; raw_read_fresh/bert_base:
//                           pread of each into a new malloc block (no checks);
//                           raw_read_fresh_huge/bert_base: the same into memory
//                           allocated as ckpt allocates tensors (2 MiB-aligned,
//                           huge-page advised from 2 MiB on), two threads: the
//                           roof of a load that copies
//
// <cache> is "warm" (data file read once before timing, fully resident) or
// "cold" (posix_fadvise(DONTNEED) on the bundle's files before every timed
// repetition; works without root). The "resident_before" counter reports the
// measured fraction of the data file's pages that were in the page cache
// right before each timed repetition (mincore), so the state is verified,
// not assumed.
//
// Own flags (stripped before Google Benchmark sees argv):
//   --bench_dir=DIR       where files go (default: $CKPT_BENCH_DIR, else the
//                         build tree's bench/data). Created; files removed
//                         at exit unless --bench_keep.
//   --bench_mib=N         workload size in MiB (default 1024)
//   --bench_tensors=N     tensors in the mixed workload (default 10000)
//   --bench_reps=N        timed repetitions per benchmark (default 3)
//   --bench_keep          keep the files
//   --bench_dump_sizes=F  write the workloads' tensor sizes (elements) as
//                         JSON to F and exit (used by bench/tf_save_restore.py)
//   --bench_save_mixed=P  save the mixed workload as bundle prefix P and exit
//                         (bench/inspect_bench.py lists it)
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ckpt/bundle.h"
#include "ckpt/checkpoint_reader.h"
#include "ckpt/env.h"
#include "ckpt/tensor.h"
#include "crc/crc32c.h"
#include "bench_util.h"

namespace {

using ckpt::BundleReader;
using ckpt::BundleReaderOptions;
using ckpt::BundleWriter;
using ckpt::BundleWriterOptions;
using ckpt::DataType;
using ckpt::Status;
using ckpt::Tensor;
using ckpt::TensorShape;

struct Config : ckpt_bench::CommonFlags {
  bool keep = false;
  std::string dump_sizes;
  std::string save_mixed;
} g_cfg;

struct Workload {
  std::string name;
  std::vector<int64_t> elems;    // per tensor
  std::vector<int64_t> offsets;  // byte offset of each tensor in the arena/data file
  std::vector<std::string> keys;
  int64_t total_bytes = 0;
  std::vector<Tensor> dest;  // caller buffers for ReadInto / raw_read (lazy)
};

std::vector<Workload> g_workloads;
struct LoadWorkload {
  std::string name;
  std::vector<std::string> keys;  // sorted
  std::vector<std::vector<int64_t>> shapes;
  std::vector<int64_t> offsets;  // in the arena
  int64_t total_bytes = 0;
};
LoadWorkload g_bert;
struct FreeDeleter {
  void operator()(char* p) const { std::free(p); }
};
// The source bytes, shared by both workloads; 2 MiB-aligned and marked for
// huge pages (as ckpt's direct-IO staging buffers are) so that
// raw_write_direct can write it with O_DIRECT as it is, from memory the
// block layer can merge into requests as large as ckpt's.
std::unique_ptr<char[], FreeDeleter> g_arena;
int64_t g_arena_bytes = 0;
// The save/restore workloads' size (the arena may be larger).
int64_t WorkloadBytes() { return g_cfg.mib * (int64_t{1} << 20); }

using ckpt_bench::MixedSizes;
using ckpt_bench::SplitMix64;
using ckpt_bench::WriteAll;

void MakeWorkload(std::string name, std::vector<int64_t> elems) {
  Workload w;
  w.name = std::move(name);
  w.elems = std::move(elems);
  int64_t off = 0;
  char key[48];
  for (size_t i = 0; i < w.elems.size(); ++i) {
    w.offsets.push_back(off);
    off += w.elems[i] * 4;
    std::snprintf(key, sizeof(key), "layer_%05zu/kernel", i);
    w.keys.push_back(key);  // zero-padded: key order == Add order == file order
  }
  w.total_bytes = off;
  g_workloads.push_back(std::move(w));
}

void InitBert();

void InitWorkloads() {
  InitBert();
  const int64_t total_elems = g_cfg.mib * (int64_t{1} << 20) / 4;
  MakeWorkload("one_tensor", {total_elems});
  MakeWorkload(std::to_string(g_cfg.tensors / 1000) + "k_tensors",
               MixedSizes(g_cfg.tensors, total_elems));
}

void InitArena() {
  if (g_arena) return;
  // Large enough for the load workload too (a fixed 418 MiB).
  g_arena_bytes = std::max(g_cfg.mib * (int64_t{1} << 20), g_bert.total_bytes);
  g_arena.reset(static_cast<char*>(std::aligned_alloc(size_t{2} << 20, static_cast<size_t>(g_arena_bytes))));
#ifdef MADV_HUGEPAGE
  if (g_arena) ::madvise(g_arena.get(), static_cast<size_t>(g_arena_bytes), MADV_HUGEPAGE);
#endif
  // Deterministic, incompressible-looking float32 values in [0, 1).
  auto* f = reinterpret_cast<float*>(g_arena.get());
  uint64_t s = 7;
  for (int64_t i = 0; i < g_arena_bytes / 4; i += 2) {
    uint64_t r = SplitMix64(&s);
    f[i] = static_cast<float>(r >> 40) * 0x1.0p-24f;
    if (i + 1 < g_arena_bytes / 4) f[i + 1] = static_cast<float>((r >> 8) & 0xffffff) * 0x1.0p-24f;
  }
}

std::vector<Tensor>& Dest(Workload& w) {
  if (w.dest.empty()) {
    for (int64_t n : w.elems) {
      // Allocate value-initialises, so every page is already faulted in.
      w.dest.push_back(Tensor::Allocate(DataType::kFloat, TensorShape({n})).value());
    }
  }
  return w.dest;
}

std::string Prefix(const Workload& w) { return g_cfg.dir + "/" + w.name + "/ckpt"; }
std::string DataPath(const Workload& w) { return ckpt::DataFilename(Prefix(w), 0, 1); }
std::string IndexPath(const Workload& w) { return ckpt::MetaFilename(Prefix(w)); }
std::string RawPath(const Workload& w) { return g_cfg.dir + "/raw_" + w.name + ".bin"; }

void Unlink(const std::string& p) { ::unlink(p.c_str()); }

void DeleteBundle(const Workload& w) {
  Unlink(IndexPath(w));
  Unlink(DataPath(w));
}

Status SaveBundle(const Workload& w, const std::string& prefix, bool direct_io = true) {
  BundleWriterOptions opt;
  opt.sync = true;
  opt.direct_io = direct_io;
  auto writer = BundleWriter::Create(prefix, opt);
  if (!writer.ok()) return writer.status();
  for (size_t i = 0; i < w.elems.size(); ++i) {
    Tensor t = Tensor::View(DataType::kFloat, TensorShape({w.elems[i]}),
                            g_arena.get() + w.offsets[i]);
    CKPT_RETURN_IF_ERROR((*writer)->Add(w.keys[i], t));
  }
  return (*writer)->Finish();
}

Status SaveBundle(const Workload& w, bool direct_io = true) {
  return SaveBundle(w, Prefix(w), direct_io);
}

bool EnsureBundle(const Workload& w, benchmark::State& state) {
  if (::access(IndexPath(w).c_str(), F_OK) == 0) return true;
  InitArena();
  Status s = SaveBundle(w);
  if (!s.ok()) state.SkipWithError(("setup save failed: " + s.ToString()).c_str());
  return s.ok();
}

// Fraction of the file's pages resident in the page cache (mincore).
double Resident(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st;
  if (::fstat(fd, &st) != 0 || st.st_size == 0) {
    ::close(fd);
    return -1;
  }
  size_t len = static_cast<size_t>(st.st_size);
  void* p = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) return -1;
  long page = ::sysconf(_SC_PAGESIZE);
  size_t pages = (len + page - 1) / page;
  std::vector<unsigned char> vec(pages);
  double frac = -1;
  if (::mincore(p, len, vec.data()) == 0) {
    size_t in = 0;
    for (unsigned char c : vec) in += c & 1;
    frac = static_cast<double>(in) / static_cast<double>(pages);
  }
  ::munmap(p, len);
  return frac;
}

void Evict(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ::fdatasync(fd);  // already clean after a synced save; DONTNEED skips dirty pages
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

void Warm(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  std::vector<char> buf(8 << 20);
  while (::read(fd, buf.data(), buf.size()) > 0) {
  }
  ::close(fd);
}

bool PreadAll(int fd, char* p, size_t n, off_t off) {
  while (n > 0) {
    ssize_t r = ::pread(fd, p, n, off);
    if (r < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (r == 0) return false;
    p += r;
    off += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

void Finish(benchmark::State& state, const Workload& w) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * w.total_bytes);
  state.counters["tensors"] = static_cast<double>(w.elems.size());
}

// ---- save -----------------------------------------------------------------

// Touches every page of the source bytes (untimed, before each repetition of
// both save and raw_write) so neither side pays for faulting the caller's
// memory in: the benchmark compares writing resident bytes.
void TouchArena() { ckpt_bench::TouchPages(g_arena.get(), g_arena_bytes); }

// Untimed, right before each cold-restore repetition (which allocates
// page-cache pages): faults in and frees `bytes` + 64 MiB of
// anonymous memory. In this VM, guest memory that was freed a while ago has
// been handed back to the host (free page reporting), and the next kernel
// allocation of it costs up to ~3 s of CPU per GiB (first_touch_mem).
// Without this, whichever benchmark happens to get "cold" free memory pays
// that inside its timing (it made raw_write/one_tensor look 4x slower than
// ckpt's save). It is a best effort: the pages may be reported again
// before they are reused, so saves use an untimed warm-up write instead.
//
// The memory is advised MADV_HUGEPAGE, so that the kernel hands it out in
// 2 MiB blocks: freed, they are warm both for huge-page allocations (ckpt's
// large tensors) and, split, for small pages. Prefaulting with small pages
// only left huge-page allocations to land on blocks the host had taken back:
// ckpt's fresh-memory loads then took 72 to 761 ms from one repetition to
// the next in one run (BERT-base, 418 MiB), the small-page raw baseline
// 211 to 264 ms.
void PrefaultFreeMemory(int64_t bytes) {
  const size_t huge = size_t{2} << 20;
  const size_t n = static_cast<size_t>(bytes + (int64_t{64} << 20)) / huge * huge + huge;
  void* p = ::mmap(nullptr, n + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return;
  char* q = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(p) + huge - 1) / huge * huge);
#ifdef MADV_HUGEPAGE
  ::madvise(q, n, MADV_HUGEPAGE);
#endif
  std::memset(q, 1, n);
  ::munmap(p, n + huge);
}

// The physical limit: the workload's bytes (contiguous in the arena, the
// same memory ckpt saves from) written with large sequential write()s, then
// fdatasync.
constexpr size_t kRawChunk = size_t{8} << 20;

bool RawWriteOnce(const std::string& path, const Workload& w) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  bool ok = fd >= 0;
  for (int64_t off = 0; ok && off < w.total_bytes; off += static_cast<int64_t>(kRawChunk)) {
    size_t n = static_cast<size_t>(std::min<int64_t>(kRawChunk, w.total_bytes - off));
    ok = WriteAll(fd, g_arena.get() + off, n);
  }
  ok = ok && ::fdatasync(fd) == 0;
  ok = (fd >= 0 && ::close(fd) == 0) && ok;
  return ok;
}

// The same bytes with O_DIRECT, written straight from the (4096-aligned)
// arena in 8 MiB writes, no copy; a final partial block would be written
// after clearing O_DIRECT.
bool RawWriteDirectOnce(const std::string& path, const Workload& w) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_DIRECT, 0644);
  bool ok = fd >= 0;
  for (int64_t off = 0; ok && off < w.total_bytes; off += static_cast<int64_t>(kRawChunk)) {
    size_t n = static_cast<size_t>(std::min<int64_t>(kRawChunk, w.total_bytes - off));
    size_t whole = n & ~size_t{4095};
    ok = WriteAll(fd, g_arena.get() + off, whole);
    if (ok && whole < n) {
      ok = ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_DIRECT) == 0 &&
           WriteAll(fd, g_arena.get() + off + whole, n - whole);
    }
  }
  ok = ok && ::fdatasync(fd) == 0;
  ok = (fd >= 0 && ::close(fd) == 0) && ok;
  return ok;
}

// Each timed write (save or raw_write) follows an identical untimed write
// of the same bytes that is then deleted, so the timed one writes into
// page-cache memory that was just freed (the steady state of periodic
// checkpointing). See PrefaultFreeMemory for why this matters on this VM:
// without it the first write after a while pays ~2-3 s of CPU per GiB in
// copy_folio_from_iter_atomic (perf), whichever side it happens to be.
void BM_Save(benchmark::State& state, Workload* w, bool direct_io) {
  InitArena();
  for (auto _ : state) {
    state.PauseTiming();
    DeleteBundle(*w);
    Status warm = SaveBundle(*w, direct_io);
    DeleteBundle(*w);
    ::sync();  // settle the deletes/discards untimed
    TouchArena();
    state.ResumeTiming();
    Status s = warm.ok() ? SaveBundle(*w, direct_io) : warm;
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
  }
  Finish(state, *w);
}

void BM_RawWrite(benchmark::State& state, Workload* w, bool direct) {
  InitArena();
  const std::string path = RawPath(*w);
  auto write_once = direct ? RawWriteDirectOnce : RawWriteOnce;
  for (auto _ : state) {
    state.PauseTiming();
    Unlink(path);
    bool warm = write_once(path, *w);
    Unlink(path);
    ::sync();
    TouchArena();
    state.ResumeTiming();
    if (!warm || !write_once(path, *w)) {
      state.SkipWithError(("raw write failed: " + std::string(std::strerror(errno))).c_str());
      break;
    }
  }
  Unlink(path);
  Finish(state, *w);
}

// ---- restore --------------------------------------------------------------

// Puts the bundle's files in the requested cache state; returns the resident
// fraction of the data file measured afterwards.
double PrepareCache(const Workload& w, bool cold) {
  if (cold) {
    Evict(DataPath(w));
    Evict(IndexPath(w));
  } else {
    Warm(DataPath(w));
    Warm(IndexPath(w));
  }
  return Resident(DataPath(w));
}

template <typename Body>
void RestoreLoop(benchmark::State& state, Workload* w, bool cold, Body body) {
  if (!EnsureBundle(*w, state)) return;
  double resident = 0;
  int64_t n = 0;
  for (auto _ : state) {
    state.PauseTiming();
    resident += PrepareCache(*w, cold);
    ++n;
    if (cold) PrefaultFreeMemory(w->total_bytes);
    state.ResumeTiming();
    std::string err = body();
    if (!err.empty()) {
      state.SkipWithError(err.c_str());
      break;
    }
  }
  state.counters["resident_before"] = n > 0 ? resident / static_cast<double>(n) : 0;
  Finish(state, *w);
}

void BM_ReadInto(benchmark::State& state, Workload* w, bool cold, bool verify) {
  std::vector<Tensor>& dest = Dest(*w);
  RestoreLoop(state, w, cold, [&]() -> std::string {
    BundleReaderOptions opt;
    opt.verify_checksums = verify;
    auto reader = BundleReader::Open(Prefix(*w), opt);
    if (!reader.ok()) return reader.status().ToString();
    std::vector<ckpt::ReadTarget> targets;  // the whole workload in one call
    targets.reserve(dest.size());
    for (size_t i = 0; i < dest.size(); ++i) targets.push_back({w->keys[i], &dest[i]});
    Status s = (*reader)->ReadManyInto(targets);
    return s.ok() ? "" : s.ToString();
  });
}

void BM_ReadView(benchmark::State& state, Workload* w, bool cold) {
  RestoreLoop(state, w, cold, [&]() -> std::string {
    BundleReaderOptions opt;
    opt.use_mmap = true;
    auto reader = BundleReader::Open(Prefix(*w), opt);
    if (!reader.ok()) return reader.status().ToString();
    std::vector<std::string_view> keys(w->keys.begin(), w->keys.end());  // the whole workload
    auto views = (*reader)->ReadManyViews(keys);
    if (!views.ok()) return views.status().ToString();
    benchmark::DoNotOptimize(views->data());
    return "";  // the reader (and its mapping) is destroyed inside the timing
  });
}

void BM_RawRead(benchmark::State& state, Workload* w, bool cold) {
  std::vector<Tensor>& dest = Dest(*w);
  RestoreLoop(state, w, cold, [&]() -> std::string {
    int fd = ::open(DataPath(*w).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::strerror(errno);
    for (size_t i = 0; i < dest.size(); ++i) {
      if (!PreadAll(fd, dest[i].mutable_data(), dest[i].byte_size(), w->offsets[i])) {
        ::close(fd);
        return "raw read failed";
      }
    }
    ::close(fd);
    return "";
  });
}

// The other raw baseline: the data file's bytes read sequentially with
// O_DIRECT, 8 MiB per pread, into one block-aligned buffer of the workload's
// size (allocated and touched once): no page cache at all.
void BM_RawReadDirect(benchmark::State& state, Workload* w, bool cold) {
  static std::unique_ptr<char[], FreeDeleter> scratch;
  static int64_t scratch_bytes = 0;
  const int64_t need = (w->total_bytes + 4095) / 4096 * 4096;
  if (scratch_bytes < need) {
    scratch.reset(static_cast<char*>(std::aligned_alloc(size_t{2} << 20, static_cast<size_t>(need))));
    scratch_bytes = need;
    ckpt_bench::TouchPages(scratch.get(), scratch_bytes);
  }
  RestoreLoop(state, w, cold, [&]() -> std::string {
    int fd = ::open(DataPath(*w).c_str(), O_RDONLY | O_CLOEXEC | O_DIRECT);
    if (fd < 0) return std::strerror(errno);
    for (int64_t off = 0; off < w->total_bytes;) {
      const ssize_t n = ::pread(fd, scratch.get() + off,
                                static_cast<size_t>(std::min<int64_t>(kRawChunk, need - off)), off);
      if (n <= 0) {
        ::close(fd);
        return n < 0 ? std::strerror(errno) : "short direct read";
      }
      off += n;
    }
    ::close(fd);
    return "";
  });
}

void BM_RawMmapRead(benchmark::State& state, Workload* w, bool cold) {
  RestoreLoop(state, w, cold, [&]() -> std::string {
    int fd = ::open(DataPath(*w).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::strerror(errno);
    size_t len = static_cast<size_t>(w->total_bytes);
    void* p = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) return "mmap failed";
    // Read every byte once (XOR of 64-bit words): faults + memory bandwidth.
    const auto* words = static_cast<const uint64_t*>(p);
    uint64_t acc = 0;
    for (size_t i = 0; i < len / 8; ++i) acc ^= words[i];
    benchmark::DoNotOptimize(acc);
    ::munmap(p, len);
    return "";
  });
}

// ---- zero-copy open cost ------------------------------------------------------

// BundleReader::Open(use_mmap, verify_checksums = false) + ReadView of the one
// tensor + reader destruction (munmap), kOpensPerRep times per repetition, on
// a warm bundle holding one tensor of `bytes` (1 MiB, or the one_tensor
// workload). Without the CRC check a view touches none of the tensor's
// pages, so the cost should not depend on the tensor's size.
constexpr int kOpensPerRep = 200;

void BM_OpenView(benchmark::State& state, int64_t bytes) {
  InitArena();
  const std::string prefix = bytes == g_workloads[0].total_bytes
                                 ? Prefix(g_workloads[0])
                                 : g_cfg.dir + "/open_" + std::to_string(bytes) + "/ckpt";
  if (::access(ckpt::MetaFilename(prefix).c_str(), F_OK) != 0) {
    BundleWriterOptions wopt;
    wopt.sync = true;
    auto writer = BundleWriter::Create(prefix, wopt);
    Status s = writer.ok() ? Status::OK() : writer.status();
    if (s.ok()) {
      s = (*writer)->Add("layer_00000/kernel",
                         Tensor::View(DataType::kFloat, TensorShape({bytes / 4}), g_arena.get()));
    }
    if (s.ok()) s = (*writer)->Finish();
    if (!s.ok()) {
      state.SkipWithError(("setup save failed: " + s.ToString()).c_str());
      return;
    }
  }
  Warm(ckpt::DataFilename(prefix, 0, 1));
  Warm(ckpt::MetaFilename(prefix));
  for (auto _ : state) {
    for (int i = 0; i < kOpensPerRep; ++i) {
      BundleReaderOptions opt;
      opt.use_mmap = true;
      opt.verify_checksums = false;
      auto reader = BundleReader::Open(prefix, opt);
      if (!reader.ok()) {
        state.SkipWithError(reader.status().ToString().c_str());
        return;
      }
      auto t = (*reader)->ReadView("layer_00000/kernel");
      if (!t.ok()) {
        state.SkipWithError(t.status().ToString().c_str());
        return;
      }
      benchmark::DoNotOptimize(t->data());
    }
  }
  state.counters["opens"] = kOpensPerRep;
  state.counters["tensor_bytes"] = static_cast<double>(bytes);
}

// ---- fresh-memory loads (a realistic model) ----------------------------------

// BERT-base's float32 variables (the shapes of Google's released TF
// checkpoint, without the pre-training heads): 199 tensors from 768 floats to
// the 30522 x 768 word embedding (89 MiB), 418 MiB in all. Saved in key order,
// as TensorFlow's savers write.

void InitBert() {
  std::vector<std::pair<std::string, std::vector<int64_t>>> vars = {
      {"bert/embeddings/word_embeddings", {30522, 768}},
      {"bert/embeddings/token_type_embeddings", {2, 768}},
      {"bert/embeddings/position_embeddings", {512, 768}},
      {"bert/embeddings/LayerNorm/beta", {768}},
      {"bert/embeddings/LayerNorm/gamma", {768}},
      {"bert/pooler/dense/kernel", {768, 768}},
      {"bert/pooler/dense/bias", {768}},
  };
  for (int l = 0; l < 12; ++l) {
    const std::string p = "bert/encoder/layer_" + std::to_string(l) + "/";
    for (const char* qkv : {"query", "key", "value"}) {
      vars.push_back({p + "attention/self/" + qkv + "/kernel", {768, 768}});
      vars.push_back({p + "attention/self/" + qkv + "/bias", {768}});
    }
    vars.push_back({p + "attention/output/dense/kernel", {768, 768}});
    vars.push_back({p + "attention/output/dense/bias", {768}});
    vars.push_back({p + "attention/output/LayerNorm/beta", {768}});
    vars.push_back({p + "attention/output/LayerNorm/gamma", {768}});
    vars.push_back({p + "intermediate/dense/kernel", {768, 3072}});
    vars.push_back({p + "intermediate/dense/bias", {3072}});
    vars.push_back({p + "output/dense/kernel", {3072, 768}});
    vars.push_back({p + "output/dense/bias", {768}});
    vars.push_back({p + "output/LayerNorm/beta", {768}});
    vars.push_back({p + "output/LayerNorm/gamma", {768}});
  }
  std::sort(vars.begin(), vars.end());
  g_bert.name = "bert_base";
  for (auto& [key, shape] : vars) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    g_bert.keys.push_back(key);
    g_bert.shapes.push_back(shape);
    g_bert.offsets.push_back(g_bert.total_bytes);
    g_bert.total_bytes += n * 4;
  }
}

std::string LoadPrefix() { return g_cfg.dir + "/" + g_bert.name + "/ckpt"; }

bool EnsureLoadBundle(benchmark::State& state) {
  const std::string prefix = LoadPrefix();
  if (::access(ckpt::MetaFilename(prefix).c_str(), F_OK) == 0) return true;
  InitArena();
  BundleWriterOptions opt;
  opt.sync = true;
  auto writer = BundleWriter::Create(prefix, opt);
  Status s = writer.ok() ? Status::OK() : writer.status();
  for (size_t i = 0; s.ok() && i < g_bert.keys.size(); ++i) {
    s = (*writer)->Add(g_bert.keys[i], Tensor::View(DataType::kFloat, TensorShape(g_bert.shapes[i]),
                                                    g_arena.get() + g_bert.offsets[i]));
  }
  if (s.ok()) s = (*writer)->Finish();
  if (!s.ok()) state.SkipWithError(("setup save failed: " + s.ToString()).c_str());
  return s.ok();
}

// Each repetition loads every tensor of the warm bundle into memory the
// process gets anew (the loaded tensors are freed, untimed, after each
// repetition; before it, free memory is prefaulted as for cold restores, so
// no side pays for memory the VM's host took back). `body` returns what it
// loaded (kept alive until the repetition's timing ends) or an error.
template <typename Body>
void LoadLoop(benchmark::State& state, Body body) {
  if (!EnsureLoadBundle(state)) return;
  const std::string prefix = LoadPrefix();
  for (auto _ : state) {
    state.PauseTiming();
    Warm(ckpt::DataFilename(prefix, 0, 1));
    Warm(ckpt::MetaFilename(prefix));
    PrefaultFreeMemory(g_bert.total_bytes);
    state.ResumeTiming();
    std::string err;
    {
      auto loaded = body(&err);
      state.PauseTiming();
      if (!err.empty()) {
        state.SkipWithError(err.c_str());
        break;
      }
      benchmark::DoNotOptimize(loaded.data());
    }  // freed, untimed
    state.ResumeTiming();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * g_bert.total_bytes);
  state.counters["tensors"] = static_cast<double>(g_bert.keys.size());
}

// CheckpointReader::Open + GetTensor of every variable (new tensors, every
// checksum verified): what a user's "load the checkpoint" loop does.
void BM_LoadGetTensor(benchmark::State& state) {
  LoadLoop(state, [](std::string* err) {
    std::vector<Tensor> out;
    auto reader = ckpt::CheckpointReader::Open(LoadPrefix());
    if (!reader.ok()) {
      *err = reader.status().ToString();
      return out;
    }
    out.reserve(g_bert.keys.size());
    for (const std::string& k : g_bert.keys) {
      auto t = (*reader)->GetTensor(k);
      if (!t.ok()) {
        *err = t.status().ToString();
        break;
      }
      out.push_back(std::move(*t));
    }
    return out;
  });
}

// CheckpointReader::Open + one GetTensors of every variable (new tensors,
// every checksum verified, read as one batch).
void BM_LoadGetTensors(benchmark::State& state) {
  LoadLoop(state, [](std::string* err) {
    std::vector<Tensor> out;
    auto reader = ckpt::CheckpointReader::Open(LoadPrefix());
    if (!reader.ok()) {
      *err = reader.status().ToString();
      return out;
    }
    const std::vector<std::string_view> names(g_bert.keys.begin(), g_bert.keys.end());
    auto all = (*reader)->GetTensors(names);
    if (!all.ok()) {
      *err = all.status().ToString();
      return out;
    }
    out = std::move(*all);
    return out;
  });
}

// BundleReader::Open(use_mmap) + ReadView of every variable (zero-copy,
// every checksum verified), the views kept until the end of the repetition.
void BM_LoadViews(benchmark::State& state) {
  LoadLoop(state, [](std::string* err) {
    struct Loaded {
      std::unique_ptr<BundleReader> reader;
      std::vector<Tensor> views;
      const Tensor* data() const { return views.data(); }
    } out;
    BundleReaderOptions opt;
    opt.use_mmap = true;
    auto reader = BundleReader::Open(LoadPrefix(), opt);
    if (!reader.ok()) {
      *err = reader.status().ToString();
      return out;
    }
    out.reader = std::move(*reader);
    for (const std::string& k : g_bert.keys) {
      auto t = out.reader->ReadView(k);
      if (!t.ok()) {
        *err = t.status().ToString();
        break;
      }
      out.views.push_back(std::move(*t));
    }
    return out;
  });
}

// The baseline: open the data file and pread each variable's bytes into a
// new malloc'd buffer (no checksum, no index): a raw read into fresh memory.
void BM_RawReadFresh(benchmark::State& state) {
  LoadLoop(state, [](std::string* err) {
    std::vector<std::unique_ptr<char[], FreeDeleter>> out;
    int fd = ::open(ckpt::DataFilename(LoadPrefix(), 0, 1).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      *err = std::strerror(errno);
      return out;
    }
    for (size_t i = 0; i < g_bert.keys.size(); ++i) {
      const int64_t end = i + 1 < g_bert.keys.size() ? g_bert.offsets[i + 1] : g_bert.total_bytes;
      const size_t n = static_cast<size_t>(end - g_bert.offsets[i]);
      out.emplace_back(static_cast<char*>(std::malloc(n)));
      if (!out.back() || !PreadAll(fd, out.back().get(), n, g_bert.offsets[i])) {
        *err = "raw read failed";
        break;
      }
    }
    ::close(fd);
    return out;
  });
}

// The roof of any load that copies into new memory: each variable's bytes
// pread into memory allocated as ckpt allocates tensors (from 2 MiB on: a 2
// MiB-aligned mapping advised MADV_HUGEPAGE; smaller: malloc), two threads
// taking the variables in turn; no index, no checksum, no Tensor.
void BM_RawReadFreshHuge(benchmark::State& state) {
  struct Block {
    char* map = nullptr;  // mmap'd (size `mapped`), or null for malloc'd `p`
    size_t mapped = 0;
    char* p = nullptr;
    Block() = default;
    Block(Block&& o) noexcept : map(o.map), mapped(o.mapped), p(o.p) { o.map = o.p = nullptr; }
    Block& operator=(Block&&) = delete;
    ~Block() {
      if (map != nullptr) ::munmap(map, mapped);
      else std::free(p);
    }
  };
  struct Loaded {
    std::vector<Block> blocks;
    const Block* data() const { return blocks.data(); }
  };
  LoadLoop(state, [](std::string* err) {
    Loaded out;
    const size_t count = g_bert.keys.size();
    out.blocks.resize(count);
    int fd = ::open(ckpt::DataFilename(LoadPrefix(), 0, 1).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      *err = std::strerror(errno);
      return out;
    }
    constexpr size_t kHuge = size_t{2} << 20;
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    auto work = [&] {
      for (size_t i = next.fetch_add(1); i < count; i = next.fetch_add(1)) {
        const int64_t end = i + 1 < count ? g_bert.offsets[i + 1] : g_bert.total_bytes;
        const size_t n = static_cast<size_t>(end - g_bert.offsets[i]);
        Block& b = out.blocks[i];
        if (n >= kHuge) {
          b.mapped = n + kHuge;
          void* m = ::mmap(nullptr, b.mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                           -1, 0);
          if (m == MAP_FAILED) {
            failed = true;
            return;
          }
          b.map = static_cast<char*>(m);
          b.p = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(m) + kHuge - 1) / kHuge * kHuge);
          ::madvise(b.p, n / kHuge * kHuge, MADV_HUGEPAGE);
        } else {
          b.p = static_cast<char*>(std::malloc(n));
        }
        if (b.p == nullptr || !PreadAll(fd, b.p, n, g_bert.offsets[i])) {
          failed = true;
          return;
        }
      }
    };
    std::thread helper(work);
    work();
    helper.join();
    ::close(fd);
    if (failed) *err = "raw read failed";
    return out;
  });
}

// ---- in-memory reference costs ----------------------------------------------

void BM_Crc32cMem(benchmark::State& state) {
  InitArena();
  for (auto _ : state) {
    benchmark::DoNotOptimize(ckpt::crc32c::Value(g_arena.get(), static_cast<size_t>(WorkloadBytes())));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * WorkloadBytes());
}

void BM_MemcpyMem(benchmark::State& state) {
  InitArena();
  std::vector<Tensor>& dest = Dest(g_workloads[0]);
  for (auto _ : state) {
    std::memcpy(dest[0].mutable_data(), g_arena.get(), static_cast<size_t>(WorkloadBytes()));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * WorkloadBytes());
}

// Cost of memory the process has not touched before: mmap + memset + munmap.
// In a VM whose host backs guest memory lazily (or takes freed pages back,
// e.g. virtio-balloon free page reporting) this is far slower than memcpy,
// and every page-cache page a save or a cold restore allocates pays it too.
void BM_FirstTouchMem(benchmark::State& state) {
  InitArena();
  const size_t n = static_cast<size_t>(WorkloadBytes());
  for (auto _ : state) {
    void* p = ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      state.SkipWithError("mmap failed");
      break;
    }
    std::memset(p, 1, n);
    benchmark::ClobberMemory();
    ::munmap(p, n);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * WorkloadBytes());
}

// The same on memory that starts on a 2 MiB boundary and is advised
// MADV_HUGEPAGE (as ckpt allocates large tensors): one fault per huge page,
// the kernel zeroing 2 MiB at a time. The floor of any load into new memory,
// besides the copy.
void BM_FirstTouchHugeMem(benchmark::State& state) {
  InitArena();
  const size_t n = static_cast<size_t>(WorkloadBytes());
  const size_t huge = size_t{2} << 20;
  for (auto _ : state) {
    void* p = ::mmap(nullptr, n + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      state.SkipWithError("mmap failed");
      break;
    }
    char* q = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(p) + huge - 1) / huge * huge);
    ::madvise(q, n, MADV_HUGEPAGE);
    std::memset(q, 1, n);
    benchmark::ClobberMemory();
    ::munmap(p, n + huge);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * WorkloadBytes());
}

// ---- main -------------------------------------------------------------------

void DumpSizes(const std::string& path) {
  std::ofstream out(path);
  out << "{";
  for (size_t k = 0; k < g_workloads.size(); ++k) {
    const Workload& w = g_workloads[k];
    out << (k ? ",\n" : "\n") << " \"" << w.name << "\": {\"keys\": [";
    for (size_t i = 0; i < w.keys.size(); ++i) out << (i ? "," : "") << '"' << w.keys[i] << '"';
    out << "],\n  \"elems\": [";
    for (size_t i = 0; i < w.elems.size(); ++i) out << (i ? "," : "") << w.elems[i];
    out << "]}";
  }
  // The load workload: real shapes; "load" tells tf_save_restore.py to time
  // loads of it (TF's get_tensor loop, safetensors.numpy.load_file).
  out << ",\n \"" << g_bert.name << "\": {\"load\": true, \"keys\": [";
  for (size_t i = 0; i < g_bert.keys.size(); ++i) out << (i ? "," : "") << '"' << g_bert.keys[i] << '"';
  out << "],\n  \"shapes\": [";
  for (size_t i = 0; i < g_bert.shapes.size(); ++i) {
    out << (i ? "," : "") << "[";
    for (size_t d = 0; d < g_bert.shapes[i].size(); ++d) out << (d ? "," : "") << g_bert.shapes[i][d];
    out << "]";
  }
  out << "]}";
  out << "\n}\n";
}

void Cleanup() {
  if (g_cfg.keep) return;
  for (const Workload& w : g_workloads) {
    DeleteBundle(w);
    Unlink(RawPath(w));
    ::rmdir((g_cfg.dir + "/" + w.name).c_str());
  }
  Unlink(ckpt::MetaFilename(LoadPrefix()));
  Unlink(ckpt::DataFilename(LoadPrefix(), 0, 1));
  ::rmdir((g_cfg.dir + "/" + g_bert.name).c_str());
  const std::string small = g_cfg.dir + "/open_" + std::to_string(int64_t{1} << 20);
  Unlink(ckpt::MetaFilename(small + "/ckpt"));
  Unlink(ckpt::DataFilename(small + "/ckpt", 0, 1));
  ::rmdir(small.c_str());
  ::rmdir(g_cfg.dir.c_str());  // only if empty
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> rest;
  if (!ckpt_bench::ParseFlags(
          argc, argv, "bundle_bench", CKPT_BENCH_DEFAULT_DIR, &g_cfg,
          {{"--bench_keep", [](const std::string&) { g_cfg.keep = true; }},
           {"--bench_save_mixed", [](const std::string& v) { g_cfg.save_mixed = v; }},
           {"--bench_dump_sizes", [](const std::string& v) { g_cfg.dump_sizes = v; }}},
          &rest)) {
    return 2;
  }
  InitWorkloads();
  if (!g_cfg.dump_sizes.empty()) {
    DumpSizes(g_cfg.dump_sizes);
    return 0;
  }
  if (!g_cfg.save_mixed.empty()) {
    InitArena();
    Status saved = SaveBundle(g_workloads[1], g_cfg.save_mixed);
    if (!saved.ok()) {
      std::fprintf(stderr, "bundle_bench: %s\n", saved.ToString().c_str());
      return 1;
    }
    return 0;
  }
  Status s = ckpt::Env::Posix()->CreateDirs(g_cfg.dir);
  if (!s.ok()) {
    std::fprintf(stderr, "bundle_bench: %s\n", s.ToString().c_str());
    return 1;
  }

  auto reg = [](const std::string& name, auto fn) {
    return benchmark::RegisterBenchmark(name.c_str(), fn)
        ->Iterations(1)
        ->Repetitions(g_cfg.reps)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  };
  for (Workload& w : g_workloads) {
    Workload* wp = &w;
    const std::string& n = w.name;
    reg("save/" + n, [wp](benchmark::State& st) { BM_Save(st, wp, true); });
    reg("save_buffered/" + n, [wp](benchmark::State& st) { BM_Save(st, wp, false); });
    reg("raw_write/" + n, [wp](benchmark::State& st) { BM_RawWrite(st, wp, false); });
    reg("raw_write_direct/" + n, [wp](benchmark::State& st) { BM_RawWrite(st, wp, true); });
    for (bool cold : {false, true}) {
      std::string c = cold ? "/cold" : "/warm";
      reg("restore_readinto/" + n + c, [wp, cold](benchmark::State& st) { BM_ReadInto(st, wp, cold, true); });
      reg("restore_readinto_nocrc/" + n + c,
          [wp, cold](benchmark::State& st) { BM_ReadInto(st, wp, cold, false); });
      reg("restore_readview/" + n + c, [wp, cold](benchmark::State& st) { BM_ReadView(st, wp, cold); });
      reg("raw_read/" + n + c, [wp, cold](benchmark::State& st) { BM_RawRead(st, wp, cold); });
      reg("raw_mmap_read/" + n + c, [wp, cold](benchmark::State& st) { BM_RawMmapRead(st, wp, cold); });
      reg("raw_read_direct/" + n + c, [wp, cold](benchmark::State& st) { BM_RawReadDirect(st, wp, cold); });
    }
  }
  reg("open_view/1MiB", [](benchmark::State& st) { BM_OpenView(st, int64_t{1} << 20); });
  reg("open_view/" + std::to_string(g_cfg.mib) + "MiB",
      [](benchmark::State& st) { BM_OpenView(st, g_workloads[0].total_bytes); });
  reg("load_gettensor/" + g_bert.name, [](benchmark::State& st) { BM_LoadGetTensor(st); });
  reg("load_gettensors/" + g_bert.name, [](benchmark::State& st) { BM_LoadGetTensors(st); });
  reg("load_views/" + g_bert.name, [](benchmark::State& st) { BM_LoadViews(st); });
  reg("raw_read_fresh/" + g_bert.name, [](benchmark::State& st) { BM_RawReadFresh(st); });
  reg("raw_read_fresh_huge/" + g_bert.name,
      [](benchmark::State& st) { BM_RawReadFreshHuge(st); });
  reg("crc32c_mem", [](benchmark::State& st) { BM_Crc32cMem(st); });
  reg("memcpy_mem", [](benchmark::State& st) { BM_MemcpyMem(st); });
  reg("first_touch_mem", [](benchmark::State& st) { BM_FirstTouchMem(st); });
  reg("first_touch_huge_mem", [](benchmark::State& st) { BM_FirstTouchHugeMem(st); });

  ckpt_bench::AddFlagsContext(g_cfg);
  {
    const Workload& m = g_workloads[1];
    std::vector<int64_t> b(m.elems);
    std::sort(b.begin(), b.end());
    int64_t big = std::count_if(b.begin(), b.end(), [](int64_t e) { return e * 4 >= (1 << 20); });
    std::string desc = "min " + std::to_string(b.front() * 4) + " B, median " +
                       std::to_string(b[b.size() / 2] * 4) + " B, max " +
                       std::to_string(b.back() * 4) + " B, " + std::to_string(big) +
                       " tensors >= 1 MiB";
    benchmark::AddCustomContext("mixed_sizes", desc);
  }

  int rargc = static_cast<int>(rest.size());
  benchmark::Initialize(&rargc, rest.data());
  if (benchmark::ReportUnrecognizedArguments(rargc, rest.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  Cleanup();
  return 0;
}

// curve_bench: one point of the cost curves (bench/curves, docs/benchmarks.md
// "Cost curves"): a checkpoint of --bytes bytes of float32 in --tensors
// tensors of equal size (the first takes the remainder), saved and read back
// in --dir. Times, each the median of --reps runs:
//   save           Saver::Save, default SaverOptions (durable: direct IO,
//                  fsync, state file, retention), global_step = the rep
//   open_list      BundleReader::Open + every entry's key, dtype and shape
//                  (what `ckpt inspect` lists)
//   inspect_proc   the process `ckpt inspect --file_name=<prefix>` (--ckpt),
//                  fork+exec to exit, its stdout drained through a pipe
//   proc_start     the process `ckpt --version` (what any ckpt process costs)
//   open_list_cpu, inspect_proc_cpu   CPU seconds (user + system) of open+list
//                  and of the inspect process: on a shared machine, what other
//                  jobs' load does not inflate
//   verify         VerifyCheckpoint (what `ckpt verify` does: every checksum)
//   restore        BundleReader::Open + ReadManyInto into the model's own
//                  (preallocated) tensors, files warm in the page cache
// and, in a fresh process (this binary re-executed with --case=rss), the
// peak RSS of open+list: VmHWM after minus VmRSS before, against the .index
// file's size.
// Writes one JSON object (--json=PATH, else stdout). Removes what it wrote
// in --dir unless --keep.
//
// --case=roofs measures the physical limits the report holds each row
// against, on this machine and --dir's disk: sequential durable write
// (256 MiB through O_DIRECT in 8 MiB writes, then fdatasync), memcpy and
// CRC32C (one thread, 256 MiB, warm), a small durable write (4 KiB to a new
// file + fdatasync), and the cost of a page fault on fresh
// anonymous memory (256 MiB touched once per 4 KiB page).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ckpt/bundle_reader.h"
#include "ckpt/filenames.h"
#include "ckpt/saver.h"
#include "ckpt/tensor.h"
#include "ckpt/verify.h"
#include "crc/crc32c.h"
#include "proc_status.h"

namespace {

struct Config {
  std::string dir;
  int64_t bytes = int64_t{256} << 20;
  int64_t tensors = 100;
  int reps = 3;
  std::string ckpt;  // the ckpt CLI, for inspect_proc
  std::string json;
  std::string one_case;  // "rss" in the child
  std::string prefix;    // the child's checkpoint
  bool keep = false;
};

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

using ckpt_bench::StatusKb;

void Check(const ckpt::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "curve_bench: %s: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

// Names like a model's: "model/block_0000123/kernel".
std::string Key(int64_t i) {
  char name[48];
  std::snprintf(name, sizeof(name), "model/block_%07lld/kernel", static_cast<long long>(i));
  return name;
}

// Opens the bundle and reads every entry's key, dtype and shape; returns a
// value that depends on all of them so nothing is optimized away.
int64_t OpenList(const std::string& prefix) {
  auto reader = ckpt::BundleReader::Open(prefix);
  Check(reader.status(), "open");
  int64_t sum = 0;
  for (const ckpt::BundleEntry& e : (*reader)->entries()) {
    sum += static_cast<int64_t>(e.key.size()) + static_cast<int>(e.dtype) + e.shape.num_elements();
  }
  return sum;
}

// Runs argv, stdout to a drained pipe, stderr to /dev/null; false unless it
// exits 0. *lines counts the newlines it printed.
double CpuNow() {
  timespec ts;
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double Seconds(const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec * 1e-6; }

// CPU seconds (user + system) of the last process RunProcess waited for.
double g_child_cpu = 0;

bool RunProcess(const std::vector<std::string>& args, int64_t* lines) {
  int fds[2];
  if (::pipe(fds) != 0) return false;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 2);
    ::close(fds[0]);
    ::close(fds[1]);
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  char buf[1 << 16];
  *lines = 0;
  for (;;) {
    ssize_t n = ::read(fds[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    *lines += std::count(buf, buf + n, '\n');
  }
  ::close(fds[0]);
  int status = 0;
  rusage ru{};
  ::wait4(pid, &status, 0, &ru);
  g_child_cpu = Seconds(ru.ru_utime) + Seconds(ru.ru_stime);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : (v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2);
}

std::string Json(const std::vector<double>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    char b[32];
    std::snprintf(b, sizeof(b), "%s%.6f", i ? ", " : "", v[i]);
    out += b;
  }
  return out + "]";
}

// The child: peak RSS of open+list.
int RunRss(const Config& c) {
  const int64_t before = StatusKb("VmRSS");
  int64_t sum = OpenList(c.prefix);
  const int64_t peak = StatusKb("VmHWM");
  std::printf("{\"rss_before_kb\": %lld, \"hwm_kb\": %lld, \"check\": %lld}\n",
              static_cast<long long>(before), static_cast<long long>(peak),
              static_cast<long long>(sum));
  return 0;
}

int RunRoofs(const Config& c) {
  namespace fs = std::filesystem;
  const size_t n = size_t{256} << 20, chunk = size_t{8} << 20;
  fs::create_directories(c.dir);
  const std::string path = c.dir + "/roofs.tmp";
  void* buf = nullptr;
  if (::posix_memalign(&buf, 4096, n) != 0) return 1;
  char* src = static_cast<char*>(buf);
  for (size_t i = 0; i < n; ++i) src[i] = static_cast<char>(i * 2654435761u >> 13);
  std::vector<char> dst(n);
  std::memcpy(dst.data(), src, n);  // both resident
  double disk = 0, copy = 0, crc = 0, fault_us = 0, fsync_ms = 0;
  for (int r = 0; r < 3; ++r) {  // best of 3 for each
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT, 0644);
    if (fd < 0) fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return 1;
    double t0 = Now();
    for (size_t off = 0; off < n; off += chunk) {
      if (::write(fd, src + off, chunk) != static_cast<ssize_t>(chunk)) return 1;
    }
    ::fdatasync(fd);
    double dt = Now() - t0;
    ::close(fd);
    fs::remove(path);
    disk = std::max(disk, n / dt);
    // Latency of a durable small write: 4 KiB to a new file + fdatasync.
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return 1;
    t0 = Now();
    if (::write(fd, src, 4096) != 4096) return 1;
    ::fdatasync(fd);
    dt = Now() - t0;
    ::close(fd);
    fs::remove(path);
    fsync_ms = r == 0 ? dt * 1e3 : std::min(fsync_ms, dt * 1e3);
    t0 = Now();
    std::memcpy(dst.data(), src, n);
    dt = Now() - t0;
    copy = std::max(copy, n / dt);
    t0 = Now();
    volatile uint32_t sink = ckpt::crc32c::Value(src, n);
    (void)sink;
    dt = Now() - t0;
    crc = std::max(crc, n / dt);
    char* fresh = static_cast<char*>(
        ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    t0 = Now();
    for (size_t i = 0; i < n; i += 4096) fresh[i] = 1;
    dt = Now() - t0;
    ::munmap(fresh, n);
    const double us = dt / (n / 4096) * 1e6;
    fault_us = r == 0 ? us : std::min(fault_us, us);
  }
  std::free(buf);
  const double gib = double{1 << 30};
  std::printf("{\"disk_write_gib_s\": %.3f, \"memcpy_gib_s\": %.3f, \"crc32c_gib_s\": %.3f, "
              "\"fault_us_per_page\": %.3f, \"fsync_ms\": %.3f}\n",
              disk / gib, copy / gib, crc / gib, fault_us, fsync_ms);
  return 0;
}

int Run(const Config& c, const char* self) {
  namespace fs = std::filesystem;
  const std::string dir = c.dir + "/ckpt";
  fs::remove_all(dir);
  fs::create_directories(dir);

  // The model: equal float32 tensors, every page written.
  const int64_t elems = c.bytes / 4;
  std::vector<ckpt::Tensor> vars;
  vars.reserve(static_cast<size_t>(c.tensors));
  ckpt::VarList list;
  list.reserve(static_cast<size_t>(c.tensors));
  for (int64_t i = 0; i < c.tensors; ++i) {
    const int64_t n = elems / c.tensors + (i == 0 ? elems % c.tensors : 0);
    ckpt::Tensor t = ckpt::Tensor::Allocate(ckpt::DataType::kFloat, {n}).value();
    float* f = t.mutable_flat<float>();
    for (int64_t k = 0; k < n; ++k) f[k] = static_cast<float>((k * 2654435761u + i) % 1000003);
    vars.push_back(std::move(t));
  }
  for (int64_t i = 0; i < c.tensors; ++i) list.push_back({Key(i), &vars[i], std::nullopt, {}, ""});

  std::vector<double> save, open_list, inspect, verify, restore;
  std::vector<double> open_list_cpu, inspect_cpu;  // CPU seconds: what load does not inflate
  auto saver = ckpt::Saver::Create(list).value();
  std::string prefix;
  for (int r = 0; r < c.reps; ++r) {
    ckpt::SaveArgs args;
    args.global_step = r + 1;
    const double t0 = Now();
    auto p = saver->Save(dir + "/model", args);
    save.push_back(Now() - t0);
    Check(p.status(), "save");
    prefix = *p;
  }
  saver.reset();
  std::error_code ec;
  const int64_t index_bytes = static_cast<int64_t>(fs::file_size(ckpt::MetaFilename(prefix), ec));

  int64_t check = 0;
  for (int r = 0; r <= c.reps; ++r) {  // the first run warms up, untimed
    const double t0 = Now();
    const double c0 = CpuNow();
    check += OpenList(prefix);
    if (r > 0) open_list.push_back(Now() - t0);
    if (r > 0) open_list_cpu.push_back(CpuNow() - c0);
  }
  int64_t inspect_lines = -1;
  std::vector<double> proc_start;  // `ckpt --version`: the process's fixed cost
  if (!c.ckpt.empty()) {
    for (int r = 0; r <= c.reps; ++r) {
      int64_t lines = 0;
      const double t0 = Now();
      if (!RunProcess({c.ckpt, "--version"}, &lines)) return 1;
      if (r > 0) proc_start.push_back(Now() - t0);
    }
    for (int r = 0; r <= c.reps; ++r) {
      const double t0 = Now();
      if (!RunProcess({c.ckpt, "inspect", "--file_name=" + prefix}, &inspect_lines)) {
        std::fprintf(stderr, "curve_bench: %s inspect failed\n", c.ckpt.c_str());
        return 1;
      }
      if (r > 0) inspect.push_back(Now() - t0);
      if (r > 0) inspect_cpu.push_back(g_child_cpu);
    }
  }
  for (int r = 0; r < c.reps; ++r) {
    const double t0 = Now();
    Check(ckpt::VerifyCheckpoint(ckpt::Env::Posix(), prefix), "verify");
    verify.push_back(Now() - t0);
  }
  std::vector<ckpt::ReadTarget> targets;
  targets.reserve(list.size());
  for (const ckpt::SaveableTensor& v : list) targets.push_back({v.name, v.tensor});
  for (int r = 0; r <= c.reps; ++r) {
    const double t0 = Now();
    auto reader = ckpt::BundleReader::Open(prefix);
    Check(reader.status(), "restore open");
    Check((*reader)->ReadManyInto(targets), "restore");
    if (r > 0) restore.push_back(Now() - t0);
  }

  // Peak RSS of open+list in a fresh process.
  std::string rss_json = "null";
  {
    std::string cmd = std::string(self) + " --case=rss --prefix=" + prefix;
    FILE* p = ::popen(cmd.c_str(), "r");
    char buf[512] = {0};
    if (p != nullptr) {
      size_t n = std::fread(buf, 1, sizeof(buf) - 1, p);
      buf[n] = '\0';
      if (::pclose(p) == 0 && n > 0) {
        rss_json = buf;
        while (!rss_json.empty() && rss_json.back() == '\n') rss_json.pop_back();
      }
    }
  }

  std::string out = "{\"bytes\": " + std::to_string(c.bytes) +
                    ", \"tensors\": " + std::to_string(c.tensors) +
                    ", \"reps\": " + std::to_string(c.reps) +
                    ", \"index_bytes\": " + std::to_string(index_bytes) +
                    ", \"inspect_lines\": " + std::to_string(inspect_lines) +
                    ", \"check\": " + std::to_string(check) + ", \"rss\": " + rss_json +
                    ", \"seconds\": {\"save\": " + Json(save) + ", \"open_list\": " + Json(open_list) +
                    ", \"inspect_proc\": " + Json(inspect) + ", \"proc_start\": " + Json(proc_start) + ", \"open_list_cpu\": " + Json(open_list_cpu) + ", \"inspect_proc_cpu\": " + Json(inspect_cpu) + ", \"verify\": " + Json(verify) +
                    ", \"restore\": " + Json(restore) + "}}\n";
  if (!c.keep) fs::remove_all(dir);
  if (c.json.empty()) {
    std::fputs(out.c_str(), stdout);
  } else {
    std::ofstream(c.json) << out;
  }
  std::fprintf(stderr,
               "curve_bench: %lld B in %lld tensors: save %.3f s, open+list %.4f s, inspect %.4f s, "
               "verify %.3f s, restore %.3f s\n",
               static_cast<long long>(c.bytes), static_cast<long long>(c.tensors), Median(save),
               Median(open_list), Median(inspect), Median(verify), Median(restore));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  if (const char* e = std::getenv("CKPT_BENCH_DIR"); e != nullptr && *e != '\0') c.dir = e;
  if (c.dir.empty()) c.dir = CKPT_BENCH_DEFAULT_DIR;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&](const char* name, std::string* out) {
      const std::string n = std::string(name) + "=";
      if (a.compare(0, n.size(), n) != 0) return false;
      *out = a.substr(n.size());
      return true;
    };
    std::string v;
    if (val("--dir", &v)) c.dir = v;
    else if (val("--bytes", &v)) c.bytes = std::atoll(v.c_str());
    else if (val("--tensors", &v)) c.tensors = std::atoll(v.c_str());
    else if (val("--reps", &v)) c.reps = std::atoi(v.c_str());
    else if (val("--ckpt", &v)) c.ckpt = v;
    else if (val("--json", &v)) c.json = v;
    else if (val("--case", &v)) c.one_case = v;
    else if (val("--prefix", &v)) c.prefix = v;
    else if (a == "--keep") c.keep = true;
    else {
      std::fprintf(stderr, "curve_bench: unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  if (c.one_case == "rss") return RunRss(c);
  if (c.one_case == "roofs") return RunRoofs(c);
  if (c.bytes < 4 * c.tensors || c.tensors <= 0 || c.reps <= 0) {
    std::fprintf(stderr, "curve_bench: need --tensors > 0, --reps > 0, --bytes >= 4 * tensors\n");
    return 2;
  }
  return Run(c, argv[0]);
}

// stall_bench: how long checkpointing blocks a training loop, synchronous
// Saver vs AsyncSaver, against an in-memory copy of the variables.
//
// The model is --mib MiB of float32 variables in --tensors tensors. A training
// step is an SGD-like update touching every variable once (w = w * a + b,
// read and write: memory-bound, single-threaded), the lower bound of a dense
// model's step. Each run trains --steps steps and checkpoints after steps
// every/2, every/2 + every, ... (one checkpoint per --every steps, with the
// last one's background write overlapping the final every/2 steps), to
// --dir/<mode>/model-<step> with max_to_keep 2, durable (data, index,
// directory and state file fsynced). Modes, interleaved per repetition:
//   none   no checkpoints (the baseline)
//   sync   Saver::Save on the training thread
//   async  AsyncSaver::Save (snapshot, then background write); the run's time
//          includes a final Wait() so that every save is durable. Every
//          variable is staged (kUnlimitedStagingBudget).
//   async_b<N>  the same with a staging budget of N MiB: the variables that do
//          not fit are written while Save() blocks (one mode per entry of
//          --staging_budgets_mib; "unlimited" there is async_unlimited).
// Measured:
//   block_ms      wall time of each Save() call on the training thread
//   total_s       wall time of the whole run
//   step_ms       median step time (steps without a save)
//   memcpy        an in-memory copy of all variables into preallocated,
//                 already-touched buffers (1 and 2 threads), and into fresh
//                 memory (what a snapshot would cost without buffer reuse)
//   overhead_pct  within-run overhead: (sum of block_ms + sum over the every/2
//                 steps after each save of (step - this run's median step
//                 outside those windows)) / (steps x median step). Compares
//                 steps ~1 s apart in one run, so it resists the load drift
//                 of a shared machine; for "none" it shows the noise floor.
// Summary: medians over repetitions; slowdown % = total(mode) / total(none)
// - 1, both from the medians and as the median of per-repetition pairs.
// Targets (issue 6): async block <= 1.5x the 1-thread copy; async slowdown
// <= 3.5% with a checkpoint every 100 steps.
//
// Flags: --dir=DIR (default $CKPT_BENCH_DIR, else the build tree's
// bench/data) --mib=256 --tensors=8 --steps=300 --every=100 --reps=3
// --copy_threads=2 --json=PATH (default: stdout only) --wait_quiet=SECS (first
// wait up to SECS for the 1-minute load average to drop below 1)
// --modes=none,sync,async (the modes above, comma-separated)
// --staging_budgets_mib=0,64,... (adds the modes async_b0, async_b64, ...;
// "unlimited" adds async_unlimited; default none). The targets are
// reported when the mode "async" runs.
#include <sys/mman.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ckpt/async_saver.h"
#include "ckpt/saver.h"
#include "ckpt/tensor.h"

#ifndef CKPT_BENCH_DEFAULT_DIR
#define CKPT_BENCH_DEFAULT_DIR "/tmp/ckpt_bench"
#endif

namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string LoadAvg() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

std::string JsonList(const std::vector<double>& v) {
  std::ostringstream o;
  o << "[";
  for (size_t i = 0; i < v.size(); ++i) o << (i ? ", " : "") << v[i];
  o << "]";
  return o.str();
}

struct Config {
  std::string dir;
  int64_t mib = 256;
  int tensors = 8;
  int steps = 300;
  int every = 100;
  int reps = 3;
  int copy_threads = 2;
  std::string json;
  int wait_quiet = 0;  // seconds to wait for a 1-minute load average < 1
  std::vector<std::string> modes = {"none", "sync", "async"};
};

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// The staging budget of an async mode: "async", "async_unlimited" or
// "async_b<MiB>".
int64_t StagingBudget(const std::string& mode) {
  if (mode == "async" || mode == "async_unlimited") return ckpt::kUnlimitedStagingBudget;
  return std::atoll(mode.c_str() + std::strlen("async_b")) << 20;
}

struct Model {
  std::vector<ckpt::Tensor> vars;
  size_t bytes = 0;
  ckpt::VarList List() {
    ckpt::VarList l;
    char name[48];
    for (size_t i = 0; i < vars.size(); ++i) {
      std::snprintf(name, sizeof(name), "layer_%02zu/kernel", i);
      l.push_back({name, &vars[i], std::nullopt, {}, ""});
    }
    return l;
  }
};

Model MakeModel(const Config& c) {
  Model m;
  const int64_t total = c.mib * (int64_t{1} << 20) / 4;
  for (int i = 0; i < c.tensors; ++i) {
    int64_t n = total / c.tensors + (i == 0 ? total % c.tensors : 0);
    ckpt::Tensor t = ckpt::Tensor::Allocate(ckpt::DataType::kFloat, {n}).value();
    float* f = t.mutable_flat<float>();
    for (int64_t k = 0; k < n; ++k) f[k] = static_cast<float>((k * 2654435761u + i) % 1000003) * 1e-6f;
    m.bytes += t.byte_size();
    m.vars.push_back(std::move(t));
  }
  return m;
}

// One training step: every variable read and written once.
void TrainStep(Model& m, int step) {
  const float a = 0.99999f, b = 1e-7f * static_cast<float>(step % 7);
  for (ckpt::Tensor& t : m.vars) {
    float* w = t.mutable_flat<float>();
    const int64_t n = t.num_elements();
    for (int64_t i = 0; i < n; ++i) w[i] = w[i] * a + b;
  }
}

struct Run {
  std::string mode;
  int rep = 0;
  double total_s = 0;
  double step_ms = 0;             // median of steps without a save
  double step_ms_after_save = 0;  // median of the every/2 steps after each save
  std::vector<double> block_ms;
  double final_wait_ms = 0;
  double train_cpu_s = 0;    // CPU time of the training thread
  double process_cpu_s = 0;  // CPU time of the whole process (incl. background)
  std::string load;          // load average when the run started
  double overhead_ms = 0;    // blocks + extra time of the steps after saves
  double overhead_pct = 0;   // overhead_ms / (steps x step_ms)
};

double CpuSeconds(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

Run TrainOnce(const Config& c, Model& m, const std::string& mode, int rep) {
  Run r;
  r.mode = mode;
  r.rep = rep;
  const std::string dir = c.dir + "/" + mode;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  ckpt::SaverOptions so;
  so.max_to_keep = 2;
  std::unique_ptr<ckpt::Saver> sync;
  std::unique_ptr<ckpt::AsyncSaver> async;
  if (mode == "sync") sync = ckpt::Saver::Create(m.List(), so).value();
  if (mode.rfind("async", 0) == 0) {
    ckpt::AsyncSaverOptions ao;
    ao.saver = so;
    ao.copy_threads = c.copy_threads;
    ao.staging_budget_bytes = StagingBudget(mode);
    async = ckpt::AsyncSaver::Create(m.List(), ao).value();
  }
  std::vector<double> plain, after;
  int since_save = c.steps;  // steps since the last save
  r.load = LoadAvg();
  const double cpu0 = CpuSeconds(CLOCK_THREAD_CPUTIME_ID);
  const double pcpu0 = CpuSeconds(CLOCK_PROCESS_CPUTIME_ID);
  const auto start = Clock::now();
  for (int s = 1; s <= c.steps; ++s) {
    const auto t0 = Clock::now();
    TrainStep(m, s);
    const auto t1 = Clock::now();
    (since_save < c.every / 2 ? after : plain).push_back(Ms(t0, t1));
    ++since_save;
    if (s % c.every == c.every / 2) since_save = 0;  // a window, even without a save
    if (mode != "none" && s % c.every == c.every / 2) {
      ckpt::SaveArgs args;
      args.global_step = s;
      const auto b0 = Clock::now();
      ckpt::Status st = sync ? sync->Save(dir + "/model", args).status()
                             : async->Save(dir + "/model", args).status();
      const auto b1 = Clock::now();
      if (!st.ok()) {
        std::fprintf(stderr, "stall_bench: save failed: %s\n", st.ToString().c_str());
        std::exit(1);
      }
      r.block_ms.push_back(Ms(b0, b1));
    }
  }
  if (async) {
    const auto w0 = Clock::now();
    ckpt::Status st = async->Wait();
    r.final_wait_ms = Ms(w0, Clock::now());
    if (!st.ok()) {
      std::fprintf(stderr, "stall_bench: background save failed: %s\n", st.ToString().c_str());
      std::exit(1);
    }
  }
  r.total_s = Ms(start, Clock::now()) / 1000;
  r.train_cpu_s = CpuSeconds(CLOCK_THREAD_CPUTIME_ID) - cpu0;
  r.process_cpu_s = CpuSeconds(CLOCK_PROCESS_CPUTIME_ID) - pcpu0;
  r.step_ms = Median(plain);
  r.step_ms_after_save = Median(after);
  // Within-run overhead: the blocks plus what the steps in the windows after
  // each save took beyond this run's own typical step (the median outside
  // the windows). Comparing steps ~1 s apart in one run cancels most of the
  // drift of a shared machine's load that whole-run totals suffer from.
  double extra = 0;
  for (double b : r.block_ms) extra += b;
  for (double a : after) extra += a - r.step_ms;
  r.overhead_ms = extra;
  r.overhead_pct = extra / (r.step_ms * c.steps) * 100;
  async.reset();
  std::filesystem::remove_all(dir);
  return r;
}

// Copies every variable into `dst` (same sizes) with `threads` threads.
void CopyAll(const Model& m, std::vector<char*>& dst, int threads) {
  auto part = [&](int k) {
    for (size_t i = 0; i < m.vars.size(); ++i) {
      const size_t n = m.vars[i].byte_size();
      const size_t lo = n * k / threads, hi = n * (k + 1) / threads;
      std::memcpy(dst[i] + lo, m.vars[i].data() + lo, hi - lo);
    }
  };
  std::vector<std::thread> th;
  for (int k = 1; k < threads; ++k) th.emplace_back(part, k);
  part(0);
  for (auto& t : th) t.join();
}

struct CopyTimes {
  std::vector<double> warm1, warm2, fresh1;
};

CopyTimes MeasureCopies(const Model& m, int reps) {
  CopyTimes out;
  std::vector<std::unique_ptr<char[]>> bufs;
  std::vector<char*> dst;
  for (const ckpt::Tensor& t : m.vars) {
    bufs.emplace_back(new char[t.byte_size()]);
    std::memset(bufs.back().get(), 1, t.byte_size());  // touch every page
    dst.push_back(bufs.back().get());
  }
  for (int i = 0; i < reps; ++i) {
    auto t0 = Clock::now();
    CopyAll(m, dst, 1);
    auto t1 = Clock::now();
    CopyAll(m, dst, 2);
    auto t2 = Clock::now();
    out.warm1.push_back(Ms(t0, t1));
    out.warm2.push_back(Ms(t1, t2));
  }
  for (int i = 0; i < std::max(1, reps / 2); ++i) {
    std::vector<void*> fresh;
    std::vector<char*> fd;
    for (const ckpt::Tensor& t : m.vars) {
      void* p = mmap(nullptr, t.byte_size(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                     -1, 0);
      fresh.push_back(p);
      fd.push_back(static_cast<char*>(p));
    }
    auto t0 = Clock::now();
    CopyAll(m, fd, 1);
    out.fresh1.push_back(Ms(t0, Clock::now()));
    for (size_t k = 0; k < fresh.size(); ++k) munmap(fresh[k], m.vars[k].byte_size());
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  std::vector<std::string> budgets;
  const char* env_dir = std::getenv("CKPT_BENCH_DIR");
  c.dir = std::string(env_dir ? env_dir : CKPT_BENCH_DEFAULT_DIR) + "/stall";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&](const char* flag) -> const char* {
      size_t n = std::strlen(flag);
      return a.compare(0, n, flag) == 0 ? argv[i] + n : nullptr;
    };
    if (const char* v = val("--dir=")) c.dir = std::string(v) + "/stall";
    else if (const char* v = val("--mib=")) c.mib = std::atoll(v);
    else if (const char* v = val("--tensors=")) c.tensors = std::atoi(v);
    else if (const char* v = val("--steps=")) c.steps = std::atoi(v);
    else if (const char* v = val("--every=")) c.every = std::atoi(v);
    else if (const char* v = val("--reps=")) c.reps = std::atoi(v);
    else if (const char* v = val("--copy_threads=")) c.copy_threads = std::atoi(v);
    else if (const char* v = val("--json=")) c.json = v;
    else if (const char* v = val("--wait_quiet=")) c.wait_quiet = std::atoi(v);
    else if (const char* v = val("--modes=")) c.modes = SplitList(v);
    else if (const char* v = val("--staging_budgets_mib=")) budgets = SplitList(v);
    else {
      std::fprintf(stderr, "stall_bench: unknown flag %s (see the top of bench/stall_bench.cc)\n",
                   argv[i]);
      return 2;
    }
  }
  for (const std::string& b : budgets) {
    if (b == "unlimited") {
      c.modes.push_back("async_unlimited");
    } else if (!b.empty() && b.find_first_not_of("0123456789") == std::string::npos) {
      c.modes.push_back("async_b" + b);
    } else {
      std::fprintf(stderr, "stall_bench: --staging_budgets_mib wants MiB or \"unlimited\", got "
                   "\"%s\"\n", b.c_str());
      return 2;
    }
  }
  for (const std::string& mode : c.modes) {
    if (mode != "none" && mode != "sync" && mode != "async" && mode != "async_unlimited" &&
        mode.rfind("async_b", 0) != 0) {
      std::fprintf(stderr, "stall_bench: unknown mode %s\n", mode.c_str());
      return 2;
    }
  }
  const bool has_none = std::find(c.modes.begin(), c.modes.end(), "none") != c.modes.end();
  if (c.every < 2 || c.steps < c.every || c.tensors < 1 || c.reps < 1 || !has_none) {
    std::fprintf(stderr, "stall_bench: need --every >= 2, --steps >= --every, --tensors >= 1, "
                 "mode none (the baseline)\n");
    return 2;
  }
  for (int waited = 0; waited < c.wait_quiet && std::atof(LoadAvg().c_str()) >= 1.0; waited += 5) {
    std::this_thread::sleep_for(std::chrono::seconds(5));
  }
  const std::string load_before = LoadAvg();
  std::fprintf(stderr, "stall_bench: %lld MiB in %d tensors, %d steps, checkpoint every %d, "
               "%d reps, dir %s, load %s\n",
               static_cast<long long>(c.mib), c.tensors, c.steps, c.every, c.reps,
               c.dir.c_str(), load_before.c_str());
  Model m = MakeModel(c);
  CopyTimes copies = MeasureCopies(m, 7);
  std::fprintf(stderr, "memcpy of the variables: %.1f ms (1 thread), %.1f ms (2 threads), "
               "%.1f ms into fresh memory\n",
               Median(copies.warm1), Median(copies.warm2), Median(copies.fresh1));

  const std::vector<std::string>& modes = c.modes;
  std::vector<Run> runs;
  TrainOnce(c, m, "none", -1);  // warm-up (not reported)
  for (int rep = 0; rep < c.reps; ++rep) {
    for (size_t k = 0; k < modes.size(); ++k) {
      const std::string& mode = modes[(k + rep) % modes.size()];  // rotate the order
      Run r = TrainOnce(c, m, mode, rep);
      std::fprintf(stderr, "rep %d %-15s total %.3f s, step %.2f ms (after a save %.2f ms), "
                   "block %s ms, final wait %.1f ms, cpu train %.2f s process %.2f s, "
                   "within-run overhead %.2f%%, load %s\n",
                   rep, mode.c_str(), r.total_s, r.step_ms, r.step_ms_after_save,
                   JsonList(r.block_ms).c_str(), r.final_wait_ms, r.train_cpu_s, r.process_cpu_s,
                   r.overhead_pct, r.load.c_str());
      runs.push_back(r);
    }
  }
  const std::string load_after = LoadAvg();

  // Summary.
  auto totals = [&](const std::string& mode) {
    std::vector<double> v(c.reps);
    for (const Run& r : runs) if (r.mode == mode) v[r.rep] = r.total_s;
    return v;
  };
  const std::vector<double> none = totals("none");
  const double none_med = Median(none);
  const double copy1 = Median(copies.warm1);
  std::ostringstream js;
  js << "{\n  \"bench\": \"stall\",\n";
  js << "  \"config\": {\"mib\": " << c.mib << ", \"tensors\": " << c.tensors
     << ", \"steps\": " << c.steps << ", \"every\": " << c.every << ", \"reps\": " << c.reps
     << ", \"copy_threads\": " << c.copy_threads << ", \"modes\": \"" << [&] {
          std::string joined;
          for (const std::string& mode : modes) joined += (joined.empty() ? "" : ",") + mode;
          return joined;
        }() << "\", \"checkpoints_per_run\": "
     << c.steps / c.every << ", \"dir\": \"" << c.dir << "\", \"variable_bytes\": " << m.bytes
     << "},\n";
  js << "  \"load_avg_before\": \"" << load_before << "\", \"load_avg_after\": \"" << load_after
     << "\",\n";
  js << "  \"memcpy_ms\": {\"one_thread\": " << copy1 << ", \"two_threads\": "
     << Median(copies.warm2) << ", \"fresh_memory_one_thread\": " << Median(copies.fresh1)
     << ", \"one_thread_all\": " << JsonList(copies.warm1) << "},\n";
  js << "  \"runs\": [\n";
  for (size_t i = 0; i < runs.size(); ++i) {
    const Run& r = runs[i];
    js << "    {\"mode\": \"" << r.mode << "\", \"rep\": " << r.rep << ", \"total_s\": "
       << r.total_s << ", \"step_ms\": " << r.step_ms << ", \"step_ms_after_save\": "
       << r.step_ms_after_save << ", \"block_ms\": " << JsonList(r.block_ms)
       << ", \"final_wait_ms\": " << r.final_wait_ms << ", \"train_cpu_s\": " << r.train_cpu_s
       << ", \"process_cpu_s\": " << r.process_cpu_s << ", \"overhead_ms\": " << r.overhead_ms
       << ", \"overhead_pct\": " << r.overhead_pct << ", \"load\": \"" << r.load << "\"}"
       << (i + 1 < runs.size() ? "," : "")
       << "\n";
  }
  js << "  ],\n  \"summary\": {\n";
  std::fprintf(stderr, "\nsummary (medians over %d reps; load before %s, after %s)\n", c.reps,
               load_before.c_str(), load_after.c_str());
  for (size_t k = 0; k < modes.size(); ++k) {
    const std::string& mode = modes[k];
    std::vector<double> t = totals(mode), blocks, steps, paired, cpu, pcpu, within;
    for (const Run& r : runs) {
      if (r.mode != mode) continue;
      blocks.insert(blocks.end(), r.block_ms.begin(), r.block_ms.end());
      steps.push_back(r.step_ms);
      cpu.push_back(r.train_cpu_s);
      within.push_back(r.overhead_pct);
      pcpu.push_back(r.process_cpu_s);
    }
    for (int rep = 0; rep < c.reps; ++rep) paired.push_back((t[rep] / none[rep] - 1) * 100);
    const double med = Median(t);
    const double slowdown = (med / none_med - 1) * 100;
    js << "    \"" << mode << "\": {\"total_s\": " << med << ", \"step_ms\": " << Median(steps)
       << ", \"train_cpu_s\": " << Median(cpu) << ", \"process_cpu_s\": " << Median(pcpu)
       << ", \"overhead_pct_within_run\": " << Median(within);
    if (mode.rfind("async", 0) == 0) {
      js << ", \"staging_budget_bytes\": " << StagingBudget(mode);
    }
    if (mode != "none") {
      js << ", \"block_ms\": " << Median(blocks) << ", \"block_ms_max\": "
         << *std::max_element(blocks.begin(), blocks.end())
         << ", \"block_over_memcpy\": " << Median(blocks) / copy1
         << ", \"slowdown_pct\": " << slowdown << ", \"slowdown_pct_paired\": " << Median(paired);
    }
    js << "}" << (k + 1 < modes.size() ? "," : "") << "\n";
    std::fprintf(stderr, "  %-15s total %.3f s, step %.2f ms, cpu train %.2f s process %.2f s, "
                 "within-run overhead %.2f%%",
                 mode.c_str(), med, Median(steps), Median(cpu), Median(pcpu), Median(within));
    if (mode != "none") {
      std::fprintf(stderr, ", block %.1f ms (%.2fx memcpy %.1f ms), slowdown %.2f%% (paired %.2f%%)",
                   Median(blocks), Median(blocks) / copy1, copy1, slowdown, Median(paired));
    }
    std::fprintf(stderr, "\n");
  }
  // The targets, from the async medians (when that mode ran).
  if (std::find(modes.begin(), modes.end(), "async") == modes.end()) {
    js << "  }\n}\n";
  } else {
    std::vector<double> async_blocks, async_within;
    for (const Run& r : runs) {
      if (r.mode != "async") continue;
      async_blocks.insert(async_blocks.end(), r.block_ms.begin(), r.block_ms.end());
      async_within.push_back(r.overhead_pct);
    }
    const double async_ratio = Median(async_blocks) / copy1;
    const double async_slowdown = (Median(totals("async")) / none_med - 1) * 100;
    js << "  },\n  \"targets\": {\"async_block_over_memcpy\": " << async_ratio
       << ", \"async_block_target\": 1.5, \"async_block_met\": "
       << (async_ratio <= 1.5 ? "true" : "false") << ", \"async_slowdown_pct\": " << async_slowdown
       << ", \"async_slowdown_target_pct\": 3.5, \"async_slowdown_met\": "
       << (async_slowdown <= 3.5 ? "true" : "false") << ", \"async_overhead_pct_within_run\": "
       << Median(async_within) << ", \"async_overhead_within_run_met\": "
       << (Median(async_within) <= 3.5 ? "true" : "false") << "}\n}\n";
  }
  std::fputs(js.str().c_str(), stdout);
  if (!c.json.empty()) {
    std::ofstream f(c.json);
    f << js.str();
    if (!f) {
      std::fprintf(stderr, "stall_bench: cannot write %s\n", c.json.c_str());
      return 1;
    }
  }
  return 0;
}

// rss_bench: peak resident memory while saving and restoring a large model.
//
// Every case runs in a fresh process (this binary re-executed with --case=),
// so each peak (VmHWM from /proc/self/status) is its own. A case allocates
// the model (--mib MiB of float32 in --tensors tensors, every page written)
// when it needs one, records VmRSS ("before"), does its work, and reports
// VmHWM ("peak") plus RssAnon/RssFile at the end of the work:
//   model_only        nothing else (what the process costs with the model)
//   save_sync         Saver::Save, durable, on disk
//   save_async        AsyncSaver::Create (allocates the snapshot) + Save + Wait,
//                     default options (staging budget 256 MiB)
//   save_async_b<N>   the same with a staging budget of N MiB (variables that
//                     do not fit are written from the model while Save()
//                     blocks); save_async_unlimited: every variable staged.
//                     These also report save_block_ms (the Save() call),
//                     wait_ms (the Wait() after it) and snapshot_mib
//   restore_saver     Saver::Restore into the model's tensors
//   restore_saver_in_place  the same with RestoreOptions::in_place (values
//                     read straight into the tensors, no temporaries)
//   restore_readinto  BundleReader::ReadInto every tensor into the model's tensors
//   restore_mmap_view BundleReader(use_mmap) + ReadView of every tensor (CRC
//                     checked, so every page is touched); no model allocated:
//                     the views are the model, as file-backed resident pages
// Reported per case: peak_mib, before_mib, peak_minus_before_mib,
// peak_minus_model_mib (the target: save_sync <= model + 64 MiB, i.e.
// peak_minus_model_mib <= 64 for a process that holds only the model).
//
// Flags: --dir=DIR (default $CKPT_BENCH_DIR, else the build tree's
// bench/data) --mib=1024 --tensors=16 --json=PATH --cases=a,b,...
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "ckpt/async_saver.h"
#include "ckpt/bundle.h"
#include "ckpt/saver.h"
#include "ckpt/tensor.h"
#include "proc_status.h"

#ifndef CKPT_BENCH_DEFAULT_DIR
#define CKPT_BENCH_DEFAULT_DIR "/tmp/ckpt_bench"
#endif

namespace {

struct Config {
  std::string dir;
  int64_t mib = 1024;
  int tensors = 16;
  std::string json;
  std::string cases =
      "model_only,save_sync,save_async_b0,save_async_b64,save_async_b256,save_async_unlimited,"
      "restore_saver,restore_saver_in_place,restore_readinto,restore_mmap_view";
  std::string one_case;  // set in a child
};

using ckpt_bench::StatusKb;

std::string LoadAvg() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

std::string Key(int i) {
  char name[32];
  std::snprintf(name, sizeof(name), "layer_%02d/kernel", i);
  return name;
}

std::vector<int64_t> Sizes(const Config& c) {
  const int64_t total = c.mib * (int64_t{1} << 20) / 4;
  std::vector<int64_t> out;
  for (int i = 0; i < c.tensors; ++i) out.push_back(total / c.tensors + (i == 0 ? total % c.tensors : 0));
  return out;
}

std::vector<ckpt::Tensor> MakeModel(const Config& c, bool fill) {
  std::vector<ckpt::Tensor> vars;
  int i = 0;
  for (int64_t n : Sizes(c)) {
    ckpt::Tensor t = ckpt::Tensor::Allocate(ckpt::DataType::kFloat, {n}).value();  // zero-filled
    if (fill) {
      float* f = t.mutable_flat<float>();
      for (int64_t k = 0; k < n; ++k) f[k] = static_cast<float>((k * 2654435761u + i) % 1000003);
    }
    vars.push_back(std::move(t));
    ++i;
  }
  return vars;
}

ckpt::VarList List(std::vector<ckpt::Tensor>& vars) {
  ckpt::VarList l;
  for (size_t i = 0; i < vars.size(); ++i) l.push_back({Key(static_cast<int>(i)), &vars[i], std::nullopt, {}, ""});
  return l;
}

void Check(const ckpt::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "rss_bench: %s: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

// Runs one case in this process and prints its JSON object.
int RunCase(const Config& c) {
  const std::string save_dir = c.dir + "/save";
  const std::string ref = c.dir + "/ref/model-1";  // written by "prepare"
  const std::string& k = c.one_case;
  ckpt::SaveArgs args;
  args.global_step = 1;
  std::vector<ckpt::Tensor> model;
  const bool needs_model = k != "restore_mmap_view";
  if (needs_model) {
    model = MakeModel(c, /*fill=*/k.rfind("restore", 0) != 0);
  }
  const int64_t before_kb = StatusKb("VmRSS");
  double checksum = 0;
  std::unique_ptr<ckpt::BundleReader> keep_reader;  // views stay mapped until the end
  std::string extra;  // case-specific JSON fields
  if (k == "prepare") {
    std::filesystem::create_directories(c.dir + "/ref");
    auto saver = ckpt::Saver::Create(List(model)).value();
    Check(saver->Save(c.dir + "/ref/model", args).status(), "prepare");
  } else if (k == "model_only") {
  } else if (k == "save_sync") {
    std::filesystem::create_directories(save_dir);
    auto saver = ckpt::Saver::Create(List(model)).value();
    Check(saver->Save(save_dir + "/model", args).status(), "save_sync");
  } else if (k == "save_async" || k.rfind("save_async_", 0) == 0) {
    std::filesystem::create_directories(save_dir);
    ckpt::AsyncSaverOptions ao;
    if (k == "save_async_unlimited") {
      ao.staging_budget_bytes = ckpt::kUnlimitedStagingBudget;
    } else if (k.rfind("save_async_b", 0) == 0) {
      ao.staging_budget_bytes = std::atoll(k.c_str() + std::strlen("save_async_b")) << 20;
    } else if (k != "save_async") {
      std::fprintf(stderr, "rss_bench: unknown case %s\n", k.c_str());
      return 2;
    }
    auto saver = ckpt::AsyncSaver::Create(List(model), ao).value();
    using Clock = std::chrono::steady_clock;
    auto ms = [](Clock::time_point a, Clock::time_point b) {
      return std::chrono::duration<double, std::milli>(b - a).count();
    };
    const auto t0 = Clock::now();
    Check(saver->Save(save_dir + "/model", args).status(), k.c_str());
    const auto t1 = Clock::now();
    Check(saver->Wait(), k.c_str());
    const auto t2 = Clock::now();
    char buf[256];
    std::snprintf(buf, sizeof(buf),
                  ", \"staging_budget_mib\": %.1f, \"snapshot_mib\": %.1f, "
                  "\"save_block_ms\": %.1f, \"wait_ms\": %.1f",
                  ao.staging_budget_bytes < 0 ? -1.0 : ao.staging_budget_bytes / 1048576.0,
                  saver->snapshot_bytes() / 1048576.0, ms(t0, t1), ms(t1, t2));
    extra = buf;
  } else if (k == "restore_saver") {
    auto saver = ckpt::Saver::Create(List(model)).value();
    Check(saver->Restore(ref), "restore_saver");
  } else if (k == "restore_saver_in_place") {
    auto saver = ckpt::Saver::Create(List(model)).value();
    ckpt::RestoreOptions ro;
    ro.in_place = true;
    Check(saver->Restore(ref, ro), "restore_saver_in_place");
  } else if (k == "restore_readinto") {
    auto reader = ckpt::BundleReader::Open(ref).value();
    for (size_t i = 0; i < model.size(); ++i) {
      Check(reader->ReadInto(Key(static_cast<int>(i)), &model[i]), "restore_readinto");
    }
  } else if (k == "restore_mmap_view") {
    ckpt::BundleReaderOptions ro;
    ro.use_mmap = true;
    keep_reader = ckpt::BundleReader::Open(ref, ro).value();
    for (int i = 0; i < c.tensors; ++i) {
      auto view = keep_reader->ReadView(Key(i));
      Check(view.status(), "restore_mmap_view");
      checksum += view->flat<float>()[view->num_elements() - 1];
    }
  } else {
    std::fprintf(stderr, "rss_bench: unknown case %s\n", k.c_str());
    return 2;
  }
  if (needs_model && k.rfind("restore", 0) == 0) {
    checksum += model.back().flat<float>()[model.back().num_elements() - 1];
  }
  const int64_t peak_kb = StatusKb("VmHWM");
  const int64_t anon_kb = StatusKb("RssAnon"), file_kb = StatusKb("RssFile");
  const double model_mib = static_cast<double>(c.mib);
  std::printf("{\"case\": \"%s\", \"model_mib\": %.1f, \"before_mib\": %.1f, \"peak_mib\": %.1f, "
              "\"peak_minus_before_mib\": %.1f, \"peak_minus_model_mib\": %.1f, "
              "\"end_rss_anon_mib\": %.1f, \"end_rss_file_mib\": %.1f, \"checksum\": %g%s}\n",
              k.c_str(), model_mib, before_kb / 1024.0, peak_kb / 1024.0,
              (peak_kb - before_kb) / 1024.0, peak_kb / 1024.0 - model_mib, anon_kb / 1024.0,
              file_kb / 1024.0, checksum, extra.c_str());
  return 0;
}

// Runs `name` in a fresh process; returns its JSON line.
std::string RunChild(const Config& c, const std::string& name) {
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) return "";
  exe[n] = 0;
  std::ostringstream cmd;
  cmd << "'" << exe << "' --case=" << name << " --mib=" << c.mib << " --tensors=" << c.tensors
      << " --dir='" << c.dir << "'";
  FILE* p = popen(cmd.str().c_str(), "r");
  if (p == nullptr) return "";
  std::string out;
  char buf[4096];
  while (fgets(buf, sizeof(buf), p) != nullptr) out += buf;
  const int rc = pclose(p);
  if (rc != 0) {
    std::fprintf(stderr, "rss_bench: case %s failed (status %d)\n", name.c_str(), rc);
    return "";
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  const char* env_dir = std::getenv("CKPT_BENCH_DIR");
  c.dir = std::string(env_dir ? env_dir : CKPT_BENCH_DEFAULT_DIR) + "/rss";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&](const char* flag) -> const char* {
      size_t n = std::strlen(flag);
      return a.compare(0, n, flag) == 0 ? argv[i] + n : nullptr;
    };
    if (const char* v = val("--dir=")) c.dir = v;
    else if (const char* v = val("--mib=")) c.mib = std::atoll(v);
    else if (const char* v = val("--tensors=")) c.tensors = std::atoi(v);
    else if (const char* v = val("--json=")) c.json = v;
    else if (const char* v = val("--cases=")) c.cases = v;
    else if (const char* v = val("--case=")) c.one_case = v;
    else {
      std::fprintf(stderr, "rss_bench: unknown flag %s (see the top of bench/rss_bench.cc)\n",
                   argv[i]);
      return 2;
    }
  }
  if (!c.one_case.empty()) return RunCase(c);
  std::filesystem::create_directories(c.dir);
  const std::string load_before = LoadAvg();
  std::fprintf(stderr, "rss_bench: %lld MiB in %d tensors, dir %s, load %s\n",
               static_cast<long long>(c.mib), c.tensors, c.dir.c_str(), load_before.c_str());
  if (RunChild(c, "prepare").empty()) return 1;
  std::vector<std::string> results;
  std::stringstream cases(c.cases);
  std::string name;
  while (std::getline(cases, name, ',')) {
    std::string r = RunChild(c, name);
    if (r.empty()) return 1;
    std::fprintf(stderr, "%s\n", r.c_str());
    results.push_back(r);
    std::filesystem::remove_all(c.dir + "/save");
  }
  std::filesystem::remove_all(c.dir);
  std::ostringstream js;
  js << "{\n  \"bench\": \"rss\",\n  \"config\": {\"mib\": " << c.mib << ", \"tensors\": "
     << c.tensors << ", \"dir\": \"" << c.dir << "\"},\n  \"load_avg_before\": \"" << load_before
     << "\", \"load_avg_after\": \"" << LoadAvg() << "\",\n  \"cases\": [\n";
  for (size_t i = 0; i < results.size(); ++i) {
    js << "    " << results[i] << (i + 1 < results.size() ? "," : "") << "\n";
  }
  js << "  ]\n}\n";
  std::fputs(js.str().c_str(), stdout);
  if (!c.json.empty()) {
    std::ofstream f(c.json);
    f << js.str();
    if (!f) return 1;
  }
  return 0;
}

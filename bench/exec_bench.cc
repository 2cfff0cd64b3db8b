// exec_bench: inference latency and throughput of graphs TensorFlow wrote,
// run by ckpt: ImportMetaGraph + Session::Restore, then Session::Run on the
// same inputs TF used (bench/tf_exec_models.py writes the models and the
// inputs; bench/tf_session_run.py times TF's session.run on them).
//
// For each model (iris, cnn) and batch size (1, 100): the outputs are first
// checked against TF's (float: |ckpt - tf| <= 1e-5 + 1e-5 * |tf|; integers
// exactly), so a fast wrong answer fails the benchmark. Then Run is timed
// one call at a time for about --seconds per repetition, --reps times
// (the (model, batch) cases interleaved in each repetition).
//
// Output: JSON on stdout (or --out FILE):
//   {"results": [{"model": "iris", "batch": 1, "runs": N,
//     "latency_us": {"median": x, "p90": x, "mean": x},
//     "examples_per_sec": [per repetition], "max_abs_diff": x,
//     "setup_ms": import + restore, "flops_per_example": x,
//     "cpu_us_per_run": user + system CPU time of the process per timed Run
//     (all threads; robust to other load, unlike wall time),
//     "sys_us_per_run": its system part, "page_faults_per_run": minor faults}],
//    "gemm_gflops": x, "gemm_isa": "avx512"}
// gemm_gflops: the float GEMM the MatMul and Conv2D kernels use (GemmF32,
// src/ops/gemm.h, on its instruction set gemm_isa, split over the cores) on
// 512x512 by 512x512: the compute roof those kernels reach at best; the
// report measures each row's distance from it.
// Flags: --models=DIR (tf_exec_models.py's --out), --seconds=S (default 1),
//        --reps=N (default 3), --out=FILE, --only=MODEL, --batch=N (one
//        batch size only; for profiling).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/checkpoint_reader.h"
#include "ckpt/env.h"
#include "ckpt/graph_import.h"
#include "ckpt/session.h"
#include "ckpt/status.h"
#include "ckpt/tensor.h"
#include "ops/gemm.h"

namespace {

using ckpt::Result;
using ckpt::Status;
using ckpt::Tensor;
using Clock = std::chrono::steady_clock;

struct Flags {
  std::string models;
  double seconds = 1.0;
  int reps = 3;
  std::string out;
  std::string only;
  int64_t batch = 0;  // 0: every batch size
};

bool TakeFlag(const char* arg, const char* name, std::string* value) {
  size_t n = std::strlen(name);
  if (std::strncmp(arg, name, n) != 0 || arg[n] != '=') return false;
  *value = arg + n + 1;
  return true;
}

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// One (model, batch) case: a session on the restored graph, its feeds and
// fetches, TF's outputs, and the latencies measured.
struct Case {
  std::string model;
  int64_t batch = 0;
  std::unique_ptr<ckpt::Session> session;
  std::vector<std::pair<std::string, Tensor>> feeds;
  std::vector<std::string> fetches;
  std::vector<Tensor> expected;
  double setup_ms = 0;
  int64_t flops_per_example = 0;
  double max_abs_diff = 0;
  std::vector<double> latencies;         // seconds, every timed Run
  std::vector<double> examples_per_sec;  // one per repetition
  double cpu_s = 0, sys_s = 0;           // over the timed runs
  int64_t page_faults = 0;
};

struct Usage {
  double user_s, sys_s;
  int64_t minflt;
};

Usage NowUsage() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec * 1e-6; };
  return {sec(u.ru_utime), sec(u.ru_stime), static_cast<int64_t>(u.ru_minflt)};
}

template <typename T>
double AsDouble(const Tensor& t, int64_t i) {
  return static_cast<double>(t.flat<T>()[i]);
}

// Max |got - want| over the elements; an error for a dtype/shape mismatch or
// a difference beyond tolerance.
Status Compare(const Case& c, size_t j, const Tensor& got, const Tensor& want, double* max_diff) {
  const std::string what = c.model + " batch " + std::to_string(c.batch) + " fetch '" +
                           c.fetches[j] + "'";
  if (got.dtype() != want.dtype() || got.shape() != want.shape()) {
    return ckpt::InternalError(what + ": ckpt gives " +
                               std::string(ckpt::DataTypeName(got.dtype())) +
                               got.shape().DebugString() + ", TF gives " +
                               std::string(ckpt::DataTypeName(want.dtype())) +
                               want.shape().DebugString());
  }
  for (int64_t i = 0; i < got.num_elements(); ++i) {
    double g, w;
    bool exact = false;
    switch (got.dtype()) {
      case ckpt::DataType::kFloat:
        g = AsDouble<float>(got, i), w = AsDouble<float>(want, i);
        break;
      case ckpt::DataType::kInt64:
        g = AsDouble<int64_t>(got, i), w = AsDouble<int64_t>(want, i), exact = true;
        break;
      case ckpt::DataType::kInt32:
        g = AsDouble<int32_t>(got, i), w = AsDouble<int32_t>(want, i), exact = true;
        break;
      default:
        return ckpt::UnimplementedError(what + ": cannot compare dtype " +
                                        std::string(ckpt::DataTypeName(got.dtype())));
    }
    const double d = std::fabs(g - w);
    *max_diff = std::max(*max_diff, d);
    if (exact ? d != 0 : !(d <= 1e-5 + 1e-5 * std::fabs(w))) {
      return ckpt::InternalError(what + ": element " + std::to_string(i) + " is " +
                                 std::to_string(g) + ", TF computed " + std::to_string(w));
    }
  }
  return Status::OK();
}

Result<std::vector<Case>> LoadCases(const Flags& f) {
  CKPT_ASSIGN_OR_RETURN(std::unique_ptr<ckpt::CheckpointReader> io,
                        ckpt::CheckpointReader::Open(f.models + "/io"));
  std::vector<Case> cases;
  for (const std::string model : {"iris", "cnn"}) {
    if (!f.only.empty() && f.only != model) continue;
    CKPT_ASSIGN_OR_RETURN(Tensor feed_names, io->GetTensor(model + "/feeds"));
    CKPT_ASSIGN_OR_RETURN(Tensor fetch_names, io->GetTensor(model + "/fetches"));
    CKPT_ASSIGN_OR_RETURN(Tensor batches, io->GetTensor(model + "/batches"));
    CKPT_ASSIGN_OR_RETURN(Tensor flops, io->GetTensor(model + "/flops_per_example"));
    for (int64_t b = 0; b < batches.num_elements(); ++b) {
      Case c;
      c.model = model;
      c.batch = batches.flat<int64_t>()[b];
      if (f.batch != 0 && f.batch != c.batch) continue;
      c.flops_per_example = flops.flat<int64_t>()[0];
      const std::string key = model + "/b" + std::to_string(c.batch) + "/";
      auto t0 = Clock::now();
      CKPT_ASSIGN_OR_RETURN(auto graph, ckpt::ImportMetaGraph(ckpt::Env::Posix(),
                                                              f.models + "/" + model +
                                                                  "/model.meta"));
      CKPT_ASSIGN_OR_RETURN(c.session, ckpt::Session::Create(graph));
      CKPT_RETURN_IF_ERROR(c.session->Restore(f.models + "/" + model + "/model"));
      c.setup_ms = Seconds(t0, Clock::now()) * 1e3;
      for (size_t i = 0; i < feed_names.strings().size(); ++i) {
        CKPT_ASSIGN_OR_RETURN(Tensor v, io->GetTensor(key + "feed_" + std::to_string(i)));
        c.feeds.emplace_back(feed_names.strings()[i], std::move(v));
      }
      for (size_t j = 0; j < fetch_names.strings().size(); ++j) {
        c.fetches.push_back(fetch_names.strings()[j]);
        CKPT_ASSIGN_OR_RETURN(Tensor v, io->GetTensor(key + "fetch_" + std::to_string(j)));
        c.expected.push_back(std::move(v));
      }
      cases.push_back(std::move(c));
    }
  }
  return cases;
}

// Runs once and checks every fetch against TF's value.
Status Verify(Case* c) {
  CKPT_ASSIGN_OR_RETURN(std::vector<Tensor> got, c->session->Run(c->feeds, c->fetches));
  if (got.size() != c->expected.size()) return ckpt::InternalError("wrong number of fetches");
  for (size_t j = 0; j < got.size(); ++j) {
    CKPT_RETURN_IF_ERROR(Compare(*c, j, got[j], c->expected[j], &c->max_abs_diff));
  }
  return Status::OK();
}

// Times Run calls for about `seconds` (at least 10 calls).
Status Time(Case* c, double seconds) {
  for (int i = 0; i < 10; ++i) CKPT_RETURN_IF_ERROR(c->session->Run(c->feeds, c->fetches).status());
  const Usage before = NowUsage();
  const auto start = Clock::now();
  int64_t runs = 0;
  Clock::time_point now = start;
  while (runs < 10 || Seconds(start, now) < seconds) {
    const auto t0 = Clock::now();
    Result<std::vector<Tensor>> r = c->session->Run(c->feeds, c->fetches);
    now = Clock::now();
    if (!r.ok()) return r.status();
    c->latencies.push_back(Seconds(t0, now));
    ++runs;
  }
  c->examples_per_sec.push_back(static_cast<double>(runs * c->batch) / Seconds(start, now));
  const Usage after = NowUsage();
  c->cpu_s += (after.user_s - before.user_s) + (after.sys_s - before.sys_s);
  c->sys_s += after.sys_s - before.sys_s;
  c->page_faults += after.minflt - before.minflt;
  return Status::OK();
}

// GemmF32's GFLOP/s on 512^3, best of 5.
double GemmGflops() {
  const int64_t n = 512;
  std::vector<float> a(n * n), b(n * n), c(n * n);
  for (int64_t i = 0; i < n * n; ++i) a[i] = b[i] = static_cast<float>(i % 7) - 3.f;
  double best = 0;
  for (int r = 0; r < 5; ++r) {
    const auto t0 = Clock::now();
    ckpt::ops::GemmF32(false, false, n, n, n, a.data(), b.data(), c.data());
    best = std::max(best, 2.0 * n * n * n / Seconds(t0, Clock::now()) / 1e9);
  }
  if (c[0] == 12345.f) std::fputs("", stderr);  // keep the product
  return best;
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

int Fail(const Status& s) {
  std::fprintf(stderr, "exec_bench: %s\n", s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string v;
    if (TakeFlag(argv[i], "--models", &v)) {
      f.models = v;
    } else if (TakeFlag(argv[i], "--seconds", &v)) {
      f.seconds = std::atof(v.c_str());
    } else if (TakeFlag(argv[i], "--reps", &v)) {
      f.reps = std::atoi(v.c_str());
    } else if (TakeFlag(argv[i], "--out", &v)) {
      f.out = v;
    } else if (TakeFlag(argv[i], "--only", &v)) {
      f.only = v;
    } else if (TakeFlag(argv[i], "--batch", &v)) {
      f.batch = std::atoll(v.c_str());
    } else {
      std::fprintf(stderr, "exec_bench: unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  if (f.models.empty() || f.reps <= 0 || f.seconds <= 0) {
    std::fprintf(stderr, "exec_bench: need --models=DIR, --reps > 0, --seconds > 0\n");
    return 2;
  }
  Result<std::vector<Case>> cases = LoadCases(f);
  if (!cases.ok()) return Fail(cases.status());
  for (Case& c : *cases) {
    Status s = Verify(&c);
    if (!s.ok()) return Fail(s);
  }
  for (int r = 0; r < f.reps; ++r) {
    for (Case& c : *cases) {
      Status s = Time(&c, f.seconds / f.reps);
      if (!s.ok()) return Fail(s);
    }
  }
  std::ostringstream js;
  js << "{\"results\": [";
  for (size_t i = 0; i < cases->size(); ++i) {
    const Case& c = (*cases)[i];
    double sum = 0;
    for (double l : c.latencies) sum += l;
    js << (i ? ",\n " : "\n ") << "{\"model\": \"" << c.model << "\", \"batch\": " << c.batch
       << ", \"runs\": " << c.latencies.size() << ", \"latency_us\": {\"median\": "
       << Percentile(c.latencies, 0.5) * 1e6 << ", \"p90\": " << Percentile(c.latencies, 0.9) * 1e6
       << ", \"mean\": " << sum / static_cast<double>(c.latencies.size()) * 1e6
       << "}, \"examples_per_sec\": [";
    for (size_t k = 0; k < c.examples_per_sec.size(); ++k) {
      js << (k ? ", " : "") << c.examples_per_sec[k];
    }
    js << "], \"max_abs_diff\": " << c.max_abs_diff << ", \"setup_ms\": " << c.setup_ms
       << ", \"flops_per_example\": " << c.flops_per_example << ", \"cpu_us_per_run\": "
       << c.cpu_s / static_cast<double>(c.latencies.size()) * 1e6 << ", \"sys_us_per_run\": "
       << c.sys_s / static_cast<double>(c.latencies.size()) * 1e6 << ", \"page_faults_per_run\": "
       << static_cast<double>(c.page_faults) / static_cast<double>(c.latencies.size()) << "}";
    std::fprintf(stderr, "exec_bench: %s batch %lld: median %.1f us, p90 %.1f us, %.0f ex/s\n",
                 c.model.c_str(), static_cast<long long>(c.batch),
                 Percentile(c.latencies, 0.5) * 1e6, Percentile(c.latencies, 0.9) * 1e6,
                 c.examples_per_sec.back());
  }
  js << "\n], \"gemm_gflops\": " << GemmGflops() << ", \"gemm_isa\": \""
     << ckpt::ops::GemmF32Isa() << "\"}\n";
  if (f.out.empty()) {
    std::fputs(js.str().c_str(), stdout);
  } else {
    std::ofstream(f.out) << js.str();
  }
  return 0;
}

// `ckpt diff`: see diff.h.
#include "diff.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <string>

#include "ckpt/convert.h"
#include "ckpt/escape.h"
#include "command.h"
#include "name_map_flags.h"
#include "tensor_elements.h"

namespace ckpt::tools {
namespace {

struct DiffFlags {
  std::string a;
  std::string b;
  Closeness close;
  NameMapFlags names;
};

// numpy.isclose for one pair of reals (and the differences it reports).
bool IsClose(double a, double b, const Closeness& c) {
  if (std::isnan(a) || std::isnan(b)) return c.equal_nan && std::isnan(a) && std::isnan(b);
  if (std::isinf(a) || std::isinf(b)) return a == b;
  return std::fabs(a - b) <= c.atol + c.rtol * std::fabs(b);
}

void Record(double abs_diff, double b_abs, ValueDiff* d) {
  if (std::isnan(abs_diff)) return;
  d->max_abs = std::max(d->max_abs, abs_diff);
  if (abs_diff > 0) {
    d->max_rel = std::max(
        d->max_rel, b_abs == 0 ? std::numeric_limits<double>::infinity() : abs_diff / b_abs);
  }
}

// "%g" with 6 digits: "0.5", "1e-07", "inf".
std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

// An integer element exactly (64-bit values do not fit a double).
long double IntegerValue(const Tensor& t, int64_t i) {
  return std::stold(IntegerString(t, i));
}

}  // namespace

ValueDiff CompareValues(const Tensor& a, const Tensor& b, const Closeness& close) {
  ValueDiff d;
  const int64_t n = a.num_elements();
  const DataType dtype = a.dtype();
  if (dtype == DataType::kString) {
    for (int64_t i = 0; i < n; ++i) d.differing += a.strings()[i] != b.strings()[i];
    return d;
  }
  if (a.bytes() == b.bytes() && !IsFloating(dtype) && !IsComplex(dtype)) return d;
  for (int64_t i = 0; i < n; ++i) {
    if (dtype == DataType::kBool) {
      const bool x = Load<uint8_t>(a, i) != 0, y = Load<uint8_t>(b, i) != 0;
      d.differing += x != y;
      Record(x == y ? 0 : 1, y ? 1 : 0, &d);
    } else if (IsComplex(dtype)) {
      const auto [ar, ai] = ComplexValue(a, i);
      const auto [br, bi] = ComplexValue(b, i);
      const double diff = std::hypot(ar - br, ai - bi), b_abs = std::hypot(br, bi);
      const bool nan = std::isnan(diff);
      const bool inf = std::isinf(ar) || std::isinf(ai) || std::isinf(br) || std::isinf(bi);
      bool ok;
      if (nan) {
        ok = close.equal_nan && (std::isnan(ar) || std::isnan(ai)) &&
             (std::isnan(br) || std::isnan(bi));
      } else if (inf) {
        ok = ar == br && ai == bi;
      } else {
        ok = diff <= close.atol + close.rtol * b_abs;
      }
      d.differing += !ok;
      Record(diff, b_abs, &d);
    } else if (IsIntegerLike(dtype)) {
      const long double x = IntegerValue(a, i), y = IntegerValue(b, i);
      const double diff = static_cast<double>(std::fabs(x - y));
      const double b_abs = static_cast<double>(std::fabs(y));
      d.differing += x != y && !(diff <= close.atol + close.rtol * b_abs);
      Record(diff, b_abs, &d);
    } else {
      const double x = RealValue(a, i), y = RealValue(b, i);
      d.differing += !IsClose(x, y, close);
      if (!(std::isinf(x) && x == y)) Record(std::fabs(x - y), std::fabs(y), &d);
    }
  }
  return d;
}

namespace {

std::string Describe(const VariableInfo& v) {
  return EscapeForDisplay(v.name) + " (" + std::string(DataTypeName(v.dtype)) + ") " +
         v.shape.DebugString();
}

// mapped name -> the source's tensor.
Result<std::map<std::string, VariableInfo>> Mapped(const TensorSource& source,
                                                   const std::vector<NameRule>& rules,
                                                   bool default_rules) {
  CKPT_ASSIGN_OR_RETURN(auto names,
                        MapNames(source.tensors(), RulesFor(source, rules, default_rules)));
  std::map<std::string, VariableInfo> by_source, mapped;
  for (const VariableInfo& v : source.tensors()) by_source[v.name] = v;
  for (const auto& [name, src] : names) mapped[name] = by_source[src];
  return mapped;
}

Result<int> Diff(const DiffFlags& flags, std::ostream& out) {
  CKPT_ASSIGN_OR_RETURN(std::vector<NameRule> rules, flags.names.Parse());
  const bool defaults = !flags.names.no_default;
  Env* env = Env::Posix();
  CKPT_ASSIGN_OR_RETURN(auto a, OpenTensorSource(env, flags.a, TensorFormatFromPath(flags.a)));
  CKPT_ASSIGN_OR_RETURN(auto b, OpenTensorSource(env, flags.b, TensorFormatFromPath(flags.b)));
  CKPT_ASSIGN_OR_RETURN(auto in_a, Mapped(*a, rules, defaults));
  CKPT_ASSIGN_OR_RETURN(auto in_b, Mapped(*b, rules, defaults));

  int equal = 0, differ = 0;
  for (const auto& [name, va] : in_a) {
    if (!in_b.count(name)) {
      out << "only in A: " << Describe(va) << "\n";
      ++differ;
    }
  }
  for (const auto& [name, vb] : in_b) {
    if (!in_a.count(name)) {
      out << "only in B: " << Describe(vb) << "\n";
      ++differ;
    }
  }
  for (const auto& [name, va] : in_a) {
    auto it = in_b.find(name);
    if (it == in_b.end()) continue;
    const VariableInfo& vb = it->second;
    if (va.dtype != vb.dtype || va.shape != vb.shape) {
      out << "changed: " << EscapeForDisplay(name) << ": " << DataTypeName(va.dtype) << " "
          << va.shape.DebugString() << " -> " << DataTypeName(vb.dtype) << " "
          << vb.shape.DebugString() << "\n";
      ++differ;
      continue;
    }
    CKPT_ASSIGN_OR_RETURN(Tensor ta, a->Read(va.name));
    CKPT_ASSIGN_OR_RETURN(Tensor tb, b->Read(vb.name));
    const ValueDiff d = CompareValues(ta, tb, flags.close);
    if (d.differing == 0) {
      ++equal;
      continue;
    }
    ++differ;
    out << "values differ: " << EscapeForDisplay(name) << ": " << d.differing << " of "
        << ta.num_elements() << " elements, max abs diff " << Num(d.max_abs)
        << ", max rel diff " << Num(d.max_rel) << "\n";
  }
  out << equal << " tensors equal, " << differ << " differ\n";
  return differ == 0 ? 0 : 1;
}

}  // namespace

void AddDiffCommand(CLI::App* app, std::ostream* out, std::ostream* err, int* exit_code) {
  auto* cmd = app->add_subcommand(
      "diff",
      "Compare the tensors of two checkpoints (TensorFlow, safetensors or Keras weights): "
      "exit 0 equal, 1 different, 2 error");
  auto flags = std::make_shared<DiffFlags>();
  cmd->add_option("a", flags->a, "A checkpoint (TensorFlow prefix or directory, .safetensors)")
      ->required();
  cmd->add_option("b", flags->b, "The checkpoint to compare it with")->required();
  cmd->add_option("--atol", flags->close.atol, "Absolute tolerance (numpy.allclose)")
      ->capture_default_str();
  cmd->add_option("--rtol", flags->close.rtol, "Relative tolerance, of B's value")
      ->capture_default_str();
  cmd->add_flag("--equal-nan", flags->close.equal_nan, "NaN equals NaN");
  AddNameMapFlags(cmd, &flags->names);
  cmd->callback([flags, out, err, exit_code] {
    Result<int> r = Diff(*flags, *out);
    if (r.ok()) {
      *exit_code = *r;
    } else {
      *err << "ckpt diff: " << EscapeForDisplay(r.status().ToString()) << "\n";
      *exit_code = kExitUsage;  // 2: an error, as distinct from "different"
    }
  });
}

}  // namespace ckpt::tools

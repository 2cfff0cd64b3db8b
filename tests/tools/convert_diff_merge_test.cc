// Tests of `ckpt convert`, `ckpt diff` and `ckpt merge`, run in-process
// through CLI11 on real files. numpy's own answers for diff:
// tests/interop/test_safetensors.py.
#include <string>
#include <vector>

#include "ckpt/bundle_writer.h"
#include "ckpt/checkpoint_reader.h"
#include "ckpt/safetensors.h"
#include "command.h"
#include "diff.h"
#include "testutil/testutil.h"

namespace ckpt::tools {
namespace {

using ::ckpt::testing::ListDir;
using ::ckpt::testing::MakeTestTensor;
using ::ckpt::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

void Write(const std::string& prefix, const std::vector<std::pair<std::string, Tensor>>& tensors) {
  auto w = BundleWriter::Create(prefix);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  for (const auto& [name, t] : tensors) CKPT_ASSERT_OK((*w)->Add(name, t));
  CKPT_ASSERT_OK((*w)->Finish());
}

std::vector<std::pair<std::string, Tensor>> Model() {
  return {{"dense/kernel", MakeTestTensor(DataType::kFloat, TensorShape({4, 3}), 1)},
          {"dense/bias", Tensor::FromVector<float>(TensorShape({3}), {1, 2, 3})},
          {"step", Tensor::Scalar<int64_t>(int64_t{1} << 60)},
          {"mask", Tensor::FromVector<bool>(TensorShape({2}), {true, false})}};
}

TEST(ConvertCommandTest, ConvertsBothWaysAndDiffSaysEqual) {
  const std::string dir = TempDir();
  Write(JoinPath(dir, "model.ckpt"), Model());
  const std::string st = JoinPath(dir, "model.safetensors");
  CommandResult r = RunCommandLine({"convert", JoinPath(dir, "model.ckpt"), st, "--metadata",
                                    "format=np", "--metadata", "epoch=3"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("dense/kernel -> dense/kernel\n"));
  EXPECT_THAT(r.out, HasSubstr("Wrote 4 tensors to " + st));
  auto reader = SafetensorsReader::Open(Env::Posix(), st);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->header().metadata,
            (std::map<std::string, std::string>{{"format", "np"}, {"epoch", "3"}}));

  r = RunCommandLine({"convert", st, JoinPath(dir, "out") + "/"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("to " + JoinPath(dir, "out/model.ckpt")));
  r = RunCommandLine({"diff", JoinPath(dir, "model.ckpt"), JoinPath(dir, "out")});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("4 tensors equal, 0 differ"));
  r = RunCommandLine({"diff", JoinPath(dir, "model.ckpt"), st});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
}

TEST(ConvertCommandTest, NameMapsAndErrors) {
  const std::string dir = TempDir();
  const std::string src = JoinPath(dir, "model.ckpt");
  Write(src, Model());
  const std::string st = JoinPath(dir, "m.safetensors");
  CommandResult r = RunCommandLine({"convert", "--name-map", "prefix:dense/=model.layer.",
                                    "--name-map", "regex:layer\\.(\\w+)=$1", src, st});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("dense/kernel -> model.kernel\n"));
  // Both names of A map onto one of B's: the diff compares them.
  r = RunCommandLine({"diff", src, st, "--name-map", "prefix:dense/=model."});
  EXPECT_EQ(r.code, 0) << r.out << r.err;

  r = RunCommandLine({"convert", src, JoinPath(dir, "x.safetensors"), "--name-map", "regex:^dense/.*$=d"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("Name mapping maps both"));
  r = RunCommandLine({"convert", src, JoinPath(dir, "x.safetensors"), "--name-map", "bad"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("Bad name-map rule 'bad'"));
  r = RunCommandLine({"convert", src, JoinPath(dir, "x.safetensors"), "--metadata", "novalue"});
  EXPECT_EQ(r.code, 2);
  r = RunCommandLine({"convert", src, JoinPath(dir, "x"), "--to", "onnx"});
  EXPECT_EQ(r.code, 2);
  r = RunCommandLine({"convert", JoinPath(dir, "none"), JoinPath(dir, "x.safetensors")});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("NOT_FOUND"));
  EXPECT_FALSE(Env::Posix()->FileExists(JoinPath(dir, "x.safetensors")));
}

TEST(DiffCommandTest, ReportsEveryKindOfDifference) {
  const std::string dir = TempDir();
  auto a = Model();
  Write(JoinPath(dir, "a"), a);
  auto b = Model();
  b[1].second = Tensor::FromVector<float>(TensorShape({3}), {1, 2.5f, 3});  // dense/bias
  b[2].second = Tensor::Scalar<int32_t>(7);                                 // step: dtype
  b.pop_back();                                                             // mask gone
  b.emplace_back("extra", Tensor::Scalar<double>(1));
  Write(JoinPath(dir, "b"), b);
  CommandResult r = RunCommandLine({"diff", JoinPath(dir, "a"), JoinPath(dir, "b")});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_THAT(r.out, HasSubstr("only in A: mask (bool) [2]\n"));
  EXPECT_THAT(r.out, HasSubstr("only in B: extra (double) []\n"));
  EXPECT_THAT(r.out, HasSubstr("changed: step: int64 [] -> int32 []\n"));
  EXPECT_THAT(r.out, HasSubstr("values differ: dense/bias: 1 of 3 elements, max abs diff 0.5, "
                               "max rel diff 0.2\n"));
  EXPECT_THAT(r.out, HasSubstr("1 tensors equal, 4 differ"));
  // Tolerant enough: bias equal.
  r = RunCommandLine({"diff", JoinPath(dir, "a"), JoinPath(dir, "b"), "--atol", "0.5"});
  EXPECT_THAT(r.out, Not(HasSubstr("dense/bias")));
  r = RunCommandLine({"diff", JoinPath(dir, "a"), JoinPath(dir, "missing")});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("ckpt diff: NOT_FOUND"));
}

TEST(DiffCommandTest, CompareValuesFollowsNumpyAllclose) {
  const double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
  auto t = [](std::vector<double> v) {
    return Tensor::FromVector<double>(TensorShape({static_cast<int64_t>(v.size())}), v);
  };
  Closeness close;
  // |a-b| <= atol + rtol*|b| is asymmetric: relative to b.
  EXPECT_EQ(CompareValues(t({1e5 + 1.0}), t({1e5}), close).differing, 0);
  EXPECT_EQ(CompareValues(t({1.0 + 1e-4}), t({1.0}), close).differing, 1);
  EXPECT_EQ(CompareValues(t({inf, -inf}), t({inf, -inf}), close).differing, 0);
  EXPECT_EQ(CompareValues(t({inf}), t({-inf}), close).differing, 1);
  EXPECT_EQ(CompareValues(t({nan}), t({nan}), close).differing, 1);
  close.equal_nan = true;
  EXPECT_EQ(CompareValues(t({nan}), t({nan}), close).differing, 0);
  ValueDiff d = CompareValues(t({1, 0}), t({2, 0.5}), close);
  EXPECT_EQ(d.differing, 2);
  EXPECT_EQ(d.max_abs, 1);
  EXPECT_EQ(d.max_rel, 1);
  // 64-bit integers compare exactly, beyond a double's 53 bits.
  Closeness exact{0, 0, false};
  EXPECT_EQ(CompareValues(Tensor::Scalar<int64_t>((int64_t{1} << 60) + 1),
                          Tensor::Scalar<int64_t>(int64_t{1} << 60), exact)
                .differing,
            1);
}

TEST(MergeCommandTest, MergesBundlesAndRefusesDuplicateKeys) {
  const std::string dir = TempDir();
  Write(JoinPath(dir, "part0/p"), {{"a", Tensor::Scalar<float>(1)}});
  Write(JoinPath(dir, "part1/p"), {{"b", Tensor::Scalar<float>(2)}});
  CommandResult r = RunCommandLine(
      {"merge", JoinPath(dir, "part0/p"), JoinPath(dir, "part1/p"), "--into", JoinPath(dir, "m")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Merged 2 bundles into " + JoinPath(dir, "m") + " (2 tensors)"));
  auto merged = CheckpointReader::Open(JoinPath(dir, "m"));
  ASSERT_TRUE(merged.ok());
  EXPECT_TRUE((*merged)->GetTensor("b")->Equals(Tensor::Scalar<float>(2)));
  EXPECT_FALSE(Env::Posix()->IsDirectory(JoinPath(dir, "part0")));  // emptied, removed

  Write(JoinPath(dir, "x/p"), {{"a", Tensor::Scalar<float>(1)}});
  Write(JoinPath(dir, "y/p"), {{"a", Tensor::Scalar<float>(3)}});
  r = RunCommandLine(
      {"merge", JoinPath(dir, "x/p"), JoinPath(dir, "y/p"), "--into", JoinPath(dir, "n")});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("a"));
  EXPECT_EQ(ListDir(Env::Posix(), JoinPath(dir, "x")).size(), 2u);  // sources untouched
  EXPECT_FALSE(Env::Posix()->FileExists(JoinPath(dir, "n.index")));
  r = RunCommandLine({"merge", JoinPath(dir, "x/p")});
  EXPECT_EQ(r.code, 2);
}

}  // namespace
}  // namespace ckpt::tools

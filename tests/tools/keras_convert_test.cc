// Tests of `ckpt convert` with Keras 3 weights files, run in-process through
// CLI11: the command line (directions, --to keras-h5, usage errors, exit
// codes). The conversions themselves:
// tests/keras/keras_weights_test.cc and tests/interop/test_keras_weights.py.
#include <string>

#include "ckpt/keras_weights.h"
#include "ckpt/object_checkpoint.h"
#include "command.h"
#include "testutil/testutil.h"

namespace ckpt::tools {
namespace {

using ::ckpt::testing::TempDir;
using ::testing::HasSubstr;

TEST(KerasConvertCommand, BothDirections) {
  const std::string dir = TempDir();
  auto model = std::make_shared<Trackable>();
  auto layer = *model->AddObject("dense");
  auto kernel = *layer->AddVariable("kernel", Tensor::FromVector<float>({2}, {1.5f, -2}),
                                    "dense/kernel");
  ObjectCheckpoint checkpoint({{"model", model}});
  CKPT_ASSERT_OK(checkpoint.Write(dir + "/ckpt"));
  KerasWeights tmpl;
  tmpl.groups.push_back({"layers/dense", "dense", {Tensor::FromVector<float>({2}, {0, 0})}});
  CKPT_ASSERT_OK(WriteKerasWeights(tmpl, dir + "/t.weights.h5"));

  CommandResult r = RunCommandLine(
      {"convert", dir + "/ckpt", dir + "/out.weights.h5", "--template", dir + "/t.weights.h5"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Wrote " + dir + "/out.weights.h5"));
  auto got = ReadKerasWeights(dir + "/out.weights.h5");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(got->groups[0].vars[0].Equals(kernel->value()));

  r = RunCommandLine(
      {"convert", dir + "/out.weights.h5", dir + "/back", "--template", dir + "/ckpt"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  auto reader = ObjectCheckpointReader::Open(dir + "/back");
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  auto value = (*reader)->GetVariable("model/dense/kernel");
  ASSERT_TRUE(value.ok());
  EXPECT_TRUE(value->Equals(kernel->value()));
}

TEST(KerasConvertCommand, Errors) {
  const std::string dir = TempDir();
  auto model = std::make_shared<Trackable>();
  ASSERT_TRUE(
      (*model->AddObject("dense"))->AddVariable("kernel", Tensor::Scalar(1.0f), "dense/kernel").ok());
  CKPT_ASSERT_OK(ObjectCheckpoint({{"model", model}}).Write(dir + "/ckpt"));
  // A weights file destination needs the template of its structure.
  CommandResult r = RunCommandLine({"convert", dir + "/ckpt", dir + "/b.weights.h5"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr("needs a template"));
  r = RunCommandLine({"convert", dir + "/ckpt", dir + "/b", "--to", "keras-h5"});
  EXPECT_THAT(r.err, HasSubstr("needs a template"));
  // Name rules do not apply to the structural correspondence.
  r = RunCommandLine({"convert", dir + "/ckpt", dir + "/b.weights.h5", "--template",
                      dir + "/t.weights.h5", "--name-map", "strip:x"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr("Name rules do not apply"));
  r = RunCommandLine({"convert", dir + "/none.weights.h5", dir + "/b", "--template", dir + "/t"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr("none.weights.h5"));
  r = RunCommandLine({"convert", dir + "/ckpt", dir + "/b", "--to", "hdf5"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_FALSE(::ckpt::Env::Posix()->FileExists(dir + "/b.weights.h5"));
}

TEST(KerasConvertCommand, WeightsFileToSafetensorsKeepsH5Names) {
  const std::string dir = TempDir();
  KerasWeights w;
  w.groups.push_back({"layers/dense", "dense",
                      {Tensor::FromVector<float>({2}, {1, 2}), Tensor::FromVector<float>({1}, {3})}});
  w.groups.push_back({"optimizer", std::nullopt, {Tensor::Scalar(int64_t{7})}});
  CKPT_ASSERT_OK(WriteKerasWeights(w, dir + "/w.weights.h5"));
  CommandResult r = RunCommandLine({"convert", dir + "/w.weights.h5", dir + "/w.safetensors"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("layers/dense/vars/1 -> layers/dense/vars/1"));
  EXPECT_THAT(r.out, HasSubstr("Wrote 3 tensors"));
  // And `ckpt diff` reads both sides as the same tensors.
  r = RunCommandLine({"diff", dir + "/w.weights.h5", dir + "/w.safetensors"});
  EXPECT_EQ(r.code, kExitOk) << r.out << r.err;
}

}  // namespace
}  // namespace ckpt::tools

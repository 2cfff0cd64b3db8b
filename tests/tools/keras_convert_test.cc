// Tests of `ckpt keras-convert`, run in-process through CLI11: the command
// line (directions, usage errors, exit codes). The conversions themselves:
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
      {"keras-convert", dir + "/ckpt", dir + "/out.weights.h5", "--template", dir + "/t.weights.h5"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("wrote " + dir + "/out.weights.h5"));
  auto got = ReadKerasWeights(dir + "/out.weights.h5");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(got->groups[0].vars[0].Equals(kernel->value()));

  r = RunCommandLine(
      {"keras-convert", dir + "/out.weights.h5", dir + "/back", "--template", dir + "/ckpt"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  auto reader = ObjectCheckpointReader::Open(dir + "/back");
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  auto value = (*reader)->GetVariable("model/dense/kernel");
  ASSERT_TRUE(value.ok());
  EXPECT_TRUE(value->Equals(kernel->value()));
}

TEST(KerasConvertCommand, Errors) {
  const std::string dir = TempDir();
  CommandResult r = RunCommandLine({"keras-convert", dir + "/a", dir + "/b"});
  EXPECT_EQ(r.code, kExitUsage);  // --template is required
  r = RunCommandLine({"keras-convert", dir + "/a", dir + "/b", "--template", dir + "/t"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("ending in .h5"));
  r = RunCommandLine({"keras-convert", dir + "/none.weights.h5", dir + "/b", "--template", dir + "/t"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr("none.weights.h5"));
}

}  // namespace
}  // namespace ckpt::tools

// Tests of the Keras 3 weights file reader/writer (src/keras/h5_io.cc) and of
// the conversions to and from object checkpoints (src/keras/keras_convert.cc).
// Files Keras itself writes and reads are covered by
// tests/interop/test_keras_weights.py; here: round trips, crafted files
// (written with the HDF5 C API directly) and every refusal.
#include <hdf5.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ckpt/keras_weights.h"
#include "ckpt/object_checkpoint.h"
#include "ckpt/object_graph.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::MakeTestTensor;
using ::ckpt::testing::SnapshotTree;
using ::ckpt::testing::StatusIs;
using ::ckpt::testing::TempDir;
using ::ckpt::testing::WriteStringToFile;
using ::testing::HasSubstr;

KerasWeights SampleWeights(uint32_t seed) {
  KerasWeights w;
  w.groups.push_back({"", "sequential", {}});
  w.groups.push_back({"layers/dense", "dense",
                      {MakeTestTensor(DataType::kFloat, TensorShape({3, 2}), seed),
                       MakeTestTensor(DataType::kFloat, TensorShape({2}), seed + 1)}});
  w.groups.push_back({"layers/flatten", "flatten", {}});
  w.groups.push_back({"layers/lstm/cell", "lstm_cell",
                      {MakeTestTensor(DataType::kDouble, TensorShape({2, 4}), seed + 2),
                       MakeTestTensor(DataType::kInt32, TensorShape({4}), seed + 3),
                       MakeTestTensor(DataType::kUInt8, TensorShape({0, 5}), seed + 4)}});
  w.groups.push_back({"optimizer", "adam",
                      {Tensor::Scalar<int64_t>(7), Tensor::Scalar<float>(0.5f)}});
  return w;
}

void ExpectSameWeights(const KerasWeights& got, const KerasWeights& want) {
  ASSERT_EQ(got.groups.size(), want.groups.size());
  for (size_t i = 0; i < want.groups.size(); ++i) {
    const KerasVarsGroup& g = got.groups[i];
    const KerasVarsGroup& w = want.groups[i];
    EXPECT_EQ(g.owner, w.owner);
    EXPECT_EQ(g.name, w.name) << w.owner;
    ASSERT_EQ(g.vars.size(), w.vars.size()) << w.owner;
    for (size_t j = 0; j < w.vars.size(); ++j) {
      EXPECT_TRUE(g.vars[j].Equals(w.vars[j])) << w.owner << "/" << j;
    }
  }
}

TEST(KerasWeightsFile, RoundTrip) {
  const std::string path = TempDir() + "/m.weights.h5";
  KerasWeights want = SampleWeights(1);
  CKPT_ASSERT_OK(WriteKerasWeights(want, path));
  auto got = ReadKerasWeights(path);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ExpectSameWeights(*got, want);
  ASSERT_NE(got->Find("optimizer"), nullptr);
  EXPECT_EQ(got->Find("optimizer")->vars[0].shape().rank(), 0);
  EXPECT_EQ(got->Find("layers/nothing"), nullptr);
}

TEST(KerasWeightsFile, ReplacesAnExistingFileAndLeavesNoTemporary) {
  const std::string dir = TempDir();
  const std::string path = dir + "/m.weights.h5";
  CKPT_ASSERT_OK(WriteKerasWeights(SampleWeights(1), path));
  KerasWeights second = SampleWeights(2);
  CKPT_ASSERT_OK(WriteKerasWeights(second, path));
  auto got = ReadKerasWeights(path);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ExpectSameWeights(*got, second);
  EXPECT_EQ(SnapshotTree(dir).size(), 1u);
}

TEST(KerasWeightsFile, FailedWriteKeepsTheOldFile) {
  const std::string dir = TempDir();
  const std::string path = dir + "/m.weights.h5";
  CKPT_ASSERT_OK(WriteKerasWeights(SampleWeights(1), path));
  auto before = SnapshotTree(dir);
  KerasWeights bad = SampleWeights(2);
  bad.groups[1].vars.push_back(Tensor::StringScalar("not a number"));
  EXPECT_THAT(WriteKerasWeights(bad, path),
              StatusIs(StatusCode::kInvalidArgument, "layers/dense/vars/2"));
  EXPECT_EQ(SnapshotTree(dir), before);

  KerasWeights empty_segment;
  empty_segment.groups.push_back({"layers//dense", "dense", {Tensor::Scalar<float>(1)}});
  EXPECT_THAT(WriteKerasWeights(empty_segment, path),
              StatusIs(StatusCode::kInvalidArgument, "empty segment"));
  EXPECT_EQ(SnapshotTree(dir), before);
}

TEST(KerasWeightsFile, MissingAndNotHdf5) {
  const std::string dir = TempDir();
  EXPECT_THAT(ReadKerasWeights(dir + "/none.weights.h5"),
              StatusIs(StatusCode::kNotFound, "none.weights.h5"));
  CKPT_ASSERT_OK(WriteStringToFile(Env::Posix(), dir + "/text.weights.h5", "hello, not hdf5"));
  EXPECT_THAT(ReadKerasWeights(dir + "/text.weights.h5"),
              StatusIs(StatusCode::kInvalidArgument, "not an HDF5 file"));
}

// A crafted file may make libhdf5 loop; the tests do not wait a minute.
const KerasWeightsReadOptions kQuick{0.25};

// Every truncation and many single-byte changes of a valid file: each read
// either succeeds or fails with a Status; none crashes or hangs.
TEST(KerasWeightsFile, CorruptFilesAreErrors) {
  const std::string dir = TempDir();
  const std::string good = dir + "/good.weights.h5";
  CKPT_ASSERT_OK(WriteKerasWeights(SampleWeights(3), good));
  auto bytes = ReadFileToString(Env::Posix(), good);
  ASSERT_TRUE(bytes.ok());
  const std::string bad = dir + "/bad.weights.h5";
  int errors = 0;
  for (size_t n = 0; n < bytes->size(); n += 97) {
    CKPT_ASSERT_OK(WriteStringToFile(Env::Posix(), bad, bytes->substr(0, n)));
    auto r = ReadKerasWeights(bad, kQuick);
    if (!r.ok()) {
      ++errors;
      EXPECT_THAT(r.status().message(), HasSubstr("bad.weights.h5"));
    }
  }
  EXPECT_GT(errors, 0);
  for (size_t i = 0; i < bytes->size(); i += 53) {
    std::string changed = *bytes;
    changed[i] = static_cast<char>(changed[i] ^ 0x5a);
    CKPT_ASSERT_OK(WriteStringToFile(Env::Posix(), bad, changed));
    auto r = ReadKerasWeights(bad, kQuick);
    if (!r.ok()) EXPECT_THAT(r.status().message(), HasSubstr("bad.weights.h5"));
  }
}

// ------------------------------------------------------- crafted files

// Writes an HDF5 file with the C API: `build` gets the root group.
template <typename Fn>
std::string Craft(const std::string& name, Fn build) {
  const std::string path = TempDir() + "/" + name;
  hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  EXPECT_GE(file, 0);
  build(file);
  H5Fclose(file);
  return path;
}

void Dataset(hid_t parent, const char* name, hid_t type) {
  hsize_t dims[1] = {2};
  hid_t space = H5Screate_simple(1, dims, nullptr);
  hid_t d = H5Dcreate2(parent, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dclose(d);
  H5Sclose(space);
}

hid_t Group(hid_t parent, const char* path) {
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  hid_t g = H5Gcreate2(parent, path, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  H5Pclose(lcpl);
  return g;
}

TEST(KerasWeightsFile, CraftedFilesAreRefused) {
  std::string p = Craft("outside.weights.h5", [](hid_t f) {
    hid_t g = Group(f, "layers/dense");
    Dataset(g, "kernel", H5T_IEEE_F32LE);
    H5Gclose(g);
  });
  EXPECT_THAT(ReadKerasWeights(p),
              StatusIs(StatusCode::kInvalidArgument, "layers/dense/kernel: dataset outside"));

  p = Craft("named.weights.h5", [](hid_t f) {
    hid_t g = Group(f, "layers/dense/vars");
    Dataset(g, "kernel", H5T_IEEE_F32LE);
    H5Gclose(g);
  });
  EXPECT_THAT(ReadKerasWeights(p),
              StatusIs(StatusCode::kInvalidArgument, "layers/dense/vars/kernel: expected datasets named 0..0"));

  p = Craft("gap.weights.h5", [](hid_t f) {
    hid_t g = Group(f, "layers/dense/vars");
    Dataset(g, "0", H5T_IEEE_F32LE);
    Dataset(g, "2", H5T_IEEE_F32LE);
    H5Gclose(g);
  });
  EXPECT_THAT(ReadKerasWeights(p), StatusIs(StatusCode::kInvalidArgument, "vars/2: expected datasets named 0..1"));

  p = Craft("half.weights.h5", [](hid_t f) {
    hid_t g = Group(f, "layers/dense/vars");
    hid_t half = H5Tcopy(H5T_IEEE_F32LE);
    H5Tset_fields(half, 15, 10, 5, 0, 10);
    H5Tset_size(half, 2);
    H5Tset_ebias(half, 15);
    Dataset(g, "0", half);
    H5Tclose(half);
    H5Gclose(g);
  });
  EXPECT_THAT(ReadKerasWeights(p), StatusIs(StatusCode::kUnimplemented, "layers/dense/vars/0"));

  p = Craft("soft.weights.h5", [](hid_t f) {
    hid_t g = Group(f, "layers/dense/vars");
    Dataset(g, "0", H5T_IEEE_F32LE);
    H5Lcreate_soft("/layers/dense/vars/0", g, "1", H5P_DEFAULT, H5P_DEFAULT);
    H5Gclose(g);
  });
  EXPECT_THAT(ReadKerasWeights(p), StatusIs(StatusCode::kInvalidArgument, "soft or external link"));

  p = Craft("cycle.weights.h5", [](hid_t f) {
    hid_t g = Group(f, "layers/a");
    H5Lcreate_hard(f, "/layers", g, "loop", H5P_DEFAULT, H5P_DEFAULT);
    H5Gclose(g);
  });
  EXPECT_THAT(ReadKerasWeights(p), StatusIs(StatusCode::kInvalidArgument, "nested too deep"));

  p = Craft("keras2.h5", [](hid_t f) {
    hid_t g = Group(f, "model_weights");
    H5Gclose(g);
  });
  EXPECT_THAT(ReadKerasWeights(p), StatusIs(StatusCode::kInvalidArgument, "Keras 2"));

  p = Craft("badname.weights.h5", [](hid_t f) {
    hid_t g = Group(f, "layers/dense/vars");
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(g, "name", H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT);
    int v = 3;
    H5Awrite(a, H5T_NATIVE_INT, &v);
    H5Aclose(a);
    H5Sclose(space);
    H5Gclose(g);
  });
  EXPECT_THAT(ReadKerasWeights(p), StatusIs(StatusCode::kInvalidArgument, "not a string scalar"));
}

// ---------------------------------------------------------- conversion

// An object checkpoint shaped as Keras 3 writes one for a Sequential model
// with a Dense and a BatchNormalization layer and an Adam-like optimizer
// (tests/interop/test_keras_weights.py checks the real thing).
struct KerasLikeModel {
  std::shared_ptr<Variable> kernel, bias, gamma, mean, iterations, m0;
  std::unique_ptr<ObjectCheckpoint> checkpoint;
};

KerasLikeModel MakeModel(uint32_t seed) {
  KerasLikeModel k;
  auto model = std::make_shared<Trackable>();
  auto functional = *model->AddObject("_functional");
  auto ops = *functional->AddObject("_operations");
  auto dense = *ops->AddObject("0");
  k.kernel = *dense->AddVariable("_kernel", MakeTestTensor(DataType::kFloat, TensorShape({3, 2}), seed),
                                 "sequential/dense/kernel");
  k.bias = *dense->AddVariable("bias", MakeTestTensor(DataType::kFloat, TensorShape({2}), seed + 1),
                               "sequential/dense/bias");
  auto bn = *ops->AddObject("1");
  k.gamma = *bn->AddVariable("gamma", MakeTestTensor(DataType::kFloat, TensorShape({2}), seed + 2),
                             "sequential/batch_normalization/gamma");
  k.mean = *bn->AddVariable("moving_mean", MakeTestTensor(DataType::kFloat, TensorShape({2}), seed + 3),
                            "sequential/batch_normalization/moving_mean");
  auto optimizer = std::make_shared<Trackable>();
  auto vars = *optimizer->AddObject("_variables");
  k.iterations = *vars->AddVariable("0", Tensor::Scalar<int64_t>(seed), "adam/iteration");
  k.m0 = *vars->AddVariable("1", MakeTestTensor(DataType::kFloat, TensorShape({3, 2}), seed + 4),
                            "adam/sequential_dense_kernel_momentum");
  EXPECT_TRUE(model->AddChild("optimizer", optimizer).ok());
  k.checkpoint = std::make_unique<ObjectCheckpoint>(
      std::map<std::string, std::shared_ptr<Trackable>>{{"model", model}});
  return k;
}

KerasWeights WeightsOf(const KerasLikeModel& k) {
  KerasWeights w;
  w.groups.push_back({"", "sequential", {}});
  w.groups.push_back({"layers/batch_normalization", "batch_normalization",
                      {k.gamma->value(), k.mean->value()}});
  w.groups.push_back({"layers/dense", "dense", {k.kernel->value(), k.bias->value()}});
  w.groups.push_back({"optimizer", "adam", {k.iterations->value(), k.m0->value()}});
  return w;
}

TEST(KerasConvert, CheckpointToWeightsFile) {
  const std::string dir = TempDir();
  KerasLikeModel source = MakeModel(10);
  CKPT_ASSERT_OK(source.checkpoint->Write(dir + "/ckpt"));
  KerasLikeModel fresh = MakeModel(20);
  KerasWeights template_weights = WeightsOf(fresh);
  template_weights.groups.pop_back();  // a fresh model's optimizer is empty
  CKPT_ASSERT_OK(WriteKerasWeights(template_weights, dir + "/template.weights.h5"));

  KerasConvertOptions options;
  options.template_path = dir + "/template.weights.h5";
  CKPT_ASSERT_OK(ObjectCheckpointToKerasWeights(dir + "/ckpt", dir + "/out.weights.h5", options));
  auto got = ReadKerasWeights(dir + "/out.weights.h5");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ExpectSameWeights(*got, WeightsOf(source));

  options.include_optimizer = false;
  CKPT_ASSERT_OK(ObjectCheckpointToKerasWeights(dir + "/ckpt", dir + "/noopt.weights.h5", options));
  got = ReadKerasWeights(dir + "/noopt.weights.h5");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->Find("optimizer"), nullptr);
}

TEST(KerasConvert, WeightsFileToCheckpoint) {
  const std::string dir = TempDir();
  KerasLikeModel source = MakeModel(10);
  CKPT_ASSERT_OK(WriteKerasWeights(WeightsOf(source), dir + "/m.weights.h5"));
  KerasLikeModel fresh = MakeModel(20);
  CKPT_ASSERT_OK(fresh.checkpoint->Write(dir + "/template"));

  KerasConvertOptions options;
  options.template_path = dir + "/template";
  CKPT_ASSERT_OK(KerasWeightsToObjectCheckpoint(dir + "/m.weights.h5", dir + "/out", options));
  KerasLikeModel restored = MakeModel(30);
  auto status = restored.checkpoint->RestoreWithStatus(dir + "/out");
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  CKPT_EXPECT_OK(status->AssertConsumed());
  EXPECT_TRUE(restored.kernel->value().Equals(source.kernel->value()));
  EXPECT_TRUE(restored.bias->value().Equals(source.bias->value()));
  EXPECT_TRUE(restored.gamma->value().Equals(source.gamma->value()));
  EXPECT_TRUE(restored.mean->value().Equals(source.mean->value()));
  EXPECT_TRUE(restored.iterations->value().Equals(source.iterations->value()));
  EXPECT_TRUE(restored.m0->value().Equals(source.m0->value()));
}

TEST(KerasConvert, MismatchesAreRefusedWithoutOutput) {
  const std::string dir = TempDir();
  KerasLikeModel source = MakeModel(10);
  CKPT_ASSERT_OK(source.checkpoint->Write(dir + "/ckpt"));
  KerasConvertOptions options;

  // No template.
  EXPECT_THAT(ObjectCheckpointToKerasWeights(dir + "/ckpt", dir + "/out.weights.h5", options),
              StatusIs(StatusCode::kInvalidArgument, "needs a template"));
  EXPECT_THAT(KerasWeightsToObjectCheckpoint(dir + "/x.weights.h5", dir + "/out", options),
              StatusIs(StatusCode::kInvalidArgument, "needs a template"));

  // A template whose dense kernel has another shape.
  KerasWeights wrong_shape = WeightsOf(source);
  wrong_shape.groups[2].vars[0] = MakeTestTensor(DataType::kFloat, TensorShape({2, 3}), 1);
  CKPT_ASSERT_OK(WriteKerasWeights(wrong_shape, dir + "/shape.weights.h5"));
  options.template_path = dir + "/shape.weights.h5";
  EXPECT_THAT(ObjectCheckpointToKerasWeights(dir + "/ckpt", dir + "/out.weights.h5", options),
              StatusIs(StatusCode::kInvalidArgument, "layers/dense/vars/0 is float [2,3]"));
  EXPECT_THAT(KerasWeightsToObjectCheckpoint(dir + "/shape.weights.h5", dir + "/out", options = {dir + "/ckpt"}),
              StatusIs(StatusCode::kInvalidArgument, "layers/dense/vars/0 is float [2,3]"));

  // A layer the checkpoint does not have, and one the file does not have.
  KerasWeights extra = WeightsOf(source);
  extra.groups.push_back({"layers/conv2d", "conv2d", {Tensor::Scalar<float>(1)}});
  CKPT_ASSERT_OK(WriteKerasWeights(extra, dir + "/extra.weights.h5"));
  EXPECT_THAT(KerasWeightsToObjectCheckpoint(dir + "/extra.weights.h5", dir + "/out", {dir + "/ckpt"}),
              StatusIs(StatusCode::kNotFound, "layers/conv2d/vars (Keras layer \"conv2d\")"));
  KerasWeights missing = WeightsOf(source);
  missing.groups.erase(missing.groups.begin() + 1);
  CKPT_ASSERT_OK(WriteKerasWeights(missing, dir + "/missing.weights.h5"));
  EXPECT_THAT(KerasWeightsToObjectCheckpoint(dir + "/missing.weights.h5", dir + "/out", {dir + "/ckpt"}),
              StatusIs(StatusCode::kNotFound, "(Keras layer \"batch_normalization\", 2 variables) has no vars group"));

  // Optimizer variables of another count.
  KerasWeights short_optimizer = WeightsOf(source);
  short_optimizer.groups.back().vars.pop_back();
  CKPT_ASSERT_OK(WriteKerasWeights(short_optimizer, dir + "/opt.weights.h5"));
  EXPECT_THAT(KerasWeightsToObjectCheckpoint(dir + "/opt.weights.h5", dir + "/out", {dir + "/ckpt"}),
              StatusIs(StatusCode::kInvalidArgument, "optimizer/vars holds 1 optimizer variables"));

  // Another root child than "model".
  KerasConvertOptions other_model{dir + "/extra.weights.h5"};
  other_model.model_name = "net";
  EXPECT_THAT(ObjectCheckpointToKerasWeights(dir + "/ckpt", dir + "/out.weights.h5", other_model),
              StatusIs(StatusCode::kNotFound, "no child \"net\""));

  for (const auto& [file, bytes] : SnapshotTree(dir)) {
    EXPECT_EQ(file.find("/out"), std::string::npos) << file;
  }
}

}  // namespace
}  // namespace ckpt

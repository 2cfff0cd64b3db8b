// Saver::Restore with RestoreOptions::in_place (values read straight into the
// variables), and the default all-or-nothing restore that now reads whole
// variables with BundleReader::ReadManyInto.
#include <algorithm>
#include <string>
#include <vector>

#include "ckpt/bundle.h"
#include "ckpt/saver.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::EnvKind;
using ::ckpt::testing::EnvKindName;
using ::ckpt::testing::MakeTestEnv;
using ::ckpt::testing::MakeTestTensor;
using ::ckpt::testing::StatusIs;
using ::ckpt::testing::TestEnv;
using ::testing::HasSubstr;
using ::testing::Not;

class RestoreInPlaceTest : public ::testing::TestWithParam<EnvKind> {
 protected:
  RestoreInPlaceTest() : t_(MakeTestEnv(GetParam())) {
    uint32_t seed = 100;
    // Small and large (several 1 MiB batches, one over the 4 MiB split
    // size) float tensors, other dtypes, a string tensor.
    for (int64_t elems : {int64_t{1}, int64_t{7}, int64_t{1000}, int64_t{70000}, int64_t{300000},
                          (int64_t{5} << 20) / 4 + 3}) {
      saved_.emplace_back("f/" + std::to_string(elems),
                          MakeTestTensor(DataType::kFloat, TensorShape({elems}), seed++));
    }
    for (int i = 0; i < 30; ++i) {
      saved_.emplace_back("small/" + std::to_string(i),
                          MakeTestTensor(DataType::kDouble, TensorShape({2, 3 + i}), seed++));
    }
    saved_.emplace_back("i64", MakeTestTensor(DataType::kInt64, TensorShape({3, 3}), seed++));
    saved_.emplace_back("str", MakeTestTensor(DataType::kString, TensorShape({5}), seed++));
    // Saved as two partitions of one variable.
    emb_ = MakeTestTensor(DataType::kFloat, TensorShape({8, 4}), seed++);
  }

  std::string Path(const std::string& name) const { return JoinPath(t_.root, name); }

  SaverOptions Options() {
    SaverOptions o;
    o.env = t_.env;
    return o;
  }

  std::string Save() {
    std::vector<Tensor> parts = {ExtractSlice(emb_, Slice("0,3:-")), ExtractSlice(emb_, Slice("3,5:-"))};
    VarList vars;
    for (auto& [k, t] : saved_) vars.push_back({k, &t, std::nullopt, {}, ""});
    vars.push_back({"emb", &parts[0], TensorShape{8, 4}, Slice("0,3:-"), ""});
    vars.push_back({"emb", &parts[1], TensorShape{8, 4}, Slice("3,5:-"), ""});
    auto saver = Saver::Create(vars, Options());
    EXPECT_TRUE(saver.ok()) << saver.status();
    auto prefix = (*saver)->Save(Path("model"));
    EXPECT_TRUE(prefix.ok()) << prefix.status();
    return prefix.ok() ? *prefix : "";
  }

  static TensorSlice Slice(const char* spec) { return TensorSlice::Parse(spec).value(); }

  // Fresh variables for every saved tensor; "emb" restored as two other
  // partitions (rows 0..4 and 5..7). Non-string tensors hold zeros.
  void MakeTargets() {
    targets_.clear();
    for (const auto& [k, t] : saved_) {
      targets_.emplace_back(k, Tensor::Allocate(t.dtype(), t.shape()).value());
    }
    emb_parts_ = {Tensor::Allocate(DataType::kFloat, {5, 4}).value(),
                  Tensor::Allocate(DataType::kFloat, {3, 4}).value()};
    before_.clear();
    for (const auto& [k, t] : targets_) before_.push_back(t.Copy());
  }

  VarList Vars() {
    VarList vars;
    for (auto& [k, t] : targets_) vars.push_back({k, &t, std::nullopt, {}, ""});
    vars.push_back({"emb", &emb_parts_[0], TensorShape{8, 4}, Slice("0,5:-"), ""});
    vars.push_back({"emb", &emb_parts_[1], TensorShape{8, 4}, Slice("5,3:-"), ""});
    return vars;
  }

  void ExpectRestored() {
    ASSERT_EQ(targets_.size(), saved_.size());
    for (size_t i = 0; i < saved_.size(); ++i) {
      EXPECT_TRUE(targets_[i].second.Equals(saved_[i].second)) << saved_[i].first;
    }
    EXPECT_TRUE(emb_parts_[0].Equals(ExtractSlice(emb_, Slice("0,5:-"))));
    EXPECT_TRUE(emb_parts_[1].Equals(ExtractSlice(emb_, Slice("5,3:-"))));
  }

  // How many variables still hold their values from before the restore.
  int Unchanged() {
    int n = 0;
    for (size_t i = 0; i < targets_.size(); ++i) n += targets_[i].second.Equals(before_[i]);
    return n;
  }

  // Flips a byte in the middle of `key`'s stored bytes.
  void Corrupt(const std::string& prefix, const std::string& key) {
    BundleReaderOptions o;
    o.env = t_.env;
    auto r = BundleReader::Open(prefix, o);
    ASSERT_TRUE(r.ok()) << r.status();
    auto e = (*r)->Lookup(key);
    ASSERT_TRUE(e.ok()) << e.status();
    const std::string data = DataFilename(prefix, 0, 1);
    CKPT_ASSERT_OK_AND_ASSIGN(std::string bytes, ReadFileToString(t_.env, data));
    bytes[static_cast<size_t>((*e)->offset + (*e)->size / 2)] ^= 0x40;
    CKPT_ASSERT_OK(testing::WriteStringToFile(t_.env, data, bytes));
  }

  // The key of the fixed-size tensor stored last in the data file.
  std::string LastInFile(const std::string& prefix) {
    BundleReaderOptions o;
    o.env = t_.env;
    auto r = BundleReader::Open(prefix, o);
    EXPECT_TRUE(r.ok()) << r.status();
    const BundleEntry* last = nullptr;
    for (const BundleEntry& e : (*r)->entries()) {
      if (e.slices.empty() && e.dtype != DataType::kString && e.key[0] != '\0' &&
          (last == nullptr || e.offset > last->offset)) {
        last = &e;
      }
    }
    return last != nullptr ? last->key : "";
  }

  TestEnv t_;
  std::vector<std::pair<std::string, Tensor>> saved_;
  Tensor emb_;
  std::vector<std::pair<std::string, Tensor>> targets_;
  std::vector<Tensor> emb_parts_;
  std::vector<Tensor> before_;
};

TEST_P(RestoreInPlaceTest, RestoresEveryValueIntoTheCallersStorage) {
  const std::string prefix = Save();
  for (bool in_place : {false, true}) {
    MakeTargets();
    std::vector<Tensor> aliases;  // share storage with the variables
    for (const auto& [k, t] : targets_) aliases.push_back(t);
    auto saver = Saver::Create(Vars(), Options()).value();
    RestoreOptions ro;
    ro.in_place = in_place;
    RestoreReport report;
    ro.report = &report;
    CKPT_ASSERT_OK(saver->Restore(prefix, ro));
    ExpectRestored();
    for (size_t i = 0; i < aliases.size(); ++i) {
      EXPECT_TRUE(aliases[i].Equals(saved_[i].second)) << saved_[i].first << " in_place " << in_place;
    }
    EXPECT_EQ(report.restored.size(), targets_.size() + 2);
  }
}

TEST_P(RestoreInPlaceTest, NameMapAndIncludeWork) {
  const std::string prefix = Save();
  Tensor w = Tensor::Allocate(DataType::kFloat, {1000}).value();
  Tensor other = Tensor::Allocate(DataType::kDouble, {2, 3}).value();
  auto saver = Saver::Create(VarListFromMap({{"new/w", &w}, {"other", &other}}), Options()).value();
  RestoreOptions ro;
  ro.in_place = true;
  ro.name_map["new/w"] = "f/1000";
  ro.include = std::regex("new/.*");
  CKPT_ASSERT_OK(saver->Restore(prefix, ro));
  EXPECT_TRUE(w.Equals(saved_[2].second));
  EXPECT_TRUE(other.Equals(Tensor::Allocate(DataType::kDouble, {2, 3}).value()));
}

TEST_P(RestoreInPlaceTest, CorruptDataIsAPartialRestoreWithInPlace) {
  const std::string prefix = Save();
  const std::string victim = LastInFile(prefix);
  ASSERT_FALSE(victim.empty());
  Corrupt(prefix, victim);
  MakeTargets();
  auto saver = Saver::Create(Vars(), Options()).value();
  RestoreOptions ro;
  ro.in_place = true;
  Status s = saver->Restore(prefix, ro);
  EXPECT_THAT(s, StatusIs(StatusCode::kDataLoss, "may be partially restored"));
  EXPECT_THAT(s.message(), HasSubstr("Tensor \"" + victim + "\""));
  EXPECT_THAT(s.message(), HasSubstr("Checksum does not match"));
  // What the message warns of: tensors read before the corrupt one (last in
  // the file) hold the checkpoint's values.
  EXPECT_LT(Unchanged(), static_cast<int>(targets_.size()));
}

TEST_P(RestoreInPlaceTest, CorruptDataChangesNothingByDefault) {
  const std::string prefix = Save();
  const std::string victim = LastInFile(prefix);
  Corrupt(prefix, victim);
  MakeTargets();
  auto saver = Saver::Create(Vars(), Options()).value();
  Status s = saver->Restore(prefix);
  EXPECT_THAT(s, StatusIs(StatusCode::kDataLoss, "Tensor \"" + victim + "\""));
  EXPECT_THAT(s.message(), Not(HasSubstr("partially")));
  EXPECT_EQ(Unchanged(), static_cast<int>(targets_.size()));
  EXPECT_TRUE(emb_parts_[0].Equals(Tensor::Allocate(DataType::kFloat, {5, 4}).value()));
}

TEST_P(RestoreInPlaceTest, CorruptPartitionIsAPartialRestoreWithInPlace) {
  const std::string prefix = Save();
  // The second stored slice of "emb".
  Corrupt(prefix, EncodeTensorNameSlice("emb", Slice("3,5:-")));
  MakeTargets();
  auto saver = Saver::Create(Vars(), Options()).value();
  RestoreOptions ro;
  ro.in_place = true;
  EXPECT_THAT(saver->Restore(prefix, ro),
              StatusIs(StatusCode::kDataLoss, "may be partially restored"));
  // Whole variables come first and were restored.
  for (size_t i = 0; i < saved_.size(); ++i) {
    EXPECT_TRUE(targets_[i].second.Equals(saved_[i].second)) << saved_[i].first;
  }
  MakeTargets();
  EXPECT_EQ(saver->Restore(prefix).code(), StatusCode::kDataLoss);
  EXPECT_EQ(Unchanged(), static_cast<int>(targets_.size()));
}

TEST_P(RestoreInPlaceTest, MismatchesChangeNothingWithInPlace) {
  const std::string prefix = Save();
  MakeTargets();
  VarList vars = Vars();
  Tensor wrong = Tensor::Allocate(DataType::kInt32, {3, 3}).value();
  for (SaveableTensor& v : vars) {
    if (v.name == "i64") v.tensor = &wrong;
  }
  auto saver = Saver::Create(vars, Options()).value();
  RestoreOptions ro;
  ro.in_place = true;
  Status s = saver->Restore(prefix, ro);
  EXPECT_THAT(s, StatusIs(StatusCode::kInvalidArgument,
                          "tensor_name = i64; expected dtype int32 does not equal original dtype "
                          "int64"));
  EXPECT_THAT(s.message(), Not(HasSubstr("partially")));
  EXPECT_EQ(Unchanged(), static_cast<int>(targets_.size()));
}

TEST_P(RestoreInPlaceTest, VariablesSharingMemoryAreRefusedBeforeAnyRead) {
  const std::string prefix = Save();
  Tensor a = Tensor::Allocate(DataType::kFloat, {1000}).value();
  Tensor b = a;  // shares a's storage
  auto saver = Saver::Create(VarListFromMap({{"f/1000", &a}, {"f/1000b", &b}}), Options()).value();
  RestoreOptions ro;
  ro.in_place = true;
  ro.name_map["f/1000b"] = "f/1000";
  Status s = saver->Restore(prefix, ro);
  EXPECT_THAT(s, StatusIs(StatusCode::kInvalidArgument, "share memory; nothing was restored"));
  EXPECT_THAT(s.message(), HasSubstr("\"f/1000\" and \"f/1000b\""));
  EXPECT_THAT(s.message(), Not(HasSubstr("partially")));
  EXPECT_TRUE(a.Equals(Tensor::Allocate(DataType::kFloat, {1000}).value()));
  // The all-or-nothing path copies into each and succeeds.
  ro.in_place = false;
  CKPT_ASSERT_OK(saver->Restore(prefix, ro));
  EXPECT_TRUE(a.Equals(saved_[2].second));
}

INSTANTIATE_TEST_SUITE_P(Envs, RestoreInPlaceTest,
                         ::testing::Values(EnvKind::kPosix, EnvKind::kMem),
                         [](const auto& info) { return EnvKindName(info.param); });

TEST(RestoreInPlaceV1Test, RestoresTensorFlowV1Checkpoint) {
  const std::string path = testing::TestDataPath(
      "serving/tensorflow_serving/session_bundle/testdata/half_plus_two/00000123/"
      "export-00000-of-00001");
  Tensor a = Tensor::Scalar<float>(0);
  Tensor b = Tensor::Scalar<float>(0);
  CKPT_ASSERT_OK_AND_ASSIGN(auto saver, Saver::Create(VarListFromMap({{"a", &a}, {"b", &b}})));
  RestoreOptions ro;
  ro.in_place = true;
  CKPT_ASSERT_OK(saver->Restore(path, ro));
  EXPECT_EQ(a.flat<float>()[0], 0.5f);
  EXPECT_EQ(b.flat<float>()[0], 2.0f);
}

}  // namespace
}  // namespace ckpt

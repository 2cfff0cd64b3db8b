// BundleReader::ReadManyInto: many tensors into caller buffers, read in file
// order with the checksums pipelined on a helper (and ReadMany, the same into
// new tensors, and ReadManyViews). Results and errors must be
// those of ReadInto on each tensor, whatever the target order, helper count
// or chunk size; every check that needs no data comes before the first read.
#include <algorithm>
#include <cstring>
#include <random>

#include "ckpt/bundle.h"
#include "ckpt/tensor_slice.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::EnvKind;
using ::ckpt::testing::EnvKindName;
using ::ckpt::testing::MakeTestEnv;
using ::ckpt::testing::MakeTestTensor;
using ::ckpt::testing::StatusIs;
using ::ckpt::testing::TestEnv;
using ::ckpt::testing::WriteStringToFile;
using ::testing::AllOf;
using ::testing::HasSubstr;

struct ReaderConfig {
  const char* name;
  int threads;
  int64_t chunk;
  bool verify;
};

// Default sizes (batches of 1 MiB, tensors > 4 MiB split), no helper, and
// small chunks so that most tensors take the split path or cross batches.
const ReaderConfig kConfigs[] = {
    {"default", 1, int64_t{4} << 20, true},  {"no_helper", 0, int64_t{4} << 20, true},
    {"chunk_4096", 1, 4096, true},          {"two_helpers_chunk_1000", 2, 1000, true},
    {"no_helper_chunk_4096", 0, 4096, true}, {"no_verify", 1, int64_t{4} << 20, false},
};

// Float tensors of these byte sizes around the batch (1 MiB) and split
// (4 MiB) sizes, plus odd small ones.
std::vector<int64_t> FloatBytes() {
  std::vector<int64_t> out = {0,          4,         1500 * 4,  4096,  4100,
                              65536,      300000,    int64_t{1} << 20,
                              (int64_t{1} << 20) + 12, int64_t{3} << 20,
                              (int64_t{5} << 20) + 4};
  std::mt19937 rng(7);
  for (int i = 0; i < 40; ++i) out.push_back(4 * static_cast<int64_t>(1 + rng() % 3000));
  return out;
}

class ReadManyTest : public ::testing::TestWithParam<EnvKind> {
 protected:
  void SetUp() override {
    te_ = MakeTestEnv(GetParam());
    uint32_t seed = 1;
    int i = 0;
    for (int64_t bytes : FloatBytes()) {
      char name[16];
      std::snprintf(name, sizeof(name), "f%03d", i++);
      tensors_.emplace_back(name, MakeTestTensor(DataType::kFloat, TensorShape({bytes / 4}), seed++));
    }
    tensors_.emplace_back("d", MakeTestTensor(DataType::kDouble, TensorShape({3, 700}), seed++));
    tensors_.emplace_back("i8", MakeTestTensor(DataType::kInt8, TensorShape({5001}), seed++));
    tensors_.emplace_back("scalar", MakeTestTensor(DataType::kInt64, TensorShape(), seed++));
    tensors_.emplace_back("s", MakeTestTensor(DataType::kString, TensorShape({300}), seed++));
    partitioned_ = MakeTestTensor(DataType::kFloat, TensorShape({10, 300}), seed++);
  }

  Env* env() { return te_.env; }
  std::string Path(const std::string& name) { return te_.root + "/" + name; }

  // Writes tensors_ (and the partitioned tensor "p" in three slices) to one
  // bundle, keys added in reverse so that file order differs from key order.
  Status Save(const std::string& prefix, bool with_partitioned = true) {
    BundleWriterOptions o;
    o.env = env();
    CKPT_ASSIGN_OR_RETURN(auto w, BundleWriter::Create(prefix, o));
    for (auto it = tensors_.rbegin(); it != tensors_.rend(); ++it) {
      CKPT_RETURN_IF_ERROR(w->Add(it->first, it->second));
    }
    if (with_partitioned) {
      for (const char* spec : {"0,4:-", "4,5:-", "9,1:-"}) {
        TensorSlice sl = TensorSlice::Parse(spec).value();
        CKPT_RETURN_IF_ERROR(
            w->AddSlice("p", partitioned_.shape(), sl, ExtractSlice(partitioned_, sl)));
      }
    }
    return w->Finish();
  }

  Result<std::unique_ptr<BundleReader>> Open(const std::string& prefix, const ReaderConfig& c) {
    BundleReaderOptions o;
    o.env = env();
    o.checksum_threads = c.threads;
    o.checksum_chunk_bytes = c.chunk;
    o.verify_checksums = c.verify;
    return BundleReader::Open(prefix, o);
  }

  // Destinations for every tensor (and "p"), filled with 0xAB bytes or
  // "sentinel" strings so that untouched ones can be recognised.
  std::vector<std::pair<std::string, Tensor>> Destinations(bool with_partitioned = true) {
    std::vector<std::pair<std::string, Tensor>> out;
    auto add = [&](const std::string& key, const Tensor& like) {
      Tensor t = Tensor::Allocate(like.dtype(), like.shape()).value();
      if (t.dtype() == DataType::kString) {
        for (std::string& s : *t.mutable_strings()) s = "sentinel";
      } else if (t.byte_size() > 0) {
        std::memset(t.mutable_data(), 0xAB, t.byte_size());
      }
      out.emplace_back(key, std::move(t));
    };
    for (const auto& [k, t] : tensors_) add(k, t);
    if (with_partitioned) add("p", partitioned_);
    return out;
  }

  static bool Untouched(const Tensor& t) {
    if (t.dtype() == DataType::kString) {
      return std::all_of(t.strings().begin(), t.strings().end(),
                         [](const std::string& s) { return s == "sentinel"; });
    }
    for (size_t i = 0; i < t.byte_size(); ++i) {
      if (static_cast<unsigned char>(t.data()[i]) != 0xAB) return false;
    }
    return true;
  }

  static std::vector<ReadTarget> Targets(std::vector<std::pair<std::string, Tensor>>& dest) {
    std::vector<ReadTarget> targets;
    for (auto& [k, t] : dest) targets.push_back({k, &t});
    return targets;
  }

  // Every key saved (tensors_ and "p").
  std::vector<std::string> AllKeys() const {
    std::vector<std::string> out = {"p"};
    for (const auto& [k, t] : tensors_) out.push_back(k);
    return out;
  }

  const Tensor& Want(const std::string& key) {
    if (key == "p") return partitioned_;
    for (const auto& [k, t] : tensors_) {
      if (k == key) return t;
    }
    ADD_FAILURE() << "no tensor " << key;
    return partitioned_;
  }

  // Flips one byte in the middle of `key`'s stored bytes.
  void Corrupt(const std::string& prefix, const BundleEntry& e) {
    const std::string data_path = DataFilename(prefix, e.shard_id, NumShards(prefix));
    auto bytes = ReadFileToString(env(), data_path);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    std::string b = *bytes;
    b[static_cast<size_t>(e.offset + e.size / 2)] ^= 0x10;
    CKPT_ASSERT_OK(WriteStringToFile(env(), data_path, b));
  }

  int NumShards(const std::string& prefix) {
    BundleReaderOptions o;
    o.env = env();
    auto r = BundleReader::Open(prefix, o);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? (*r)->num_shards() : 1;
  }

  // Saves the bundle at `prefix` (see Save) and returns FileOrder of it;
  // empty, with the failure reported, if that failed.
  std::vector<BundleEntry> SaveInFileOrder(const std::string& prefix,
                                           bool with_partitioned = true) {
    Status saved = Save(prefix, with_partitioned);
    EXPECT_TRUE(saved.ok()) << saved;
    if (!saved.ok()) return {};
    auto r = Open(prefix, kConfigs[0]);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? FileOrder(**r) : std::vector<BundleEntry>{};
  }

  // Fixed-size unpartitioned entries (size > 0) in file order.
  static std::vector<BundleEntry> FileOrder(const BundleReader& r) {
    std::vector<BundleEntry> out;
    for (const BundleEntry& e : r.entries()) {
      if (e.slices.empty() && e.dtype != DataType::kString && e.size > 0 && e.key[0] != '\0') {
        out.push_back(e);
      }
    }
    std::sort(out.begin(), out.end(), [](const BundleEntry& a, const BundleEntry& b) {
      return a.shard_id != b.shard_id ? a.shard_id < b.shard_id : a.offset < b.offset;
    });
    return out;
  }

  TestEnv te_;
  std::vector<std::pair<std::string, Tensor>> tensors_;
  Tensor partitioned_;
};

TEST_P(ReadManyTest, ReadsEverythingInAnyTargetOrder) {
  const std::string prefix = Path("m");
  CKPT_ASSERT_OK(Save(prefix));
  std::mt19937 rng(3);
  for (const ReaderConfig& c : kConfigs) {
    CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open(prefix, c));
    for (int order = 0; order < 3; ++order) {
      auto dest = Destinations();
      if (order == 1) std::reverse(dest.begin(), dest.end());
      if (order == 2) std::shuffle(dest.begin(), dest.end(), rng);
      std::vector<ReadTarget> targets = Targets(dest);
      CKPT_ASSERT_OK(r->ReadManyInto(targets));
      for (const auto& [k, t] : dest) {
        EXPECT_TRUE(t.Equals(Want(k))) << c.name << " order " << order << " key " << k;
      }
    }
    // A subset, and an empty list.
    auto dest = Destinations();
    std::vector<ReadTarget> some = {{dest[3].first, &dest[3].second},
                                    {dest[10].first, &dest[10].second}};
    CKPT_ASSERT_OK(r->ReadManyInto(some));
    EXPECT_TRUE(dest[3].second.Equals(Want(dest[3].first))) << c.name;
    EXPECT_TRUE(dest[10].second.Equals(Want(dest[10].first))) << c.name;
    EXPECT_TRUE(Untouched(dest[4].second)) << c.name;
    CKPT_EXPECT_OK(r->ReadManyInto({}));
  }
}

TEST_P(ReadManyTest, SameBytesAsReadInto) {
  const std::string prefix = Path("m");
  CKPT_ASSERT_OK(Save(prefix));
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open(prefix, kConfigs[0]));
  auto many = Destinations();
  std::vector<ReadTarget> targets = Targets(many);
  CKPT_ASSERT_OK(r->ReadManyInto(targets));
  for (auto& [k, t] : many) {
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor one, Tensor::Allocate(t.dtype(), t.shape()));
    CKPT_ASSERT_OK(r->ReadInto(k, &one));
    EXPECT_TRUE(one.Equals(t)) << k;
  }
}

TEST_P(ReadManyTest, ChecksumMismatchNamesTheKeyAndFile) {
  const std::string prefix = Path("m");
  const std::vector<BundleEntry> order = SaveInFileOrder(prefix);
  ASSERT_GT(order.size(), 20u);
  const BundleEntry middle = order[order.size() / 2];
  Corrupt(prefix, middle);
  for (const ReaderConfig& c : kConfigs) {
    CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open(prefix, c));
    auto dest = Destinations();
    std::vector<ReadTarget> targets = Targets(dest);
    Status s = r->ReadManyInto(targets);
    // ReadMany (into new tensors) fails the same way.
    const std::vector<std::string> names = AllKeys();
    EXPECT_EQ(r->ReadMany({names.begin(), names.end()}).status().ToString(), s.ToString()) << c.name;
    if (!c.verify) {
      CKPT_EXPECT_OK(s);
      continue;
    }
    EXPECT_THAT(s, StatusIs(StatusCode::kDataLoss, "Tensor \"" + middle.key + "\"")) << c.name;
    EXPECT_THAT(s.message(), AllOf(HasSubstr(DataFilename(prefix, 0, 1)),
                                   HasSubstr("Checksum does not match")))
        << c.name;
    // ReadInto reports the same error for that tensor alone.
    for (auto& [k, t] : dest) {
      if (k != middle.key) continue;
      EXPECT_EQ(r->ReadInto(k, &t).ToString(), s.ToString()) << c.name;
    }
  }
}

TEST_P(ReadManyTest, FirstCorruptTensorInFileOrderIsReported) {
  const std::string prefix = Path("m");
  const std::vector<BundleEntry> order = SaveInFileOrder(prefix);
  ASSERT_FALSE(order.empty());
  // The largest tensor (> 4 MiB, read split) and one written after it, and
  // two small ones; keys were added in reverse, so file order != key order.
  auto big = std::max_element(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return a.size < b.size;
  });
  ASSERT_GT(big->size, int64_t{4} << 20);
  ASSERT_NE(big + 1, order.end());
  const BundleEntry first = *big, later = *(big + 1), last = order.back();
  Corrupt(prefix, later);
  Corrupt(prefix, last);
  Corrupt(prefix, first);
  for (const ReaderConfig& c : kConfigs) {
    if (!c.verify) continue;
    CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open(prefix, c));
    auto dest = Destinations();
    std::reverse(dest.begin(), dest.end());
    std::vector<ReadTarget> targets = Targets(dest);
    EXPECT_THAT(r->ReadManyInto(targets),
                StatusIs(StatusCode::kDataLoss, std::string("Tensor \"" + first.key + "\"")))
        << c.name;
    // Without the first, the next one in file order.
    std::vector<ReadTarget> rest;
    for (const ReadTarget& t : targets) {
      if (t.key != first.key) rest.push_back(t);
    }
    EXPECT_THAT(r->ReadManyInto(rest),
                StatusIs(StatusCode::kDataLoss, std::string("Tensor \"" + later.key + "\"")))
        << c.name;
  }
}

TEST_P(ReadManyTest, ChecksBeforeReadingAnything) {
  const std::string prefix = Path("m");
  CKPT_ASSERT_OK(Save(prefix));
  // Corrupt data: any read would fail with DataLoss; the checks come first.
  {
    CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open(prefix, kConfigs[0]));
    Corrupt(prefix, FileOrder(*r).front());
  }
  for (const ReaderConfig& c : kConfigs) {
    CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open(prefix, c));
    auto dest = Destinations();
    {
      // Wrong dtype on the last target.
      std::vector<ReadTarget> targets = Targets(dest);
      Tensor wrong = Tensor::Allocate(DataType::kInt32, Want("d").shape()).value();
      targets.push_back({"d", &wrong});
      EXPECT_THAT(r->ReadManyInto(targets),
                  StatusIs(StatusCode::kInvalidArgument,
                           std::string("tensor_name = d; expected dtype int32 does not equal "
                                     "original dtype double")))
          << c.name;
    }
    {
      std::vector<ReadTarget> targets = Targets(dest);
      Tensor wrong = Tensor::Allocate(DataType::kFloat, TensorShape({10, 301})).value();
      targets.push_back({"p", &wrong});
      EXPECT_THAT(r->ReadManyInto(targets),
                  StatusIs(StatusCode::kInvalidArgument,
                           std::string("tensor_name = p; shape in shape_and_slice spec [10,301] does "
                                     "not match the shape stored in checkpoint: [10,300]")))
          << c.name;
    }
    {
      std::vector<ReadTarget> targets = Targets(dest);
      targets.push_back({"nope", &dest[0].second});
      EXPECT_THAT(r->ReadManyInto(targets),
                  StatusIs(StatusCode::kNotFound, std::string("Key nope not found in checkpoint")))
          << c.name;
    }
    {
      std::vector<ReadTarget> targets = Targets(dest);
      targets.push_back({"d", nullptr});
      EXPECT_THAT(r->ReadManyInto(targets),
                  StatusIs(StatusCode::kInvalidArgument, std::string("\"d\"")))
          << c.name;
    }
    {
      // A read-only view.
      std::vector<ReadTarget> targets = Targets(dest);
      std::vector<double> mem(2100);
      Tensor view = Tensor::View(DataType::kDouble, TensorShape({3, 700}), mem.data());
      targets.push_back({"d", &view});
      EXPECT_THAT(r->ReadManyInto(targets),
                  StatusIs(StatusCode::kInvalidArgument, std::string("read-only view")))
          << c.name;
    }
    {
      // Two targets sharing one buffer (a Tensor copy shares storage).
      std::vector<ReadTarget> targets = Targets(dest);
      Tensor alias = dest.back().second;  // "p"
      targets.push_back({"p", &alias});
      EXPECT_THAT(r->ReadManyInto(targets),
                  StatusIs(StatusCode::kInvalidArgument, std::string("share memory")))
          << c.name;
    }
    for (const auto& [k, t] : dest) EXPECT_TRUE(Untouched(t)) << c.name << " " << k;
  }
}

TEST_P(ReadManyTest, TruncatedDataFileIsReportedBeforeReading) {
  const std::string prefix = Path("m");
  CKPT_ASSERT_OK(Save(prefix));
  const std::string data_path = DataFilename(prefix, 0, 1);
  auto bytes = ReadFileToString(env(), data_path);
  ASSERT_TRUE(bytes.ok());
  CKPT_ASSERT_OK(WriteStringToFile(env(), data_path, bytes->substr(0, bytes->size() - 100)));
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open(prefix, kConfigs[0]));
  auto dest = Destinations();
  std::vector<ReadTarget> targets = Targets(dest);
  EXPECT_THAT(r->ReadManyInto(targets),
              StatusIs(StatusCode::kDataLoss, std::string("truncated file?")));
  for (const auto& [k, t] : dest) EXPECT_TRUE(Untouched(t)) << k;
}

TEST_P(ReadManyTest, StringTensorsAreVerifiedToo) {
  const std::string prefix = Path("m");
  CKPT_ASSERT_OK(Save(prefix));
  {
    CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open(prefix, kConfigs[0]));
    CKPT_ASSERT_OK_AND_ASSIGN(const BundleEntry* s, r->Lookup("s"));
    Corrupt(prefix, *s);
  }
  // The only string tensor alone, and among everything else.
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open(prefix, kConfigs[0]));
  auto dest = Destinations();
  Tensor* s = nullptr;
  for (auto& [k, t] : dest) {
    if (k == "s") s = &t;
  }
  ASSERT_NE(s, nullptr);
  EXPECT_THAT(r->ReadManyInto({{"s", s}}),
              StatusIs(StatusCode::kDataLoss, std::string("\"s\"")));
  std::vector<ReadTarget> targets = Targets(dest);
  EXPECT_THAT(r->ReadManyInto(targets), StatusIs(StatusCode::kDataLoss, std::string("\"s\"")));
}

TEST_P(ReadManyTest, MultipleShards) {
  // Three bundles merged into one prefix with three data files.
  std::vector<std::string> parts;
  const size_t n = tensors_.size();
  for (int shard = 0; shard < 3; ++shard) {
    const std::string p = Path("part" + std::to_string(shard));
    BundleWriterOptions o;
    o.env = env();
    CKPT_ASSERT_OK_AND_ASSIGN(auto w, BundleWriter::Create(p, o));
    for (size_t i = shard; i < n; i += 3) CKPT_ASSERT_OK(w->Add(tensors_[i].first, tensors_[i].second));
    CKPT_ASSERT_OK(w->Finish());
    parts.push_back(p);
  }
  const std::string merged = Path("merged");
  CKPT_ASSERT_OK(MergeBundles(env(), parts, merged));
  for (const ReaderConfig& c : kConfigs) {
    CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open(merged, c));
    ASSERT_EQ(r->num_shards(), 3);
    auto dest = Destinations(/*with_partitioned=*/false);
    std::shuffle(dest.begin(), dest.end(), std::mt19937(11));
    std::vector<ReadTarget> targets = Targets(dest);
    CKPT_ASSERT_OK(r->ReadManyInto(targets));
    for (const auto& [k, t] : dest) EXPECT_TRUE(t.Equals(Want(k))) << c.name << " " << k;
  }
  // A corrupt tensor in the second data file is named with that file.
  const auto& victim = tensors_[4];  // shard 1
  {
    CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open(merged, kConfigs[0]));
    CKPT_ASSERT_OK_AND_ASSIGN(const BundleEntry* e, r->Lookup(victim.first));
    ASSERT_EQ(e->shard_id, 1);
    Corrupt(merged, *e);
  }
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open(merged, kConfigs[2]));
  auto dest = Destinations(false);
  std::vector<ReadTarget> targets = Targets(dest);
  Status s = r->ReadManyInto(targets);
  EXPECT_THAT(s, StatusIs(StatusCode::kDataLoss, "\"" + victim.first + "\""));
  EXPECT_THAT(s.message(), HasSubstr(DataFilename(merged, 1, 3)));
}

// ---- ReadMany: the same tensors into new memory ------------------------------

TEST_P(ReadManyTest, ReadManyReturnsWhatReadReturnsInKeyOrder) {
  const std::string prefix = Path("m");
  CKPT_ASSERT_OK(Save(prefix));
  std::vector<std::string> names = AllKeys();
  std::shuffle(names.begin(), names.end(), std::mt19937(5));
  names.push_back("d");  // a repeat
  const std::vector<std::string_view> keys(names.begin(), names.end());
  for (const ReaderConfig& c : kConfigs) {
    CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open(prefix, c));
    CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> got, r->ReadMany(keys));
    ASSERT_EQ(got.size(), keys.size()) << c.name;
    size_t first_d = keys.size();
    for (size_t i = 0; i < keys.size(); ++i) {
      EXPECT_TRUE(got[i].Equals(Want(names[i]))) << c.name << " " << names[i];
      EXPECT_FALSE(got[i].is_view()) << c.name << " " << names[i];
      if (names[i] == "d" && first_d == keys.size()) first_d = i;
    }
    // Every tensor owns its memory, the two of the repeated key included.
    ASSERT_LT(first_d, keys.size() - 1) << c.name;
    got.back().mutable_data()[0] ^= 1;
    EXPECT_TRUE(got[first_d].Equals(Want("d"))) << c.name;
    EXPECT_FALSE(got.back().Equals(Want("d"))) << c.name;
    CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> none, r->ReadMany({}));
    EXPECT_TRUE(none.empty()) << c.name;
  }
}

// (A corrupt tensor: ChecksumMismatchNamesTheKeyAndFile.)
TEST_P(ReadManyTest, ReadManyChecksBeforeReading) {
  const std::string prefix = Path("m");
  CKPT_ASSERT_OK(Save(prefix));
  const std::vector<std::string> names = AllKeys();
  const std::vector<std::string_view> keys(names.begin(), names.end());
  for (const ReaderConfig& c : kConfigs) {
    CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open(prefix, c));
    // An unknown key after known ones: NotFound, worded as Read words it.
    std::vector<std::string_view> with_unknown = keys;
    with_unknown.push_back("nope");
    EXPECT_THAT(r->ReadMany(with_unknown),
                StatusIs(StatusCode::kNotFound, std::string("Key nope not found in checkpoint")))
        << c.name;
  }
  // A truncated data file: found before anything is allocated or read.
  const std::string data_path = DataFilename(prefix, 0, 1);
  auto bytes = ReadFileToString(env(), data_path);
  ASSERT_TRUE(bytes.ok());
  CKPT_ASSERT_OK(WriteStringToFile(env(), data_path, bytes->substr(0, bytes->size() - 100)));
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open(prefix, kConfigs[0]));
  EXPECT_THAT(r->ReadMany(keys), StatusIs(StatusCode::kDataLoss, std::string("truncated file?")));
}

// ---- ReadManyViews ----------------------------------------------------------

Result<std::unique_ptr<BundleReader>> OpenMapped(Env* env, const std::string& prefix,
                                                 const ReaderConfig& c) {
  BundleReaderOptions o;
  o.env = env;
  o.use_mmap = true;
  o.checksum_threads = c.threads;
  o.checksum_chunk_bytes = c.chunk;
  o.verify_checksums = c.verify;
  return BundleReader::Open(prefix, o);
}

// Keys of the tensors that can be viewed (fixed-size, unpartitioned).
std::vector<std::string> ViewableKeys(const std::vector<std::pair<std::string, Tensor>>& tensors) {
  std::vector<std::string> out;
  for (const auto& [k, t] : tensors) {
    if (t.dtype() != DataType::kString) out.push_back(k);
  }
  return out;
}

TEST_P(ReadManyTest, ReadManyViewsSameBytesAsReadInAnyKeyOrder) {
  const std::string prefix = Path("m");
  CKPT_ASSERT_OK(Save(prefix));
  std::vector<std::string> names = ViewableKeys(tensors_);
  ASSERT_GT(names.size(), 40u);
  std::mt19937 rng(5);
  for (const ReaderConfig& c : kConfigs) {
    CKPT_ASSERT_OK_AND_ASSIGN(auto r, OpenMapped(env(), prefix, c));
    for (int order = 0; order < 3; ++order) {
      std::vector<std::string_view> keys(names.begin(), names.end());
      if (order == 1) std::reverse(keys.begin(), keys.end());
      if (order == 2) std::shuffle(keys.begin(), keys.end(), rng);
      keys.push_back(keys[order]);  // a repeat
      CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> views, r->ReadManyViews(keys));
      ASSERT_EQ(views.size(), keys.size());
      for (size_t i = 0; i < keys.size(); ++i) {
        const std::string key(keys[i]);
        EXPECT_TRUE(views[i].Equals(Want(key))) << c.name << " order " << order << " key " << key;
        CKPT_ASSERT_OK_AND_ASSIGN(Tensor read, r->Read(key));
        EXPECT_TRUE(views[i].Equals(read)) << c.name << " " << key;
        CKPT_ASSERT_OK_AND_ASSIGN(Tensor one, r->ReadView(key));
        EXPECT_EQ(views[i].data(), one.data()) << c.name << " " << key;  // zero-copy
      }
    }
    CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> none, r->ReadManyViews({}));
    EXPECT_TRUE(none.empty());
  }
}

TEST_P(ReadManyTest, ReadManyViewsReportsFirstCorruptTensorInFileOrder) {
  const std::string prefix = Path("m");
  const std::vector<BundleEntry> order = SaveInFileOrder(prefix);
  ASSERT_GT(order.size(), 20u);
  // A tensor in the middle, and two after it (one the last in the file).
  const BundleEntry middle = order[order.size() / 2], later = order[order.size() / 2 + 3],
                    last = order.back();
  Corrupt(prefix, last);
  Corrupt(prefix, later);
  Corrupt(prefix, middle);
  std::vector<std::string> names = ViewableKeys(tensors_);
  for (const ReaderConfig& c : kConfigs) {
    CKPT_ASSERT_OK_AND_ASSIGN(auto r, OpenMapped(env(), prefix, c));
    std::vector<std::string_view> keys(names.rbegin(), names.rend());
    Result<std::vector<Tensor>> views = r->ReadManyViews(keys);
    if (!c.verify) {
      EXPECT_TRUE(views.ok()) << c.name << " " << views.status().ToString();
      continue;
    }
    Status s = views.status();
    EXPECT_THAT(s, StatusIs(StatusCode::kDataLoss, "Tensor \"" + middle.key + "\"")) << c.name;
    EXPECT_THAT(s.message(), AllOf(HasSubstr(DataFilename(prefix, 0, 1)),
                                   HasSubstr("Checksum does not match")))
        << c.name;
    // ReadView reports the same error for that tensor alone.
    EXPECT_EQ(r->ReadView(middle.key).status().ToString(), s.ToString()) << c.name;
    // Without it, the next corrupt one in file order.
    keys.erase(std::remove(keys.begin(), keys.end(), std::string_view(middle.key)), keys.end());
    EXPECT_THAT(r->ReadManyViews(keys).status(),
                StatusIs(StatusCode::kDataLoss, "Tensor \"" + later.key + "\""))
        << c.name;
    // The intact tensors alone are fine.
    std::vector<std::string_view> intact;
    for (const std::string& k : names) {
      if (k != middle.key && k != later.key && k != last.key) intact.push_back(k);
    }
    Status intact_status = r->ReadManyViews(intact).status();
    EXPECT_TRUE(intact_status.ok()) << c.name << " " << intact_status.ToString();
  }
}

TEST_P(ReadManyTest, ReadManyViewsChecksBeforeVerifying) {
  const std::string prefix = Path("m");
  CKPT_ASSERT_OK(Save(prefix));
  // Corrupt data: any checksum would fail with DataLoss; the checks come first.
  {
    CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open(prefix, kConfigs[0]));
    Corrupt(prefix, FileOrder(*r).front());
  }
  std::vector<std::string> names = ViewableKeys(tensors_);
  for (const ReaderConfig& c : kConfigs) {
    CKPT_ASSERT_OK_AND_ASSIGN(auto r, OpenMapped(env(), prefix, c));
    std::vector<std::string_view> keys(names.begin(), names.end());
    keys.push_back("nope");
    EXPECT_THAT(r->ReadManyViews(keys).status(),
                StatusIs(StatusCode::kNotFound, std::string("Key nope not found in checkpoint")))
        << c.name;
    keys.back() = "s";
    EXPECT_THAT(r->ReadManyViews(keys).status(),
                StatusIs(StatusCode::kInvalidArgument,
                         std::string("ReadView(\"s\"): only unpartitioned fixed-size tensors")))
        << c.name;
    keys.back() = "p";
    EXPECT_THAT(r->ReadManyViews(keys).status(),
                StatusIs(StatusCode::kInvalidArgument, std::string("ReadView(\"p\")")))
        << c.name;
  }
  // A reader without use_mmap cannot make views.
  CKPT_ASSERT_OK_AND_ASSIGN(auto plain, Open(prefix, kConfigs[0]));
  std::vector<std::string_view> keys(names.begin(), names.end());
  EXPECT_THAT(plain->ReadManyViews(keys).status(),
              StatusIs(StatusCode::kFailedPrecondition, std::string("use_mmap")));
}

// Records the Prefetch hints given to the files it opens.
class PrefetchRecordingEnv : public ForwardingEnv {
 public:
  using ForwardingEnv::ForwardingEnv;
  struct Range {
    uint64_t offset, n;
  };
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override {
    CKPT_ASSIGN_OR_RETURN(auto f, ForwardingEnv::NewRandomAccessFile(path));
    return Wrap(std::move(f));
  }
  Result<std::unique_ptr<RandomAccessFile>> NewMappedFile(const std::string& path) override {
    CKPT_ASSIGN_OR_RETURN(auto f, ForwardingEnv::NewMappedFile(path));
    return Wrap(std::move(f));
  }
  std::vector<Range> ranges;

 private:
  class File : public RandomAccessFile {
   public:
    File(std::unique_ptr<RandomAccessFile> f, PrefetchRecordingEnv* env)
        : f_(std::move(f)), env_(env) {}
    Result<std::string_view> Read(uint64_t o, size_t n, char* scratch) const override {
      return f_->Read(o, n, scratch);
    }
    uint64_t Size() const override { return f_->Size(); }
    const char* MappedData() const override { return f_->MappedData(); }
    void Prefetch(uint64_t o, uint64_t n) const override {
      env_->ranges.push_back({o, n});
      f_->Prefetch(o, n);
    }

   private:
    std::unique_ptr<RandomAccessFile> f_;
    PrefetchRecordingEnv* env_;
  };
  std::unique_ptr<RandomAccessFile> Wrap(std::unique_ptr<RandomAccessFile> f) {
    return std::make_unique<File>(std::move(f), this);
  }
};

TEST_P(ReadManyTest, BatchedReadsPrefetchTheirWholeRange) {
  const std::string prefix = Path("m");
  const std::vector<BundleEntry> order = SaveInFileOrder(prefix, /*with_partitioned=*/false);
  ASSERT_FALSE(order.empty());
  PrefetchRecordingEnv rec(env());
  // Every fixed-size tensor lies in the one prefetched range.
  auto covered = [&](const std::vector<PrefetchRecordingEnv::Range>& got) {
    if (got.size() != 1) return false;
    for (const BundleEntry& e : order) {
      if (static_cast<uint64_t>(e.offset) < got[0].offset ||
          static_cast<uint64_t>(e.offset + e.size) > got[0].offset + got[0].n) {
        return false;
      }
    }
    return true;
  };
  for (bool mapped : {false, true}) {
    BundleReaderOptions o;
    o.env = &rec;
    o.use_mmap = mapped;
    CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(prefix, o));
    rec.ranges.clear();
    if (mapped) {
      std::vector<std::string> names = ViewableKeys(tensors_);
      std::vector<std::string_view> keys(names.begin(), names.end());
      CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> views, r->ReadManyViews(keys));
      for (size_t i = 0; i < keys.size(); ++i) EXPECT_TRUE(views[i].Equals(Want(names[i]))) << names[i];
    } else {
      auto dest = Destinations(/*with_partitioned=*/false);
      std::vector<ReadTarget> targets = Targets(dest);
      CKPT_ASSERT_OK(r->ReadManyInto(targets));
      for (const auto& [k, t] : dest) EXPECT_TRUE(t.Equals(Want(k))) << k;
    }
    EXPECT_TRUE(covered(rec.ranges)) << "mapped " << mapped << ": " << rec.ranges.size() << " ranges";
    // A small tensor alone is left to normal readahead.
    rec.ranges.clear();
    CKPT_ASSERT_OK(r->Read("scalar").status());
    EXPECT_TRUE(rec.ranges.empty()) << "mapped " << mapped;
  }
}

INSTANTIATE_TEST_SUITE_P(Envs, ReadManyTest, ::testing::Values(EnvKind::kPosix, EnvKind::kMem),
                         [](const auto& info) { return EnvKindName(info.param); });

}  // namespace
}  // namespace ckpt

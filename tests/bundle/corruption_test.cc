// Damaged and lying bundles: every failure is a clean error (DataLoss for
// corrupt bytes, InvalidArgument for unsupported versions), never a crash and
// never a huge allocation.
#include <limits>

#include "ckpt/bundle.h"
#include "crc/crc32c.h"
#include "env/coding.h"
#include "table/table.h"
#include "tensorflow/core/protobuf/tensor_bundle.pb.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::StatusIs;
using ::ckpt::testing::WriteStringToFile;

constexpr char kDir[] = "/c";
constexpr char kPrefix[] = "/c/model";

struct Footer {
  uint64_t meta_off = 0, meta_size = 0, index_off = 0, index_size = 0;
};

Footer ParseFooter(const std::string& index) {
  Footer f;
  std::string_view in(index.data() + index.size() - 48, 40);
  EXPECT_TRUE(GetVarint64(&in, &f.meta_off) && GetVarint64(&in, &f.meta_size) &&
              GetVarint64(&in, &f.index_off) && GetVarint64(&in, &f.index_size));
  return f;
}

class CorruptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CKPT_ASSERT_OK(env_->CreateDirs(kDir));
    // f: float [4] at 0 (16 bytes); s: string [3] at 16 (3 + 4 + 5 = 12
    // bytes); i: int64 [] at 28 (8 bytes). 36 bytes in all.
    tensors_ = {{"f", Tensor::FromVector<float>(TensorShape({4}), {1.5f, -2, 3, 4})},
                {"s", Tensor::FromStrings(TensorShape({3}), {"ab", "", "xyz"}).value()},
                {"i", Tensor::Scalar<int64_t>(-77)}};
    BundleWriterOptions o;
    o.env = env_.get();
    CKPT_ASSERT_OK_AND_ASSIGN(auto w, BundleWriter::Create(kPrefix, o));
    for (const auto& [k, t] : tensors_) CKPT_ASSERT_OK(w->Add(k, t));
    CKPT_ASSERT_OK(w->Finish());
    index_ = ReadFileToString(env_.get(), MetaFilename(kPrefix)).value();
    data_ = ReadFileToString(env_.get(), DataFilename(kPrefix, 0, 1)).value();
    ASSERT_EQ(data_.size(), 36u);
  }

  BundleReaderOptions Opts() {
    BundleReaderOptions o;
    o.env = env_.get();
    return o;
  }
  Result<std::unique_ptr<BundleReader>> Open() { return BundleReader::Open(kPrefix, Opts()); }
  void PutIndex(const std::string& bytes) {
    CKPT_ASSERT_OK(WriteStringToFile(env_.get(), MetaFilename(kPrefix), bytes));
  }
  void PutData(const std::string& bytes) {
    CKPT_ASSERT_OK(WriteStringToFile(env_.get(), DataFilename(kPrefix, 0, 1), bytes));
  }
  Status OpenStatus() { return Open().status(); }

  // Offsets of each tensor's bytes in data_.
  struct Range {
    std::string key;
    int64_t begin, end;
  };
  std::vector<Range> Ranges() { return {{"f", 0, 16}, {"s", 16, 28}, {"i", 28, 36}}; }

  std::unique_ptr<MemEnv> env_ = NewMemEnv();
  std::vector<std::pair<std::string, Tensor>> tensors_;
  std::string index_, data_;
};

TEST_F(CorruptionTest, IntactBundleReads) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open());
  for (const auto& [k, t] : tensors_) {
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor got, r->Read(k));
    EXPECT_TRUE(got.Equals(t)) << k;
  }
  for (const Range& rg : Ranges()) {
    CKPT_ASSERT_OK_AND_ASSIGN(const BundleEntry* e, r->Lookup(rg.key));
    EXPECT_EQ(e->offset, rg.begin);
    EXPECT_EQ(e->offset + e->size, rg.end);
  }
}

TEST_F(CorruptionTest, IndexFlipsAtKnownOffsets) {
  const Footer f = ParseFooter(index_);
  ASSERT_EQ(f.meta_off, f.index_off - f.meta_size - 5 + 0) << "metaindex directly precedes index";
  const size_t data_block_size = f.meta_off - 5;
  struct Case {
    const char* what;
    size_t offset;
    const char* substr;
  } cases[] = {
      {"data block", 10, "checksum"},
      {"data block restart count", data_block_size - 1, "checksum"},
      {"data block trailer type", data_block_size, ""},
      {"data block trailer crc", data_block_size + 2, "checksum"},
      {"index block", f.index_off + 1, ""},
      {"index block crc", f.index_off + f.index_size + 3, "checksum"},
      {"footer magic", index_.size() - 1, "magic"},
      {"footer magic first byte", index_.size() - 8, "magic"},
      {"footer index handle", index_.size() - 48 + 2, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    std::string bad = index_;
    bad[c.offset] ^= 0x40;
    PutIndex(bad);
    Status s = OpenStatus();
    EXPECT_THAT(s, StatusIs(StatusCode::kDataLoss, c.substr));
    EXPECT_NE(s.message().find("model.index"), std::string::npos) << s;
  }
}

TEST_F(CorruptionTest, DataFlipInsideFloatTensor) {
  std::string bad = data_;
  bad[5] ^= 0x01;
  PutData(bad);
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open());
  Status s = r->Read("f").status();
  EXPECT_THAT(s, StatusIs(StatusCode::kDataLoss, "Checksum does not match"));
  EXPECT_NE(s.message().find("\"f\""), std::string::npos) << s;
  EXPECT_NE(s.message().find("model.data-00000-of-00001"), std::string::npos) << s;
  Tensor into = Tensor::Allocate(DataType::kFloat, TensorShape({4})).value();
  EXPECT_THAT(r->ReadInto("f", &into), StatusIs(StatusCode::kDataLoss, ""));
  EXPECT_THAT(r->ReadSlice("f", TensorSlice::Parse("1,2").value()),
              StatusIs(StatusCode::kDataLoss, ""));
  // The other tensors are unaffected.
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor i, r->Read("i"));
  EXPECT_EQ(*i.flat<int64_t>(), -77);
  CKPT_ASSERT_OK(r->Read("s").status());
}

TEST_F(CorruptionTest, DataFlipInStringLengthChecksum) {
  std::string bad = data_;
  bad[16 + 3 + 1] ^= 0x08;  // the masked length CRC after 3 varints
  PutData(bad);
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open());
  Status s = r->Read("s").status();
  EXPECT_THAT(s, StatusIs(StatusCode::kDataLoss, "length checksum does not match"));
  EXPECT_NE(s.message().find("\"s\""), std::string::npos) << s;
  EXPECT_NE(s.message().find("model.data-00000-of-00001"), std::string::npos) << s;
}

TEST_F(CorruptionTest, DataFlipInStringBodyAndLengths) {
  for (int64_t off : {int64_t{16}, int64_t{17}, int64_t{18}, int64_t{16 + 7}, int64_t{27}}) {
    SCOPED_TRACE(off);
    std::string bad = data_;
    bad[off] ^= 0x01;
    PutData(bad);
    CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open());
    Status s = r->Read("s").status();
    EXPECT_THAT(s, StatusIs(StatusCode::kDataLoss, ""));
    EXPECT_NE(s.message().find("\"s\""), std::string::npos) << s;
  }
}

TEST_F(CorruptionTest, EveryIndexByteFlip) {
  // Each flipped index either fails to open with DataLoss, or (a byte LevelDB
  // never uses, such as footer padding or the unused metaindex) opens and
  // reads correct data.
  int failures = 0;
  for (size_t pos = 0; pos < index_.size(); ++pos) {
    for (uint8_t mask : {0x01, 0x80, 0xff}) {
      std::string bad = index_;
      bad[pos] = static_cast<char>(bad[pos] ^ mask);
      PutIndex(bad);
      auto r = Open();
      if (!r.ok()) {
        EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << pos << ": " << r.status();
        ++failures;
        continue;
      }
      ASSERT_EQ((*r)->entries().size(), tensors_.size()) << pos;
      for (const auto& [k, t] : tensors_) {
        auto got = (*r)->Read(k);
        ASSERT_TRUE(got.ok()) << "flip at " << pos << " key " << k << ": " << got.status();
        EXPECT_TRUE(got->Equals(t)) << "flip at " << pos << " key " << k;
      }
    }
  }
  EXPECT_GT(failures, static_cast<int>(index_.size()));
}

TEST_F(CorruptionTest, EveryDataByteFlip) {
  // The data file is dense: every byte belongs to exactly one tensor, whose
  // read must fail; the others still read correctly.
  for (size_t pos = 0; pos < data_.size(); ++pos) {
    for (uint8_t mask : {0x01, 0x10, 0xff}) {
      std::string bad = data_;
      bad[pos] = static_cast<char>(bad[pos] ^ mask);
      PutData(bad);
      CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open());
      for (const Range& rg : Ranges()) {
        bool hit = static_cast<int64_t>(pos) >= rg.begin && static_cast<int64_t>(pos) < rg.end;
        auto got = r->Read(rg.key);
        if (hit) {
          EXPECT_THAT(got, StatusIs(StatusCode::kDataLoss, rg.key)) << "flip at " << pos;
        } else {
          ASSERT_TRUE(got.ok()) << pos << " " << rg.key << ": " << got.status();
          for (const auto& [k, t] : tensors_) {
            if (k == rg.key) EXPECT_TRUE(got->Equals(t));
          }
        }
      }
    }
  }
}

TEST_F(CorruptionTest, TruncatedIndex) {
  for (size_t n = 0; n < index_.size(); ++n) {
    PutIndex(index_.substr(0, n));
    EXPECT_THAT(OpenStatus(), StatusIs(StatusCode::kDataLoss, "")) << "length " << n;
  }
}

TEST_F(CorruptionTest, TruncatedData) {
  for (size_t n = 0; n < data_.size(); ++n) {
    PutData(data_.substr(0, n));
    CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open());
    for (const Range& rg : Ranges()) {
      auto got = r->Read(rg.key);
      if (static_cast<int64_t>(n) < rg.end) {
        EXPECT_THAT(got, StatusIs(StatusCode::kDataLoss, rg.key)) << "length " << n;
      } else {
        EXPECT_TRUE(got.ok()) << "length " << n << " " << rg.key << ": " << got.status();
      }
    }
  }
}

TEST_F(CorruptionTest, EmptyAndZeroFilledFiles) {
  PutIndex("");
  EXPECT_THAT(OpenStatus(), StatusIs(StatusCode::kDataLoss, ""));
  for (size_t n : {size_t{1}, size_t{48}, size_t{151}, size_t{4096}}) {
    PutIndex(std::string(n, '\0'));
    EXPECT_THAT(OpenStatus(), StatusIs(StatusCode::kDataLoss, "")) << n;
  }
  PutIndex(index_);
  PutData("");
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open());
  for (const Range& rg : Ranges()) EXPECT_THAT(r->Read(rg.key), StatusIs(StatusCode::kDataLoss, ""));
  PutData(std::string(data_.size(), '\0'));
  CKPT_ASSERT_OK_AND_ASSIGN(auto r2, Open());
  for (const Range& rg : Ranges()) EXPECT_THAT(r2->Read(rg.key), StatusIs(StatusCode::kDataLoss, ""));
}

TEST_F(CorruptionTest, MissingDataFile) {
  CKPT_ASSERT_OK(env_->DeleteFile(DataFilename(kPrefix, 0, 1)));
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open());
  EXPECT_THAT(r->Read("f"), StatusIs(StatusCode::kNotFound, "model.data-00000-of-00001"));
}

TEST_F(CorruptionTest, OnPosixToo) {
  const std::string dir = testing::TempDir();
  const std::string prefix = JoinPath(dir, "model");
  Env* env = Env::Posix();
  CKPT_ASSERT_OK(WriteStringToFile(env, MetaFilename(prefix), index_));
  std::string bad = data_;
  bad[30] ^= 0x04;
  CKPT_ASSERT_OK(WriteStringToFile(env, DataFilename(prefix, 0, 1), bad));
  for (bool mmap : {false, true}) {
    BundleReaderOptions o;
    o.use_mmap = mmap;
    CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(prefix, o));
    EXPECT_THAT(r->Read("i"), StatusIs(StatusCode::kDataLoss, "\"i\""));
    if (mmap) EXPECT_THAT(r->ReadView("i"), StatusIs(StatusCode::kDataLoss, "\"i\""));
    CKPT_ASSERT_OK(r->Read("f").status());
  }
  CKPT_ASSERT_OK(WriteStringToFile(env, MetaFilename(prefix), index_.substr(0, 60)));
  EXPECT_THAT(BundleReader::Open(prefix), StatusIs(StatusCode::kDataLoss, ""));
}

// ---------------------------------------------------------------------------
// Lying indexes, crafted with TableWriter and the protos.

class LyingIndexTest : public CorruptionTest {
 protected:
  static tensorflow::BundleHeaderProto Header() {
    tensorflow::BundleHeaderProto h;
    h.set_num_shards(1);
    h.set_endianness(tensorflow::BundleHeaderProto::LITTLE);
    h.mutable_version()->set_producer(1);
    return h;
  }
  static tensorflow::BundleEntryProto Entry(DataType dt, std::vector<int64_t> dims, int64_t offset,
                                            int64_t size, uint32_t crc = 0) {
    tensorflow::BundleEntryProto e;
    e.set_dtype(static_cast<tensorflow::DataType>(dt));
    auto* shape = e.mutable_shape();
    for (int64_t d : dims) shape->add_dim()->set_size(d);
    e.set_offset(offset);
    e.set_size(size);
    e.set_crc32c(crc);
    return e;
  }
  void Craft(const std::string& header,
             const std::vector<std::pair<std::string, std::string>>& entries) {
    auto f = env_->NewWritableFile(MetaFilename(kPrefix));
    ASSERT_TRUE(f.ok());
    auto t = TableWriter::Create(f->get(), MetaFilename(kPrefix));
    CKPT_ASSERT_OK(t->Add("", header));
    for (const auto& [k, v] : entries) CKPT_ASSERT_OK(t->Add(k, v));
    CKPT_ASSERT_OK(t->Finish());
    CKPT_ASSERT_OK((*f)->Close());
  }
  void CraftEntry(const tensorflow::BundleEntryProto& e, const std::string& key = "x") {
    Craft(Header().SerializeAsString(), {{key, e.SerializeAsString()}});
  }
  // Opens and reads `key` every way; returns the first error.
  Status OpenAndReadAll(const std::string& key = "x") {
    BundleReaderOptions o = Opts();
    o.use_mmap = true;
    CKPT_ASSIGN_OR_RETURN(auto r, BundleReader::Open(kPrefix, o));
    Status first;
    auto note = [&](const Status& s) {
      if (first.ok() && !s.ok()) first = s;
    };
    const Status read = r->Read(key).status();
    note(read);
    // The batched read checks the same things before allocating, and fails
    // as Read does.
    EXPECT_EQ(r->ReadMany({key}).status().ToString(), read.ToString()) << "ReadMany of " << key;
    CKPT_ASSIGN_OR_RETURN(const BundleEntry* e, r->Lookup(key));
    note(r->ReadView(key).status());
    if (e->shape.rank() > 0 && IsFixedSize(e->dtype)) {
      note(r->ReadSlice(key, TensorSlice::Full(e->shape.rank())).status());
    }
    (void)r->DebugString();
    return first;
  }
};

TEST_F(LyingIndexTest, SizeOrOffsetBeyondTheFile) {
  CraftEntry(Entry(DataType::kFloat, {4}, 30, 16));
  EXPECT_THAT(OpenAndReadAll(), StatusIs(StatusCode::kDataLoss, "claims bytes [30, 46)"));
  CraftEntry(Entry(DataType::kFloat, {4}, 1000, 16));
  EXPECT_THAT(OpenAndReadAll(), StatusIs(StatusCode::kDataLoss, "\"x\""));
  CraftEntry(Entry(DataType::kFloat, {4}, std::numeric_limits<int64_t>::max() - 3, 16));
  EXPECT_THAT(OpenAndReadAll(), StatusIs(StatusCode::kDataLoss, ""));
  CraftEntry(Entry(DataType::kFloat, {4}, -4, 16));
  EXPECT_THAT(OpenAndReadAll(), StatusIs(StatusCode::kDataLoss, "negative"));
}

TEST_F(LyingIndexTest, SizeDisagreesWithShape) {
  CraftEntry(Entry(DataType::kFloat, {4}, 0, 12));
  EXPECT_THAT(OpenAndReadAll(), StatusIs(StatusCode::kDataLoss, "Invalid size in bundle entry: key x"));
  CraftEntry(Entry(DataType::kFloat, {int64_t{1} << 40}, 0, 16));
  EXPECT_THAT(OpenAndReadAll(), StatusIs(StatusCode::kDataLoss, "Invalid size"));
  CraftEntry(Entry(DataType::kComplex128, {int64_t{1} << 60}, 0, 16));
  EXPECT_THAT(OpenAndReadAll(), StatusIs(StatusCode::kDataLoss, "Invalid size"));
}

TEST_F(LyingIndexTest, AbsurdShapeWithMatchingSizeIsNotAllocated) {
  // Size agrees with the shape (4 TiB) but the file has 36 bytes: the reader
  // must notice before allocating.
  CraftEntry(Entry(DataType::kFloat, {int64_t{1} << 40}, 0, int64_t{4} << 40));
  EXPECT_THAT(OpenAndReadAll(), StatusIs(StatusCode::kDataLoss, "x"));
  CraftEntry(Entry(DataType::kInt8, {int64_t{1} << 20, int64_t{1} << 20}, 0, int64_t{1} << 40));
  EXPECT_THAT(OpenAndReadAll(), StatusIs(StatusCode::kDataLoss, "x"));
}

TEST_F(LyingIndexTest, AbsurdStringShape) {
  CraftEntry(Entry(DataType::kString, {int64_t{1} << 40}, 16, 12));
  EXPECT_THAT(OpenAndReadAll(), StatusIs(StatusCode::kDataLoss, "x"));
  CraftEntry(Entry(DataType::kString, {int64_t{1} << 40}, 0, int64_t{1} << 41));
  EXPECT_THAT(OpenAndReadAll(), StatusIs(StatusCode::kDataLoss, "x"));
  // Element count just above what the bytes can hold.
  CraftEntry(Entry(DataType::kString, {13}, 16, 12));
  EXPECT_THAT(OpenAndReadAll(), StatusIs(StatusCode::kDataLoss, ""));
}

TEST_F(LyingIndexTest, InvalidShapes) {
  CraftEntry(Entry(DataType::kFloat, {2, -1}, 0, 8));
  EXPECT_THAT(OpenAndReadAll(), StatusIs(StatusCode::kDataLoss, "Invalid tensor shape"));
  CraftEntry(Entry(DataType::kFloat, {int64_t{1} << 40, int64_t{1} << 40}, 0, 16));
  EXPECT_THAT(OpenAndReadAll(), StatusIs(StatusCode::kDataLoss, "Invalid tensor shape"));
  tensorflow::BundleEntryProto e = Entry(DataType::kFloat, {}, 0, 4);
  e.mutable_shape()->set_unknown_rank(true);
  CraftEntry(e);
  EXPECT_THAT(OpenAndReadAll(), StatusIs(StatusCode::kDataLoss, "unknown rank"));
}

TEST_F(LyingIndexTest, RankAboveTheLimitIsDataLossNamingFileTensorAndRank) {
  // TensorFlow's limit, kMaxDimensions = 254, is accepted: 254 dims of 1
  // over the first float of "f".
  const uint32_t crc = crc32c::Mask(crc32c::Value(data_.data(), 4));
  CraftEntry(Entry(DataType::kFloat, std::vector<int64_t>(254, 1), 0, 4, crc));
  CKPT_EXPECT_OK(OpenAndReadAll());
  // One more, or a rank that would overflow the stack of a per-axis
  // recursion, is refused when the index is opened.
  for (int rank : {255, 100000}) {
    CraftEntry(Entry(DataType::kFloat, std::vector<int64_t>(rank, 1), 0, 4, crc));
    Status s = OpenStatus();
    EXPECT_THAT(s, StatusIs(StatusCode::kDataLoss, "/c/model.index")) << rank;
    EXPECT_THAT(s, StatusIs(StatusCode::kDataLoss, "tensor \"x\"")) << rank;
    EXPECT_THAT(s, StatusIs(StatusCode::kDataLoss,
                            "rank " + std::to_string(rank) + " exceeds the limit of 254"))
        << rank;
  }
}

TEST_F(LyingIndexTest, KeysInErrorMessagesAreEscaped) {
  const std::string evil = "bad\x1b[2J\r\nname\x07\x7f\xff";
  const std::string shown = "bad\\x1b[2J\\r\\nname\\x07\\x7f\\xff";
  CraftEntry(Entry(DataType::kFloat, {2, -1}, 0, 8), evil);
  Status s = OpenStatus();
  EXPECT_THAT(s, StatusIs(StatusCode::kDataLoss, "tensor \"" + shown + "\""));
  EXPECT_EQ(s.message().find('\x1b'), std::string::npos) << s;
  // A size that disagrees with the shape, found at read time.
  CraftEntry(Entry(DataType::kFloat, {4}, 0, 12), evil);
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open());
  EXPECT_THAT(r->Read(evil), StatusIs(StatusCode::kDataLoss, "key " + shown + ";"));
  EXPECT_THAT(r->Read("no\x1bsuch"), StatusIs(StatusCode::kNotFound, "Key no\\x1bsuch not found"));
  EXPECT_EQ(r->DebugString(), shown + " (DT_FLOAT) [4]\n");
}

TEST_F(LyingIndexTest, BadDtypes) {
  for (int dt : {0, 34, 99, 101, -1}) {
    tensorflow::BundleEntryProto e = Entry(DataType::kFloat, {4}, 0, 16);
    e.set_dtype(static_cast<tensorflow::DataType>(dt));
    CraftEntry(e);
    EXPECT_THAT(OpenAndReadAll(), StatusIs(StatusCode::kDataLoss, "dtype")) << dt;
  }
  CraftEntry(Entry(DataType::kResource, {1}, 0, 4));
  EXPECT_THAT(OpenAndReadAll(), StatusIs(StatusCode::kUnimplemented, "resource"));
  CraftEntry(Entry(DataType::kVariant, {}, 0, 8));
  EXPECT_FALSE(OpenAndReadAll().ok());
}

TEST_F(LyingIndexTest, ShardIdOutOfRange) {
  for (int shard : {1, 7, -1}) {
    tensorflow::BundleEntryProto e = Entry(DataType::kFloat, {4}, 0, 16);
    e.set_shard_id(shard);
    CraftEntry(e);
    EXPECT_THAT(OpenAndReadAll(), StatusIs(StatusCode::kDataLoss, "shard id")) << shard;
  }
}

TEST_F(LyingIndexTest, HugeShardCountIsNotAllocated) {
  // Two billion data files claimed; only shard 0 is referenced.
  tensorflow::BundleHeaderProto h = Header();
  h.set_num_shards(std::numeric_limits<int32_t>::max());
  Craft(h.SerializeAsString(), {{"x", Entry(DataType::kFloat, {4}, 0, 16).SerializeAsString()}});
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open());
  EXPECT_EQ(r->num_shards(), std::numeric_limits<int32_t>::max());
  EXPECT_THAT(r->Read("x"), StatusIs(StatusCode::kNotFound, "model.data-00000-of-2147483647"));
}

TEST_F(LyingIndexTest, HeaderVersionsAndEndianness) {
  auto check = [&](const tensorflow::BundleHeaderProto& h, StatusCode code, const char* substr) {
    Craft(h.SerializeAsString(), {});
    EXPECT_THAT(OpenStatus(), StatusIs(code, substr)) << h.ShortDebugString();
  };
  tensorflow::BundleHeaderProto h = Header();
  h.mutable_version()->set_min_consumer(2);
  check(h, StatusCode::kInvalidArgument, "Checkpoint ");
  h = Header();
  h.mutable_version()->add_bad_consumers(1);
  check(h, StatusCode::kInvalidArgument, "Checkpoint ");
  h = Header();
  h.mutable_version()->set_producer(-1);
  check(h, StatusCode::kInvalidArgument, "Checkpoint ");
  h = Header();
  h.set_endianness(tensorflow::BundleHeaderProto::BIG);
  check(h, StatusCode::kInvalidArgument, "big-endian");
  h = Header();
  h.set_num_shards(0);
  check(h, StatusCode::kDataLoss, "shard count");
  h = Header();
  h.set_num_shards(-3);
  check(h, StatusCode::kDataLoss, "shard count");
  // Accepted: min_consumer 1, a newer producer, other bad consumers.
  h = Header();
  h.mutable_version()->set_min_consumer(1);
  h.mutable_version()->set_producer(7);
  h.mutable_version()->add_bad_consumers(0);
  h.mutable_version()->add_bad_consumers(2);
  Craft(h.SerializeAsString(), {});
  CKPT_EXPECT_OK(OpenStatus());
}

TEST_F(LyingIndexTest, MissingOrGarbledHeader) {
  // No "" key: the first entry is a tensor.
  {
    auto f = env_->NewWritableFile(MetaFilename(kPrefix));
    ASSERT_TRUE(f.ok());
    auto t = TableWriter::Create(f->get(), "x");
    CKPT_ASSERT_OK(t->Add("x", Entry(DataType::kFloat, {4}, 0, 16).SerializeAsString()));
    CKPT_ASSERT_OK(t->Finish());
    CKPT_ASSERT_OK((*f)->Close());
  }
  EXPECT_THAT(OpenStatus(), StatusIs(StatusCode::kDataLoss, "Unable to read file"));
  // An empty table.
  {
    auto f = env_->NewWritableFile(MetaFilename(kPrefix));
    ASSERT_TRUE(f.ok());
    auto t = TableWriter::Create(f->get(), "x");
    CKPT_ASSERT_OK(t->Finish());
    CKPT_ASSERT_OK((*f)->Close());
  }
  EXPECT_THAT(OpenStatus(), StatusIs(StatusCode::kDataLoss, "empty"));
  Craft(std::string("\xff\xff\xff", 3), {});
  EXPECT_THAT(OpenStatus(), StatusIs(StatusCode::kDataLoss, "Unable to read file"));
  Craft(Header().SerializeAsString(), {{"x", std::string("\x0a\xff\xff", 3)}});
  EXPECT_THAT(OpenStatus(), StatusIs(StatusCode::kDataLoss, "\"x\""));
  // A bad entry after good ones (entries are decoded as the table yields
  // them) is still named.
  Craft(Header().SerializeAsString(),
        {{"a", Entry(DataType::kFloat, {4}, 0, 16).SerializeAsString()},
         {"b", Entry(DataType::kFloat, {4}, 0, 16).SerializeAsString()},
         {"c", std::string("\x0a\xff\xff", 3)}});
  EXPECT_THAT(OpenStatus(), StatusIs(StatusCode::kDataLoss, "\"c\""));
}

TEST_F(LyingIndexTest, LyingStringLengths) {
  // s's real bytes, but the varint lengths rewritten.
  std::string d = data_;
  d[16] = 0x7f;  // first length 127 > stored size
  PutData(d);
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open());
  EXPECT_THAT(r->Read("s"), StatusIs(StatusCode::kDataLoss, ""));
  d = data_;
  d[16] = static_cast<char>(0xff);  // unterminated varint runs into the CRC
  d[17] = static_cast<char>(0xff);
  d[18] = static_cast<char>(0xff);
  PutData(d);
  CKPT_ASSERT_OK_AND_ASSIGN(auto r2, Open());
  EXPECT_THAT(r2->Read("s"), StatusIs(StatusCode::kDataLoss, ""));
}

TEST_F(LyingIndexTest, LyingPartitionedEntries) {
  const int64_t huge = int64_t{1} << 40;
  auto full = [&](std::vector<int64_t> dims, const std::vector<TensorSlice>& slices) {
    tensorflow::BundleEntryProto e;
    e.set_dtype(tensorflow::DT_FLOAT);
    for (int64_t d : dims) e.mutable_shape()->add_dim()->set_size(d);
    for (const TensorSlice& s : slices) {
      auto* sp = e.add_slices();
      for (const auto& ext : s.extents()) {
        auto* pe = sp->add_extent();
        if (ext.length != TensorSlice::kFullExtent) {
          pe->set_start(ext.start);
          pe->set_length(ext.length);
        }
      }
    }
    return e;
  };
  // A slice list whose data entry claims terabytes.
  TensorSlice big({{0, huge}});
  Craft(Header().SerializeAsString(),
        {{EncodeTensorNameSlice("x", big), Entry(DataType::kFloat, {huge}, 0, 4 * huge).SerializeAsString()},
         {"x", full({huge}, {big}).SerializeAsString()}});
  EXPECT_THAT(OpenAndReadAll(), StatusIs(StatusCode::kDataLoss, ""));
  // Many slices whose claimed sizes wrap around 2^64 when summed.
  std::vector<std::pair<std::string, std::string>> entries;
  std::vector<TensorSlice> slices;
  for (int i = 0; i < 5; ++i) {
    TensorSlice s({{i * (huge / 8), huge / 8}});
    slices.push_back(s);
    entries.emplace_back(EncodeTensorNameSlice("x", s),
                         Entry(DataType::kFloat, {huge / 8}, 0, int64_t{1} << 62).SerializeAsString());
  }
  std::sort(entries.begin(), entries.end());
  entries.emplace_back("x", full({huge}, slices).SerializeAsString());
  Craft(Header().SerializeAsString(), entries);
  EXPECT_FALSE(OpenAndReadAll().ok());
  // Slices listed without data entries.
  TensorSlice half({{0, 2}});
  Craft(Header().SerializeAsString(), {{"x", full({4}, {half}).SerializeAsString()}});
  EXPECT_THAT(OpenAndReadAll(), StatusIs(StatusCode::kInvalidArgument, "sufficient slices"));
  // A slice outside the full shape.
  TensorSlice out({{3, 5}});
  Craft(Header().SerializeAsString(), {{"x", full({4}, {out}).SerializeAsString()}});
  EXPECT_THAT(OpenAndReadAll(), StatusIs(StatusCode::kDataLoss, "out of bounds"));
  // A slice entry stored with the wrong shape.
  Craft(Header().SerializeAsString(),
        {{EncodeTensorNameSlice("x", half), Entry(DataType::kFloat, {4}, 0, 16).SerializeAsString()},
         {"x", full({4}, {half}).SerializeAsString()}});
  EXPECT_FALSE(OpenAndReadAll().ok());
}

}  // namespace
}  // namespace ckpt

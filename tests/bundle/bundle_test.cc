// BundleWriter/BundleReader round trips, typed over every storable dtype and
// run over both Envs.
#include "ckpt/bundle.h"

#include <algorithm>
#include <cstring>
#include <regex>
#include <thread>

#include "ckpt/escape.h"
#include "crc/crc32c.h"
#include "table/table.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::EnvKind;
using ::ckpt::testing::EnvKindName;
using ::ckpt::testing::HexString;
using ::ckpt::testing::ListDir;
using ::ckpt::testing::MakeTestEnv;
using ::ckpt::testing::MakeTestTensor;
using ::ckpt::testing::StatusIs;
using ::ckpt::testing::TestEnv;
using ::testing::ElementsAre;

// The stored bytes of a string tensor and the CRC (unmasked) TensorFlow
// records for it, built from docs/format/bundle.md independently of src/bundle.
std::string ExpectedStringBytes(const std::vector<std::string>& values, uint32_t* crc) {
  std::string out;
  uint32_t c = 0;
  for (const std::string& s : values) {
    uint64_t n = s.size();
    do {
      uint8_t b = n & 0x7f;
      n >>= 7;
      out.push_back(static_cast<char>(n ? (b | 0x80) : b));
    } while (n);
    char le[4];
    for (int i = 0; i < 4; ++i) le[i] = static_cast<char>(s.size() >> (8 * i));
    c = crc32c::Extend(c, le, 4);
  }
  uint32_t masked = crc32c::Mask(c);
  char m[4];
  for (int i = 0; i < 4; ++i) m[i] = static_cast<char>(masked >> (8 * i));
  out.append(m, 4);
  c = crc32c::Extend(c, m, 4);
  for (const std::string& s : values) {
    out += s;
    c = crc32c::Extend(c, s.data(), s.size());
  }
  *crc = c;
  return out;
}

// The elements of `full` inside `slice`, gathered element by element (an
// oracle independent of ckpt::ExtractSlice).
Tensor ExtractSliceByElement(const Tensor& full, const TensorSlice& slice) {
  const TensorShape& fs = full.shape();
  TensorShape ss = slice.SliceShape(fs);
  Tensor out = Tensor::Allocate(full.dtype(), ss).value();
  const size_t elem = DataTypeSize(full.dtype());
  const int rank = fs.rank();
  for (int64_t i = 0; i < ss.num_elements(); ++i) {
    int64_t rem = i, g = 0, mul = 1;
    for (int d = rank - 1; d >= 0; --d) {
      int64_t c = rem % ss.dim(d);
      rem /= ss.dim(d);
      g += (slice.start(d) + c) * mul;
      mul *= fs.dim(d);
    }
    if (full.dtype() == DataType::kString) {
      (*out.mutable_strings())[i] = full.strings()[g];
    } else {
      std::memcpy(out.mutable_data() + i * elem, full.data() + g * elem, elem);
    }
  }
  return out;
}

TensorSlice Slice(std::string_view text) { return TensorSlice::Parse(text).value(); }

std::string TypedName(const ::testing::TestParamInfo<std::tuple<EnvKind, DataType>>& info) {
  return EnvKindName(std::get<0>(info.param)) + "_" +
         std::string(DataTypeName(std::get<1>(info.param)));
}

// ---------------------------------------------------------------------------
// Typed over (Env, dtype).

class BundleTypedTest : public ::testing::TestWithParam<std::tuple<EnvKind, DataType>> {
 protected:
  void SetUp() override {
    te_ = MakeTestEnv(std::get<0>(GetParam()));
    dtype_ = std::get<1>(GetParam());
    prefix_ = JoinPath(te_.root, "ckpt/model.ckpt-1");
  }
  Env* env() { return te_.env; }
  bool fixed() const { return IsFixedSize(dtype_); }

  BundleWriterOptions WOpts(int alignment = 1) {
    BundleWriterOptions o;
    o.env = env();
    o.data_alignment = alignment;
    return o;
  }
  BundleReaderOptions ROpts(bool mmap = false) {
    BundleReaderOptions o;
    o.env = env();
    o.use_mmap = mmap;
    return o;
  }

  // Writes `tensors` (in order) under keys t00, t01, ...
  void WriteAll(const std::string& prefix, const std::vector<Tensor>& tensors, int alignment = 1) {
    CKPT_ASSERT_OK_AND_ASSIGN(auto w, BundleWriter::Create(prefix, WOpts(alignment)));
    for (size_t i = 0; i < tensors.size(); ++i) CKPT_ASSERT_OK(w->Add(Key(i), tensors[i]));
    CKPT_ASSERT_OK(w->Finish());
  }
  static std::string Key(size_t i) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "t%02zu", i);
    return buf;
  }
  std::vector<Tensor> Shapes() {
    std::vector<TensorShape> shapes = {
        TensorShape(),           TensorShape({1}),          TensorShape({0}),
        TensorShape({3, 0, 2}),  TensorShape({7}),          TensorShape({2, 3}),
        TensorShape({1, 2, 1, 2, 1, 2, 1, 2}), TensorShape({2, 1, 1, 1, 1, 1, 1, 1, 1, 3}),
    };
    // A large one: ~2.5 MiB for fixed-size types (more than the writer's
    // buffer), 20000 elements for strings.
    size_t elem = DataTypeSize(dtype_);
    shapes.push_back(elem ? TensorShape({static_cast<int64_t>((5u << 19) / elem / 64), 64})
                          : TensorShape({200, 100}));
    std::vector<Tensor> out;
    for (size_t i = 0; i < shapes.size(); ++i) {
      out.push_back(MakeTestTensor(dtype_, shapes[i], static_cast<uint32_t>(i + 1)));
    }
    return out;
  }

  TestEnv te_;
  DataType dtype_;
  std::string prefix_;
};

TEST_P(BundleTypedTest, RoundTripShapes) {
  std::vector<Tensor> tensors = Shapes();
  WriteAll(prefix_, tensors);
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(prefix_, ROpts()));
  EXPECT_EQ(r->num_shards(), 1);
  ASSERT_EQ(r->entries().size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    SCOPED_TRACE(Key(i) + " " + tensors[i].shape().DebugString());
    const BundleEntry& e = r->entries()[i];
    EXPECT_EQ(e.key, Key(i));
    EXPECT_EQ(e.dtype, dtype_);
    EXPECT_EQ(e.shape, tensors[i].shape());
    EXPECT_EQ(e.shard_id, 0);
    EXPECT_TRUE(e.slices.empty());
    if (fixed()) EXPECT_EQ(static_cast<size_t>(e.size), tensors[i].byte_size());
    EXPECT_TRUE(r->Contains(Key(i)));
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor got, r->Read(Key(i)));
    EXPECT_TRUE(got.Equals(tensors[i]));
    EXPECT_FALSE(got.is_view());
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor into, Tensor::Allocate(dtype_, tensors[i].shape()));
    CKPT_ASSERT_OK(r->ReadInto(Key(i), &into));
    EXPECT_TRUE(into.Equals(tensors[i]));
  }
  EXPECT_FALSE(r->Contains("t99"));
}

TEST_P(BundleTypedTest, DataLayoutFollowsTensorFlow) {
  std::vector<Tensor> tensors = Shapes();
  WriteAll(prefix_, tensors);
  CKPT_ASSERT_OK_AND_ASSIGN(std::string data,
                            ReadFileToString(env(), DataFilename(prefix_, 0, 1)));
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(prefix_, ROpts()));
  int64_t expected_offset = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    SCOPED_TRACE(Key(i));
    CKPT_ASSERT_OK_AND_ASSIGN(const BundleEntry* e, r->Lookup(Key(i)));
    // Dense, in Add order.
    EXPECT_EQ(e->offset, expected_offset);
    expected_offset += e->size;
    ASSERT_LE(static_cast<uint64_t>(e->offset + e->size), data.size());
    std::string_view stored(data.data() + e->offset, static_cast<size_t>(e->size));
    uint32_t crc;
    if (fixed()) {
      // Raw little-endian element bytes; CRC32C over exactly them.
      EXPECT_EQ(stored, tensors[i].bytes());
      crc = crc32c::Value(stored.data(), stored.size());
    } else {
      std::string want = ExpectedStringBytes(tensors[i].strings(), &crc);
      EXPECT_EQ(stored, want);
    }
    EXPECT_EQ(e->masked_crc32c, crc32c::Mask(crc));
  }
  EXPECT_EQ(static_cast<size_t>(expected_offset), data.size());
}

TEST_P(BundleTypedTest, DataAlignment) {
  std::vector<Tensor> tensors = Shapes();
  tensors.resize(6);  // skip the large ones
  const std::string dense = JoinPath(te_.root, "dense/m");
  WriteAll(dense, tensors);
  for (int alignment : {2, 8, 13, 64}) {
    SCOPED_TRACE("alignment " + std::to_string(alignment));
    const std::string aligned = JoinPath(te_.root, "a" + std::to_string(alignment) + "/m");
    WriteAll(aligned, tensors, alignment);
    CKPT_ASSERT_OK_AND_ASSIGN(auto rd, BundleReader::Open(dense, ROpts()));
    CKPT_ASSERT_OK_AND_ASSIGN(auto ra, BundleReader::Open(aligned, ROpts()));
    CKPT_ASSERT_OK_AND_ASSIGN(std::string dd, ReadFileToString(env(), DataFilename(dense, 0, 1)));
    CKPT_ASSERT_OK_AND_ASSIGN(std::string ad, ReadFileToString(env(), DataFilename(aligned, 0, 1)));
    std::vector<bool> covered(ad.size(), false);
    for (size_t i = 0; i < tensors.size(); ++i) {
      const BundleEntry& a = ra->entries()[i];
      const BundleEntry& d = rd->entries()[i];
      EXPECT_EQ(a.offset % alignment, 0) << Key(i);
      // Same size and checksum; same bytes, only moved.
      EXPECT_EQ(a.size, d.size);
      EXPECT_EQ(a.masked_crc32c, d.masked_crc32c);
      EXPECT_EQ(ad.substr(a.offset, a.size), dd.substr(d.offset, d.size));
      for (int64_t b = a.offset; b < a.offset + a.size; ++b) covered[b] = true;
      CKPT_ASSERT_OK_AND_ASSIGN(Tensor got, ra->Read(Key(i)));
      EXPECT_TRUE(got.Equals(tensors[i]));
    }
    // Padding is zero, and only as much as needed.
    for (size_t b = 0; b < ad.size(); ++b) {
      if (!covered[b]) EXPECT_EQ(ad[b], '\0') << "padding byte " << b;
    }
    EXPECT_LT(ad.size(), dd.size() + tensors.size() * alignment);
  }
}

TEST_P(BundleTypedTest, ReadIntoRequiresMatchingDtypeAndShape) {
  Tensor t = MakeTestTensor(dtype_, TensorShape({10}), 3);
  CKPT_ASSERT_OK_AND_ASSIGN(auto w, BundleWriter::Create(prefix_, WOpts()));
  CKPT_ASSERT_OK(w->Add("x", t));
  CKPT_ASSERT_OK(w->Finish());
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(prefix_, ROpts()));
  DataType other = dtype_ == DataType::kFloat ? DataType::kInt32 : DataType::kFloat;
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor wrong_type, Tensor::Allocate(other, TensorShape({10})));
  EXPECT_THAT(r->ReadInto("x", &wrong_type),
              StatusIs(StatusCode::kInvalidArgument,
                       "tensor_name = x; expected dtype " + std::string(DataTypeName(other)) +
                           " does not equal original dtype " + std::string(DataTypeName(dtype_))));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor wrong_shape, Tensor::Allocate(dtype_, TensorShape({20})));
  EXPECT_THAT(r->ReadInto("x", &wrong_shape),
              StatusIs(StatusCode::kInvalidArgument,
                       "tensor_name = x; shape in shape_and_slice spec [20] does not match the "
                       "shape stored in checkpoint: [10]"));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor ok, Tensor::Allocate(dtype_, TensorShape({10})));
  CKPT_ASSERT_OK(r->ReadInto("x", &ok));
  EXPECT_TRUE(ok.Equals(t));
}

TEST_P(BundleTypedTest, ReadSliceOfWholeTensor) {
  Tensor t = MakeTestTensor(dtype_, TensorShape({5, 4, 3}), 11);
  CKPT_ASSERT_OK_AND_ASSIGN(auto w, BundleWriter::Create(prefix_, WOpts()));
  CKPT_ASSERT_OK(w->Add("x", t));
  CKPT_ASSERT_OK(w->Finish());
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(prefix_, ROpts()));
  for (const char* s : {"-:-:-", "1,3:-:-", "0,5:1,2:2,1", "4,1:3,1:0,3", "2,0:-:-"}) {
    SCOPED_TRACE(s);
    auto got = r->ReadSlice("x", Slice(s));
    if (!fixed()) {
      EXPECT_THAT(got, StatusIs(StatusCode::kUnimplemented, "cannot be sliced"));
      continue;
    }
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_TRUE(got->Equals(ExtractSliceByElement(t, Slice(s))));
  }
  EXPECT_THAT(r->ReadSlice("x", Slice("0,6:-:-")), StatusIs(StatusCode::kInvalidArgument, ""));
  EXPECT_THAT(r->ReadSlice("x", Slice("-:-")), StatusIs(StatusCode::kInvalidArgument, "rank"));
}

TEST_P(BundleTypedTest, PartitionedTensor) {
  const TensorShape full{6, 4};
  Tensor t = MakeTestTensor(dtype_, full, 21);
  const std::vector<std::string> parts = {"0,2:-", "2,4:0,1", "2,4:1,3"};
  CKPT_ASSERT_OK_AND_ASSIGN(auto w, BundleWriter::Create(prefix_, WOpts()));
  CKPT_ASSERT_OK(w->Add("before", Tensor::Scalar<float>(1)));
  for (const auto& p : parts) CKPT_ASSERT_OK(w->AddSlice("p", full, Slice(p), ExtractSliceByElement(t, Slice(p))));
  CKPT_ASSERT_OK(w->Add("q", Tensor::Scalar<float>(2)));
  CKPT_ASSERT_OK(w->Finish());

  CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(prefix_, ROpts()));
  // 3 slice entries (keys starting with 0) sort first, then before, p, q.
  ASSERT_EQ(r->entries().size(), 6u);
  for (int i = 0; i < 3; ++i) {
    const BundleEntry& e = r->entries()[i];
    EXPECT_EQ(e.key[0], '\0');
    std::string name;
    TensorSlice sl;
    CKPT_ASSERT_OK(DecodeTensorNameSlice(e.key, &name, &sl));
    EXPECT_EQ(name, "p");
    EXPECT_EQ(e.shape, sl.SliceShape(full));
  }
  CKPT_ASSERT_OK_AND_ASSIGN(const BundleEntry* pe, r->Lookup("p"));
  EXPECT_EQ(pe->dtype, dtype_);
  EXPECT_EQ(pe->shape, full);
  ASSERT_EQ(pe->slices.size(), 3u);
  for (size_t i = 0; i < parts.size(); ++i) EXPECT_EQ(pe->slices[i].DebugString(), parts[i]);
  for (size_t i = 0; i < parts.size(); ++i) {
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor part, r->Read(EncodeTensorNameSlice("p", Slice(parts[i]))));
    EXPECT_TRUE(part.Equals(ExtractSliceByElement(t, Slice(parts[i]))));
  }
  // The full entry is hidden from DebugString; its slice keys (binary) are
  // listed, escaped for display.
  std::string dbg = r->DebugString();
  EXPECT_EQ(dbg.find("\np ("), std::string::npos);
  EXPECT_NE(dbg.find("before (DT_FLOAT) []\n"), std::string::npos);
  EXPECT_EQ(dbg.find('\0'), std::string::npos);
  EXPECT_NE(dbg.find(EscapeForDisplay(EncodeTensorNameSlice("p", Slice("0,2:-"))) + " (" +
                     std::string(DataTypeEnumName(dtype_)) + ") [2,4]\n"),
            std::string::npos);

  auto whole = r->Read("p");
  if (!fixed()) {
    EXPECT_FALSE(whole.ok());
    return;
  }
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_TRUE(whole->Equals(t));
  // Sub-slices, including ones spanning several stored slices.
  for (const char* s : {"-:-", "1,3:1,2", "0,2:-", "2,4:0,1", "5,1:-", "0,6:3,1", "1,1:0,4"}) {
    SCOPED_TRACE(s);
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor got, r->ReadSlice("p", Slice(s)));
    EXPECT_TRUE(got.Equals(ExtractSliceByElement(t, Slice(s))));
  }
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor into, Tensor::Allocate(dtype_, full));
  CKPT_ASSERT_OK(r->ReadInto("p", &into));
  EXPECT_TRUE(into.Equals(t));
}

TEST_P(BundleTypedTest, ReadViewWithMmap) {
  Tensor a = MakeTestTensor(dtype_, TensorShape({3, 7}), 5);
  Tensor b = MakeTestTensor(dtype_, TensorShape(), 6);
  WriteAll(prefix_, {a, b});
  CKPT_ASSERT_OK_AND_ASSIGN(auto plain, BundleReader::Open(prefix_, ROpts(false)));
  EXPECT_THAT(plain->ReadView("t00"), StatusIs(StatusCode::kFailedPrecondition, "use_mmap"));
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(prefix_, ROpts(true)));
  if (!fixed()) {
    EXPECT_THAT(r->ReadView("t00"), StatusIs(StatusCode::kInvalidArgument, ""));
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor got, r->Read("t00"));
    EXPECT_TRUE(got.Equals(a));
    return;
  }
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor va, r->ReadView("t00"));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor vb, r->ReadView("t01"));
  EXPECT_TRUE(va.is_view());
  EXPECT_TRUE(va.Equals(a));
  EXPECT_TRUE(vb.Equals(b));
  // Zero-copy: views point into one mapping, at the entries' offsets.
  CKPT_ASSERT_OK_AND_ASSIGN(const BundleEntry* eb, r->Lookup("t01"));
  EXPECT_EQ(vb.data() - va.data(), eb->offset);
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor va2, r->ReadView("t00"));
  EXPECT_EQ(va2.data(), va.data());
  EXPECT_THAT(r->ReadView("nope"), StatusIs(StatusCode::kNotFound, "Key nope not found"));
  // Normal reads still work on an mmap reader.
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor ra, r->Read("t00"));
  EXPECT_TRUE(ra.Equals(a));
}

TEST_P(BundleTypedTest, ViewsAreSavedAtAddTime) {
  if (!fixed()) GTEST_SKIP() << "views are fixed-size only";
  Tensor src = MakeTestTensor(dtype_, TensorShape({16, 3}), 9);
  std::vector<char> buffer(src.bytes().begin(), src.bytes().end());
  Tensor view = Tensor::View(dtype_, src.shape(), buffer.data());
  ASSERT_TRUE(view.is_view());
  CKPT_ASSERT_OK_AND_ASSIGN(auto w, BundleWriter::Create(prefix_, WOpts()));
  CKPT_ASSERT_OK(w->Add("v", view));
  // The caller may reuse its buffer once Add returns.
  std::fill(buffer.begin(), buffer.end(), '\x5a');
  CKPT_ASSERT_OK(w->Add("v2", view));
  CKPT_ASSERT_OK(w->Finish());
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(prefix_, ROpts()));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor got, r->Read("v"));
  EXPECT_TRUE(got.Equals(src));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor got2, r->Read("v2"));
  EXPECT_EQ(got2.bytes(), std::string(buffer.begin(), buffer.end()));
}

TEST_P(BundleTypedTest, ChecksumsVerifiedOnRead) {
  Tensor t = MakeTestTensor(dtype_, TensorShape({9}), 4);
  WriteAll(prefix_, {t});
  const std::string data_path = DataFilename(prefix_, 0, 1);
  CKPT_ASSERT_OK_AND_ASSIGN(std::string data, ReadFileToString(env(), data_path));
  data[data.size() - 1] ^= 0x20;  // last byte of the (only) tensor
  CKPT_ASSERT_OK(testing::WriteStringToFile(env(), data_path, data));
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(prefix_, ROpts()));
  EXPECT_THAT(r->Read("t00"), StatusIs(StatusCode::kDataLoss, "t00"));
  BundleReaderOptions nocheck = ROpts();
  nocheck.verify_checksums = false;
  CKPT_ASSERT_OK_AND_ASSIGN(auto r2, BundleReader::Open(prefix_, nocheck));
  auto got = r2->Read("t00");
  if (fixed()) {
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_FALSE(got->Equals(t));
    EXPECT_EQ(got->bytes().substr(0, t.byte_size() - 1), t.bytes().substr(0, t.byte_size() - 1));
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllTypes, BundleTypedTest,
    ::testing::Combine(::testing::Values(EnvKind::kPosix, EnvKind::kMem),
                       ::testing::ValuesIn(AllStorableTypes())),
    TypedName);

// ---------------------------------------------------------------------------
// Over both Envs.

class BundleTest : public ::testing::TestWithParam<EnvKind> {
 protected:
  void SetUp() override {
    te_ = MakeTestEnv(GetParam());
    dir_ = JoinPath(te_.root, "train");
    prefix_ = JoinPath(dir_, "model.ckpt-7");
  }
  Env* env() { return te_.env; }
  BundleWriterOptions WOpts() {
    BundleWriterOptions o;
    o.env = env();
    return o;
  }
  BundleReaderOptions ROpts() {
    BundleReaderOptions o;
    o.env = env();
    return o;
  }
  std::unique_ptr<BundleWriter> NewWriter(const std::string& prefix) {
    auto w = BundleWriter::Create(prefix, WOpts());
    EXPECT_TRUE(w.ok()) << w.status();
    return w.ok() ? std::move(w).value() : nullptr;
  }

  TestEnv te_;
  std::string dir_, prefix_;
};

TEST_P(BundleTest, DuplicateAndEmptyKeysRejected) {
  auto w = NewWriter(prefix_);
  ASSERT_NE(w, nullptr);
  CKPT_ASSERT_OK(w->Add("x", Tensor::Scalar<float>(1)));
  EXPECT_THAT(w->Add("x", Tensor::Scalar<float>(2)),
              StatusIs(StatusCode::kInvalidArgument, "Adding duplicate key: x"));
  EXPECT_THAT(w->Add("", Tensor::Scalar<float>(2)),
              StatusIs(StatusCode::kInvalidArgument, "empty"));
  EXPECT_THAT(w->Add("inv", Tensor()), StatusIs(StatusCode::kInvalidArgument, "inv"));
  // A slice key may not collide with a whole tensor either.
  EXPECT_THAT(w->AddSlice("x", TensorShape({4}), Slice("0,2"),
                          Tensor::FromVector<float>(TensorShape({2}), {1, 2})),
              StatusIs(StatusCode::kInvalidArgument, "x"));
}

TEST_P(BundleTest, AddSliceErrors) {
  auto w = NewWriter(prefix_);
  ASSERT_NE(w, nullptr);
  Tensor two = Tensor::FromVector<float>(TensorShape({2}), {1, 2});
  EXPECT_THAT(w->AddSlice("p", TensorShape({4}), Slice("3,2"), two),
              StatusIs(StatusCode::kInvalidArgument, "out of bounds"));
  EXPECT_THAT(w->AddSlice("p", TensorShape({4}), Slice("0,3"), two),
              StatusIs(StatusCode::kInvalidArgument, "shape"));
  EXPECT_THAT(w->AddSlice("p", TensorShape({4, 1}), Slice("0,2"), two),
              StatusIs(StatusCode::kInvalidArgument, "rank"));
  CKPT_ASSERT_OK(w->AddSlice("p", TensorShape({4}), Slice("0,2"), two));
  EXPECT_THAT(w->AddSlice("p", TensorShape({4}), Slice("0,2"), two),
              StatusIs(StatusCode::kInvalidArgument, "already"));
  EXPECT_THAT(w->AddSlice("p", TensorShape({5}), Slice("2,2"), two),
              StatusIs(StatusCode::kInvalidArgument, "conflicts"));
  EXPECT_THAT(w->AddSlice("p", TensorShape({4}), Slice("2,2"),
                          Tensor::FromVector<int32_t>(TensorShape({2}), {1, 2})),
              StatusIs(StatusCode::kInvalidArgument, "conflicts"));
  EXPECT_THAT(w->Add("p", two), StatusIs(StatusCode::kInvalidArgument, "duplicate"));
  CKPT_ASSERT_OK(w->AddSlice("p", TensorShape({4}), Slice("2,2"), two));
  CKPT_ASSERT_OK(w->Finish());
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(prefix_, ROpts()));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor p, r->Read("p"));
  EXPECT_TRUE(p.Equals(Tensor::FromVector<float>(TensorShape({4}), {1, 2, 1, 2})));
}

TEST_P(BundleTest, SliceCoveringEverythingIsAPlainEntry) {
  auto w = NewWriter(prefix_);
  ASSERT_NE(w, nullptr);
  Tensor t = Tensor::FromVector<int64_t>(TensorShape({2, 2}), {1, 2, 3, 4});
  CKPT_ASSERT_OK(w->AddSlice("full", TensorShape({2, 2}), Slice("0,2:-"), t));
  CKPT_ASSERT_OK(w->Finish());
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(prefix_, ROpts()));
  ASSERT_EQ(r->entries().size(), 1u);
  EXPECT_EQ(r->entries()[0].key, "full");
  EXPECT_TRUE(r->entries()[0].slices.empty());
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor got, r->Read("full"));
  EXPECT_TRUE(got.Equals(t));
}

TEST_P(BundleTest, ReadSliceAcrossManyStoredSlices) {
  // [4,6,5] stored as 2 x 3 blocks; read regions touching 1..6 of them.
  const TensorShape full{4, 6, 5};
  Tensor t = MakeTestTensor(DataType::kDouble, full, 77);
  auto w = NewWriter(prefix_);
  ASSERT_NE(w, nullptr);
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 3; ++j) {
      std::string s = std::to_string(i * 2) + ",2:" + std::to_string(j * 2) + ",2:-";
      CKPT_ASSERT_OK(w->AddSlice("v", full, Slice(s), ExtractSliceByElement(t, Slice(s))));
    }
  }
  CKPT_ASSERT_OK(w->Finish());
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(prefix_, ROpts()));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor all, r->Read("v"));
  EXPECT_TRUE(all.Equals(t));
  for (const char* s : {"1,2:1,4:-", "0,4:0,6:2,3", "3,1:5,1:4,1", "1,3:1,5:1,3", "0,1:0,2:-"}) {
    SCOPED_TRACE(s);
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor got, r->ReadSlice("v", Slice(s)));
    EXPECT_TRUE(got.Equals(ExtractSliceByElement(t, Slice(s))));
  }
}

// Open decodes the index in one pass into one reused proto and allocates the
// entry list once at its final size: every entry keeps its own fields (no
// dims or slices carried over from the entry before), in key order.
TEST_P(BundleTest, OpenDecodesEveryEntryOnceWithItsOwnFields) {
  auto w = NewWriter(prefix_);
  ASSERT_NE(w, nullptr);
  const DataType dtypes[] = {DataType::kFloat, DataType::kInt64, DataType::kDouble, DataType::kInt8};
  std::vector<std::pair<std::string, Tensor>> want;
  for (int i = 0; i < 3000; ++i) {
    std::vector<int64_t> dims(static_cast<size_t>(i % 4), 1);  // ranks 0..3, then cycle
    if (!dims.empty()) dims[0] = 1 + i % 5;
    char key[32];
    std::snprintf(key, sizeof(key), "layer_%05d/w", (i * 7919) % 3000);  // added out of order
    want.emplace_back(key, MakeTestTensor(dtypes[i % 4], TensorShape(dims), static_cast<uint32_t>(i)));
    CKPT_ASSERT_OK(w->Add(want.back().first, want.back().second));
  }
  // A partitioned tensor sorts before "layer_..." plain entries: its slices
  // must not show up on them.
  const TensorShape full{4, 2};
  Tensor t = MakeTestTensor(DataType::kFloat, full, 5);
  for (const char* sl : {"0,2:-", "2,2:-"}) {
    CKPT_ASSERT_OK(w->AddSlice("emb", full, Slice(sl), ExtractSliceByElement(t, Slice(sl))));
  }
  CKPT_ASSERT_OK(w->Finish());
  std::sort(want.begin(), want.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

  CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(prefix_, ROpts()));
  const std::vector<BundleEntry>& entries = r->entries();
  ASSERT_EQ(entries.size(), want.size() + 3);  // + "emb" and its two slice entries
  EXPECT_EQ(entries.capacity(), entries.size());  // sized once, never regrown
  EXPECT_TRUE(std::is_sorted(entries.begin(), entries.end(),
                             [](const BundleEntry& a, const BundleEntry& b) { return a.key < b.key; }));
  CKPT_ASSERT_OK_AND_ASSIGN(const BundleEntry* emb, r->Lookup("emb"));
  EXPECT_EQ(emb->slices.size(), 2u);
  EXPECT_EQ(emb->shape, full);
  for (const auto& [key, tensor] : want) {
    CKPT_ASSERT_OK_AND_ASSIGN(const BundleEntry* e, r->Lookup(key));
    EXPECT_EQ(e->dtype, tensor.dtype()) << key;
    EXPECT_EQ(e->shape, tensor.shape()) << key;
    EXPECT_TRUE(e->slices.empty()) << key;
    EXPECT_EQ(e->size, static_cast<int64_t>(tensor.byte_size())) << key;
  }
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor got, r->Read(want[1234].first));
  EXPECT_TRUE(got.Equals(want[1234].second));
}

TEST_P(BundleTest, MissingSliceCoverageIsReported) {
  auto w = NewWriter(prefix_);
  ASSERT_NE(w, nullptr);
  const TensorShape full{10};
  Tensor t = Tensor::FromVector<int32_t>(TensorShape({5}), {0, 1, 2, 3, 4});
  CKPT_ASSERT_OK(w->AddSlice("half", full, Slice("0,5"), t));
  CKPT_ASSERT_OK(w->Finish());
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(prefix_, ROpts()));
  EXPECT_THAT(r->Read("half"),
              StatusIs(StatusCode::kInvalidArgument,
                       "Does not have sufficient slices for partitioned tensor half"));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor lo, r->ReadSlice("half", Slice("1,3")));
  EXPECT_TRUE(lo.Equals(Tensor::FromVector<int32_t>(TensorShape({3}), {1, 2, 3})));
  EXPECT_THAT(r->ReadSlice("half", Slice("3,4")),
              StatusIs(StatusCode::kInvalidArgument, "to restore in slice_spec: 3,4"));
}

TEST_P(BundleTest, NotFound) {
  auto w = NewWriter(prefix_);
  ASSERT_NE(w, nullptr);
  CKPT_ASSERT_OK(w->Add("x", Tensor::Scalar<float>(1)));
  CKPT_ASSERT_OK(w->Finish());
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(prefix_, ROpts()));
  EXPECT_THAT(r->Read("nope"), StatusIs(StatusCode::kNotFound, "Key nope not found in checkpoint"));
  EXPECT_THAT(r->Lookup("nope"), StatusIs(StatusCode::kNotFound, "Key nope not found in checkpoint"));
  Tensor dst = Tensor::Scalar<float>(0);
  EXPECT_THAT(r->ReadInto("nope", &dst),
              StatusIs(StatusCode::kNotFound, "Key nope not found in checkpoint"));
  EXPECT_THAT(r->ReadSlice("nope", TensorSlice()),
              StatusIs(StatusCode::kNotFound, "Key nope not found in checkpoint"));
  EXPECT_FALSE(r->Contains("nope"));
  EXPECT_FALSE(r->Contains(""));
  EXPECT_THAT(BundleReader::Open(JoinPath(dir_, "absent"), ROpts()),
              StatusIs(StatusCode::kNotFound, "absent"));
}

TEST_P(BundleTest, ReadIntoAViewIsRejected) {
  auto w = NewWriter(prefix_);
  ASSERT_NE(w, nullptr);
  CKPT_ASSERT_OK(w->Add("x", Tensor::FromVector<float>(TensorShape({2}), {1, 2})));
  CKPT_ASSERT_OK(w->Finish());
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(prefix_, ROpts()));
  float buf[2] = {0, 0};
  Tensor view = Tensor::View(DataType::kFloat, TensorShape({2}), buf);
  EXPECT_THAT(r->ReadInto("x", &view), StatusIs(StatusCode::kInvalidArgument, "view"));
}

TEST_P(BundleTest, DebugStringFormat) {
  auto w = NewWriter(prefix_);
  ASSERT_NE(w, nullptr);
  CKPT_ASSERT_OK(w->Add("b", Tensor::Allocate(DataType::kInt64, TensorShape({2, 3})).value()));
  CKPT_ASSERT_OK(w->Add("a", Tensor::Scalar<float>(1)));
  CKPT_ASSERT_OK(w->Add("c/d", Tensor::StringScalar("s")));
  CKPT_ASSERT_OK(w->Add("e", Tensor::Allocate(DataType::kBFloat16, TensorShape({0, 4})).value()));
  CKPT_ASSERT_OK(w->Finish());
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(prefix_, ROpts()));
  EXPECT_EQ(r->DebugString(),
            "a (DT_FLOAT) []\n"
            "b (DT_INT64) [2,3]\n"
            "c/d (DT_STRING) []\n"
            "e (DT_BFLOAT16) [0,4]\n");
  EXPECT_EQ(r->prefix(), prefix_);
}

TEST_P(BundleTest, EmptyBundle) {
  auto w = NewWriter(prefix_);
  ASSERT_NE(w, nullptr);
  CKPT_ASSERT_OK(w->Finish());
  EXPECT_THAT(ListDir(env(), dir_), ElementsAre("model.ckpt-7.data-00000-of-00001",
                                                "model.ckpt-7.index"));
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(prefix_, ROpts()));
  EXPECT_TRUE(r->entries().empty());
  EXPECT_EQ(r->DebugString(), "");
  CKPT_ASSERT_OK_AND_ASSIGN(uint64_t size, env()->GetFileSize(DataFilename(prefix_, 0, 1)));
  EXPECT_EQ(size, 0u);
}

TEST_P(BundleTest, AtomicPublish) {
  auto w = NewWriter(prefix_);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->prefix(), prefix_);
  EXPECT_TRUE(env()->IsDirectory(dir_)) << "Create makes the prefix's directory";
  CKPT_ASSERT_OK(w->Add("x", MakeTestTensor(DataType::kFloat, TensorShape({100}), 1)));
  // Before Finish: only a temporary data file, and no bundle to open.
  std::vector<std::string> files = ListDir(env(), dir_);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_TRUE(std::regex_match(files[0], std::regex(R"(model\.ckpt-7\.data-00000-of-00001\.ckpt-tmp\.\d+\.[0-9a-f]{16})")))
      << files[0];
  EXPECT_FALSE(env()->FileExists(MetaFilename(prefix_)));
  EXPECT_THAT(BundleReader::Open(prefix_, ROpts()), StatusIs(StatusCode::kNotFound, ""));
  CKPT_ASSERT_OK(w->Finish());
  EXPECT_THAT(ListDir(env(), dir_),
              ElementsAre("model.ckpt-7.data-00000-of-00001", "model.ckpt-7.index"));
  // Using a finished writer is a state error.
  EXPECT_THAT(w->Add("y", Tensor::Scalar<float>(1)), StatusIs(StatusCode::kFailedPrecondition, ""));
  EXPECT_THAT(w->Finish(), StatusIs(StatusCode::kFailedPrecondition, ""));
  w.reset();  // destroying a finished writer removes nothing
  EXPECT_THAT(ListDir(env(), dir_),
              ElementsAre("model.ckpt-7.data-00000-of-00001", "model.ckpt-7.index"));
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(prefix_, ROpts()));
  EXPECT_TRUE(r->Contains("x"));
}

TEST_P(BundleTest, DestroyingAnUnfinishedWriterLeavesNoFiles) {
  {
    auto w = NewWriter(prefix_);
    ASSERT_NE(w, nullptr);
    CKPT_ASSERT_OK(w->Add("x", MakeTestTensor(DataType::kInt8, TensorShape({1000}), 1)));
    EXPECT_EQ(ListDir(env(), dir_).size(), 1u);
  }
  EXPECT_TRUE(ListDir(env(), dir_).empty());
  { auto w = NewWriter(prefix_); }
  EXPECT_TRUE(ListDir(env(), dir_).empty());
}

TEST_P(BundleTest, RewritingAPrefixKeepsTheOldBundleUntilFinish) {
  auto w1 = NewWriter(prefix_);
  ASSERT_NE(w1, nullptr);
  CKPT_ASSERT_OK(w1->Add("v", Tensor::Scalar<int32_t>(1)));
  CKPT_ASSERT_OK(w1->Finish());
  auto w2 = NewWriter(prefix_);
  ASSERT_NE(w2, nullptr);
  CKPT_ASSERT_OK(w2->Add("v", Tensor::Scalar<int32_t>(2)));
  CKPT_ASSERT_OK(w2->Add("w", Tensor::Scalar<int32_t>(3)));
  {
    CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(prefix_, ROpts()));
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor v, r->Read("v"));
    EXPECT_EQ(*v.flat<int32_t>(), 1);
    EXPECT_FALSE(r->Contains("w"));
  }
  CKPT_ASSERT_OK(w2->Finish());
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(prefix_, ROpts()));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor v, r->Read("v"));
  EXPECT_EQ(*v.flat<int32_t>(), 2);
  EXPECT_THAT(ListDir(env(), dir_),
              ElementsAre("model.ckpt-7.data-00000-of-00001", "model.ckpt-7.index"));
}

TEST_P(BundleTest, PrefixWithoutDirectory) {
  if (GetParam() == EnvKind::kPosix) GTEST_SKIP() << "would write into the working directory";
  auto w = NewWriter("bare");
  ASSERT_NE(w, nullptr);
  CKPT_ASSERT_OK(w->Add("x", Tensor::Scalar<float>(3)));
  CKPT_ASSERT_OK(w->Finish());
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open("bare", ROpts()));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor x, r->Read("x"));
  EXPECT_EQ(*x.flat<float>(), 3.0f);
}

TEST_P(BundleTest, CreateRejectsBadOptions) {
  BundleWriterOptions o = WOpts();
  o.data_alignment = 0;
  EXPECT_THAT(BundleWriter::Create(prefix_, o), StatusIs(StatusCode::kInvalidArgument, "alignment"));
  EXPECT_THAT(BundleWriter::Create("", WOpts()), StatusIs(StatusCode::kInvalidArgument, ""));
  o = WOpts();
  o.env = nullptr;
  EXPECT_THAT(BundleWriter::Create(prefix_, o), StatusIs(StatusCode::kInvalidArgument, ""));
  BundleReaderOptions ro;
  ro.env = nullptr;
  EXPECT_THAT(BundleReader::Open(prefix_, ro), StatusIs(StatusCode::kInvalidArgument, ""));
}

TEST_P(BundleTest, ConcurrentReads) {
  std::vector<Tensor> ts;
  auto w = NewWriter(prefix_);
  ASSERT_NE(w, nullptr);
  for (int i = 0; i < 8; ++i) {
    ts.push_back(MakeTestTensor(DataType::kFloat, TensorShape({1000 + i}), i));
    CKPT_ASSERT_OK(w->Add("k" + std::to_string(i), ts.back()));
  }
  CKPT_ASSERT_OK(w->Finish());
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(prefix_, ROpts()));
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int iter = 0; iter < 50; ++iter) {
        int i = (iter + t) % 8;
        auto got = r->Read("k" + std::to_string(i));
        if (!got.ok() || !got->Equals(ts[i])) ++bad;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

// The serialized index entries follow TensorFlow's encoding byte for byte
// (docs/format/bundle.md: header, entries, partitioned tensors).
TEST_P(BundleTest, IndexEntryEncoding) {
  auto w = NewWriter(prefix_);
  ASSERT_NE(w, nullptr);
  CKPT_ASSERT_OK(w->Add("y", Tensor::FromVector<float>(TensorShape({1}), {0.5f})));
  CKPT_ASSERT_OK(w->Add("z", Tensor::Allocate(DataType::kFloat, TensorShape({0})).value()));
  CKPT_ASSERT_OK(w->Add("s", Tensor::Scalar<float>(2.0f)));
  Tensor rows = Tensor::FromVector<int32_t>(TensorShape({2, 3}), {1, 2, 3, 4, 5, 6});
  CKPT_ASSERT_OK(w->AddSlice("p", TensorShape({4, 3}), Slice("0,2:-"), rows));
  CKPT_ASSERT_OK(w->AddSlice("p", TensorShape({4, 3}), Slice("2,2:-"), rows));
  CKPT_ASSERT_OK(w->Finish());

  CKPT_ASSERT_OK_AND_ASSIGN(auto file, env()->NewRandomAccessFile(MetaFilename(prefix_)));
  CKPT_ASSERT_OK_AND_ASSIGN(auto table, TableReader::Open(std::move(file), MetaFilename(prefix_)));
  std::map<std::string, std::string> kv;
  CKPT_ASSERT_OK(table->ForEach([&](std::string_view k, std::string_view v) {
    kv.emplace(std::string(k), std::string(v));
    return Status::OK();
  }));
  EXPECT_EQ(HexString(kv[""]), "08 01 1a 02 08 01");
  // dtype, shape [1], no offset (0), size 4, masked crc of 0.5f.
  EXPECT_EQ(HexString(kv["y"]), "08 01 12 04 12 02 08 01 28 04 35 06 38 27 1f");
  // zero-size dim: Dim{} with size omitted; size 0 omitted; crc = mask(0).
  EXPECT_EQ(HexString(kv["z"]), "08 01 12 02 12 00 20 04 35 d8 ea 82 a2");
  // Scalar: the shape sub-message is present though empty.
  EXPECT_EQ(HexString(kv["s"]), "08 01 12 00 20 04 28 04 35 10 fd 78 4f");
  // Full entry of a partitioned tensor: dtype, shape, slices only; a whole
  // dimension is an empty Extent.
  EXPECT_EQ(HexString(kv["p"]),
            "08 03 12 08 12 02 08 04 12 02 08 03 3a 06 0a 02 10 02 0a 00 3a 08 0a 04 08 02 10 02 "
            "0a 00");
  // Slice key of "0,2:-" (OrderedCode), stored with the slice's shape.
  std::string k0 = std::string("\x00p\x00\x01\x01\x02\x80\x82\x80\x7f", 10);
  ASSERT_TRUE(kv.count(k0)) << "missing slice key";
  EXPECT_EQ(HexString(kv[k0]).substr(0, 23), "08 03 12 08 12 02 08 02");
  EXPECT_EQ(kv.size(), 7u);
}

INSTANTIATE_TEST_SUITE_P(AllEnvs, BundleTest, ::testing::Values(EnvKind::kPosix, EnvKind::kMem),
                         [](const ::testing::TestParamInfo<EnvKind>& info) {
                           return EnvKindName(info.param);
                         });

TEST(BundleNamingTest, Filenames) {
  EXPECT_EQ(MetaFilename("dir/model.ckpt-1000"), "dir/model.ckpt-1000.index");
  EXPECT_EQ(DataFilename("dir/model.ckpt-1000", 0, 1), "dir/model.ckpt-1000.data-00000-of-00001");
  EXPECT_EQ(DataFilename("p", 3, 8), "p.data-00003-of-00008");
  EXPECT_EQ(DataFilename("p", 12345, 99999), "p.data-12345-of-99999");
}

}  // namespace
}  // namespace ckpt

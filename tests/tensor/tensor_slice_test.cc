#include "ckpt/tensor_slice.h"

#include <random>

#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::StatusIs;

std::string Hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    if (!out.empty()) out += ' ';
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

TensorSlice P(std::string_view text) {
  auto r = TensorSlice::Parse(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status();
  return r.ok() ? *r : TensorSlice();
}

TEST(TensorSliceTest, ParseAndDebugString) {
  TensorSlice s = P("0,5:-");
  ASSERT_EQ(s.rank(), 2);
  EXPECT_EQ(s.start(0), 0);
  EXPECT_EQ(s.extents()[0].length, 5);
  EXPECT_FALSE(s.IsFullAt(0));
  EXPECT_TRUE(s.IsFullAt(1));
  EXPECT_FALSE(s.IsFull());
  EXPECT_EQ(s.DebugString(), "0,5:-");
  for (const char* text : {"-", "-:-", "3,4", "0,0", "1,2:3,4:-:5,6", "-:-:-:-:-:-:-:-:-",
                           "1000000000000,1"}) {
    EXPECT_EQ(P(text).DebugString(), text);
  }
}

TEST(TensorSliceTest, EmptyTextIsRankZero) {
  TensorSlice s = P("");
  EXPECT_EQ(s.rank(), 0);
  EXPECT_TRUE(s.IsFull());
  EXPECT_EQ(s.DebugString(), "");
  EXPECT_EQ(s, TensorSlice());
  EXPECT_EQ(s, TensorSlice::Full(0));
}

TEST(TensorSliceTest, ParseRejectsMalformed) {
  for (const char* bad : {"0,5,1", "a,b", "-1,2", "0,-2", "0:", ":", "1,2:", "1", "1,", ",1",
                          "--", " 1,2", "1,2 ", "0,5;-", "99999999999999999999,1"}) {
    EXPECT_THAT(TensorSlice::Parse(bad), StatusIs(StatusCode::kInvalidArgument, "")) << bad;
  }
}

TEST(TensorSliceTest, Full) {
  TensorSlice f = TensorSlice::Full(3);
  EXPECT_EQ(f.rank(), 3);
  EXPECT_TRUE(f.IsFull());
  EXPECT_EQ(f.DebugString(), "-:-:-");
  EXPECT_EQ(f, P("-:-:-"));
  EXPECT_TRUE(f.CoversAll(TensorShape({2, 3, 4})));
  EXPECT_EQ(f.SliceShape(TensorShape({2, 3, 4})), TensorShape({2, 3, 4}));
}

TEST(TensorSliceTest, Equality) {
  EXPECT_EQ(P("0,5:-"), P("0,5:-"));
  EXPECT_FALSE(P("0,5:-") == P("0,4:-"));
  EXPECT_FALSE(P("0,5:-") == P("1,5:-"));
  EXPECT_FALSE(P("0,5:-") == P("0,5"));
  // "-" and an explicit full extent are different slices textually.
  EXPECT_FALSE(P("-") == P("0,10"));
}

TEST(TensorSliceTest, ValidateAgainst) {
  TensorShape shape{10, 4};
  CKPT_EXPECT_OK(P("0,5:-").ValidateAgainst(shape));
  CKPT_EXPECT_OK(P("5,5:0,4").ValidateAgainst(shape));
  CKPT_EXPECT_OK(P("10,0:-").ValidateAgainst(shape));
  CKPT_EXPECT_OK(P("-:-").ValidateAgainst(shape));
  EXPECT_THAT(P("0,5").ValidateAgainst(shape), StatusIs(StatusCode::kInvalidArgument, "rank"));
  EXPECT_THAT(P("0,5:-:-").ValidateAgainst(shape), StatusIs(StatusCode::kInvalidArgument, "rank"));
  EXPECT_THAT(P("6,5:-").ValidateAgainst(shape),
              StatusIs(StatusCode::kInvalidArgument, "out of bounds"));
  EXPECT_THAT(P("-:4,1").ValidateAgainst(shape),
              StatusIs(StatusCode::kInvalidArgument, "dimension 1"));
  EXPECT_THAT(P("11,0:-").ValidateAgainst(shape), StatusIs(StatusCode::kInvalidArgument, ""));
  // Overflowing start + length must not wrap around.
  TensorSlice huge({{int64_t{1} << 62, std::numeric_limits<int64_t>::max()}});
  EXPECT_FALSE(huge.ValidateAgainst(TensorShape({10})).ok());
  TensorSlice neg({{-1, 2}});
  EXPECT_FALSE(neg.ValidateAgainst(TensorShape({10})).ok());
  CKPT_EXPECT_OK(TensorSlice().ValidateAgainst(TensorShape()));
}

TEST(TensorSliceTest, SliceShapeAndCoversAll) {
  TensorShape shape{10, 4};
  EXPECT_EQ(P("0,5:-").SliceShape(shape), TensorShape({5, 4}));
  EXPECT_EQ(P("2,3:1,2").SliceShape(shape), TensorShape({3, 2}));
  EXPECT_EQ(P("2,0:-").SliceShape(shape), TensorShape({0, 4}));
  EXPECT_TRUE(P("0,10:-").CoversAll(shape));
  EXPECT_TRUE(P("0,10:0,4").CoversAll(shape));
  EXPECT_FALSE(P("0,9:-").CoversAll(shape));
  EXPECT_FALSE(P("1,9:-").CoversAll(shape));
  EXPECT_FALSE(P("-:0,3").CoversAll(shape));
  EXPECT_EQ(P("0,5:-").length(0, shape), 5);
  EXPECT_EQ(P("0,5:-").length(1, shape), 4);
}

TEST(TensorSliceTest, Intersect) {
  TensorShape shape{10, 8};
  TensorSlice r;
  ASSERT_TRUE(P("0,5:-").Intersect(P("3,5:2,2"), shape, &r));
  EXPECT_EQ(r.DebugString(), "3,2:2,2");
  ASSERT_TRUE(P("-:-").Intersect(P("1,2:3,4"), shape, &r));
  EXPECT_EQ(r.DebugString(), "1,2:3,4");
  ASSERT_TRUE(P("-:-").Intersect(P("-:-"), shape, &r));
  EXPECT_EQ(r.DebugString(), "0,10:0,8");
  // Symmetric.
  TensorSlice r1, r2;
  ASSERT_TRUE(P("0,5:-").Intersect(P("3,5:2,2"), shape, &r1));
  ASSERT_TRUE(P("3,5:2,2").Intersect(P("0,5:-"), shape, &r2));
  EXPECT_EQ(r2, r1);
  EXPECT_EQ(r2.DebugString(), "3,2:2,2");
  // Touching but not overlapping.
  EXPECT_FALSE(P("0,5:-").Intersect(P("5,5:-"), shape, &r));
  EXPECT_FALSE(P("-:0,4").Intersect(P("-:4,4"), shape, &r));
  // Disjoint in one dimension only.
  EXPECT_FALSE(P("0,5:0,2").Intersect(P("0,5:6,2"), shape, &r));
  // Empty slice intersects nothing.
  EXPECT_FALSE(P("2,0:-").Intersect(P("-:-"), shape, &r));
  // Rank 0: a scalar slice intersects itself.
  EXPECT_TRUE(TensorSlice().Intersect(TensorSlice(), TensorShape(), &r));
  EXPECT_TRUE(P("0,1").Intersect(P("0,1"), TensorShape({1}), nullptr));
}

TEST(ParseShapeAndSliceTest, Valid) {
  TensorShape shape;
  TensorSlice slice;
  bool has_slice = true;
  CKPT_ASSERT_OK(ParseShapeAndSlice("10 4 0,5:-", &shape, &slice, &has_slice));
  EXPECT_TRUE(has_slice);
  EXPECT_EQ(shape, TensorShape({10, 4}));
  EXPECT_EQ(slice.DebugString(), "0,5:-");
  CKPT_ASSERT_OK(ParseShapeAndSlice("7 -", &shape, &slice, &has_slice));
  EXPECT_EQ(shape, TensorShape({7}));
  EXPECT_TRUE(slice.IsFull());
}

TEST(ParseShapeAndSliceTest, EmptyMeansUnsliced) {
  TensorShape shape{1, 2};
  TensorSlice slice = P("0,1");
  bool has_slice = true;
  CKPT_ASSERT_OK(ParseShapeAndSlice("", &shape, &slice, &has_slice));
  EXPECT_FALSE(has_slice);
  EXPECT_EQ(shape, TensorShape());
  EXPECT_EQ(slice.rank(), 0);
}

TEST(ParseShapeAndSliceTest, Invalid) {
  TensorShape shape;
  TensorSlice slice;
  bool has_slice;
  for (const char* bad : {"10", "10 4", "10 4 0,11:-", "10 x 0,5:-", "-1 -", "10 4 0,5",
                          "10 4 0,5:-:-", "10  4 -:-", "10 4 q"}) {
    EXPECT_THAT(ParseShapeAndSlice(bad, &shape, &slice, &has_slice),
                StatusIs(StatusCode::kInvalidArgument, ""))
        << bad;
  }
}

// --- Slice keys ------------------------------------------------------------------

TEST(TensorNameSliceTest, SpecExampleKey) {
  // docs/format/bundle.md (partitioned tensors): tensor "foo", slice "0,2:-".
  EXPECT_EQ(Hex(EncodeTensorNameSlice("foo", P("0,2:-"))), "00 66 6f 6f 00 01 01 02 80 82 80 7f");
}

TEST(TensorNameSliceTest, ScalarKeyAsInV1Files) {
  // README C2: keys `00 61 00 01 00` for scalar "a".
  EXPECT_EQ(Hex(EncodeTensorNameSlice("a", TensorSlice())), "00 61 00 01 00");
  EXPECT_EQ(EncodeTensorNameSlice("Variable_1", TensorSlice()),
            std::string("\x00Variable_1\x00\x01\x00", 14));
}

TEST(TensorNameSliceTest, RoundTrip) {
  const std::vector<std::string> names = {"", "foo", "a/b/c:0", std::string("\0\xff\0", 3),
                                          std::string(300, 'x'), "\x01\xfe"};
  const std::vector<TensorSlice> slices = {
      TensorSlice(), P("-"), P("0,2:-"), P("5,3:-:0,1"), P("1000,1:64,63:8192,0"),
      TensorSlice({{int64_t{1} << 40, (int64_t{1} << 41) + 5}}),
      TensorSlice::Full(9)};
  for (const auto& name : names) {
    for (const auto& slice : slices) {
      std::string key = EncodeTensorNameSlice(name, slice);
      ASSERT_FALSE(key.empty());
      EXPECT_EQ(key[0], '\0');
      std::string got_name = "junk";
      TensorSlice got;
      CKPT_ASSERT_OK(DecodeTensorNameSlice(key, &got_name, &got));
      EXPECT_EQ(got_name, name);
      EXPECT_EQ(got, slice) << slice.DebugString() << " vs " << got.DebugString();
    }
  }
}

TEST(TensorNameSliceTest, KeysOfOneTensorSortTogether) {
  // Slice keys start with 0 and sort before all ordinary names.
  std::string k = EncodeTensorNameSlice("zzz", P("0,1"));
  EXPECT_LT(k, std::string("\x01"));
  EXPECT_LT(EncodeTensorNameSlice("a", P("0,1")), EncodeTensorNameSlice("b", P("0,1")));
  EXPECT_LT(EncodeTensorNameSlice("a", P("0,1")), EncodeTensorNameSlice("a", P("1,1")));
  EXPECT_LT(EncodeTensorNameSlice("a", P("2,1")), EncodeTensorNameSlice("a", P("100,1")));
}

TEST(TensorNameSliceTest, DecodeRejectsGarbage) {
  std::string name;
  TensorSlice slice;
  std::string good = EncodeTensorNameSlice("foo", P("0,2:-"));
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(DecodeTensorNameSlice(good.substr(0, n), &name, &slice).ok()) << n;
  }
  EXPECT_THAT(DecodeTensorNameSlice(good + "x", &name, &slice),
              StatusIs(StatusCode::kDataLoss, "trailing"));
  EXPECT_FALSE(DecodeTensorNameSlice("foo", &name, &slice).ok());
  EXPECT_FALSE(DecodeTensorNameSlice(std::string("\x01\x00", 2), &name, &slice).ok());
  // Bad escape inside the name.
  EXPECT_FALSE(DecodeTensorNameSlice(std::string("\x00\x66\x00\x05\x00", 5), &name, &slice).ok());
  // Negative start.
  std::string neg = std::string("\x00\x66\x00\x01\x01\x01", 6) + "\x7f\x81";
  EXPECT_FALSE(DecodeTensorNameSlice(neg, &name, &slice).ok());
  // Length below -1.
  std::string len = std::string("\x00\x66\x00\x01\x01\x01", 6) + "\x80\x7e";
  EXPECT_FALSE(DecodeTensorNameSlice(len, &name, &slice).ok());
}

// --- CopySliceData -------------------------------------------------------------

// Fills an int32 tensor holding `slice` of `full` with each element's global
// row-major index in the full tensor.
Tensor GlobalIndexTensor(const TensorShape& full, const TensorSlice& slice) {
  TensorShape shape = slice.SliceShape(full);
  Tensor t = Tensor::Allocate(DataType::kInt32, shape).value();
  const int rank = full.rank();
  std::vector<int64_t> idx(rank, 0);
  for (int64_t i = 0; i < shape.num_elements(); ++i) {
    int64_t rem = i;
    for (int d = rank - 1; d >= 0; --d) {
      idx[d] = rem % shape.dim(d);
      rem /= shape.dim(d);
    }
    int64_t g = 0;
    for (int d = 0; d < rank; ++d) g = g * full.dim(d) + slice.start(d) + idx[d];
    t.mutable_flat<int32_t>()[i] = static_cast<int32_t>(g);
  }
  return t;
}

// True if global coordinate `g` (row-major index in full) lies in `slice`.
bool Contains(const TensorShape& full, const TensorSlice& slice, int64_t g) {
  for (int d = full.rank() - 1; d >= 0; --d) {
    int64_t c = g % full.dim(d);
    g /= full.dim(d);
    if (c < slice.start(d) || c >= slice.start(d) + slice.length(d, full)) return false;
  }
  return true;
}

void CheckCopy(const TensorShape& full, const TensorSlice& src_slice,
               const TensorSlice& dst_slice) {
  SCOPED_TRACE("full " + full.DebugString() + " src " + src_slice.DebugString() + " dst " +
               dst_slice.DebugString());
  Tensor src = GlobalIndexTensor(full, src_slice);
  Tensor expected_all = GlobalIndexTensor(full, dst_slice);
  Tensor dst = Tensor::Allocate(DataType::kInt32, dst_slice.SliceShape(full)).value();
  for (int64_t i = 0; i < dst.num_elements(); ++i) dst.mutable_flat<int32_t>()[i] = -1;
  CopySliceData(src, src_slice, &dst, dst_slice, full);
  int copied = 0;
  for (int64_t i = 0; i < dst.num_elements(); ++i) {
    int32_t g = expected_all.flat<int32_t>()[i];
    int32_t got = dst.flat<int32_t>()[i];
    if (Contains(full, src_slice, g)) {
      ASSERT_EQ(got, g) << "element " << i;
      ++copied;
    } else {
      ASSERT_EQ(got, -1) << "element " << i << " outside the source was written";
    }
  }
  TensorSlice inter;
  int64_t want = src_slice.Intersect(dst_slice, full, &inter)
                     ? inter.SliceShape(full).num_elements()
                     : 0;
  EXPECT_EQ(copied, want);
}

TEST(CopySliceDataTest, OneDim) {
  TensorShape full{10};
  CheckCopy(full, P("-"), P("-"));
  CheckCopy(full, P("0,5"), P("-"));
  CheckCopy(full, P("5,5"), P("-"));
  CheckCopy(full, P("-"), P("3,4"));
  CheckCopy(full, P("2,5"), P("4,6"));
  CheckCopy(full, P("0,3"), P("5,5"));  // disjoint: nothing copied
}

TEST(CopySliceDataTest, TwoDims) {
  TensorShape full{6, 5};
  CheckCopy(full, P("0,3:-"), P("-:-"));
  CheckCopy(full, P("3,3:-"), P("-:-"));
  CheckCopy(full, P("-:1,3"), P("2,3:-"));
  CheckCopy(full, P("1,4:2,3"), P("2,4:0,4"));
  CheckCopy(full, P("-:-"), P("5,1:4,1"));
}

TEST(CopySliceDataTest, ThreeAndFourDims) {
  CheckCopy(TensorShape({4, 3, 5}), P("1,2:-:1,3"), P("-:1,2:-"));
  CheckCopy(TensorShape({4, 3, 5}), P("-:-:-"), P("3,1:2,1:4,1"));
  CheckCopy(TensorShape({3, 4, 2, 5}), P("0,2:1,3:-:2,3"), P("1,2:-:1,1:-"));
  CheckCopy(TensorShape({3, 4, 2, 5}), P("-:-:-:-"), P("-:-:-:-"));
}

TEST(CopySliceDataTest, Scalar) {
  Tensor src = Tensor::Scalar<double>(4.25);
  Tensor dst = Tensor::Scalar<double>(0);
  CopySliceData(src, TensorSlice(), &dst, TensorSlice(), TensorShape());
  EXPECT_EQ(*dst.flat<double>(), 4.25);
}

TEST(CopySliceDataTest, RandomSlices) {
  std::mt19937 rng(1234);
  auto random_slice = [&](const TensorShape& full) {
    std::vector<TensorSlice::Extent> ext;
    for (int d = 0; d < full.rank(); ++d) {
      if (rng() % 4 == 0) {
        ext.push_back({0, TensorSlice::kFullExtent});
      } else {
        int64_t s = rng() % full.dim(d);
        int64_t l = 1 + rng() % (full.dim(d) - s);
        ext.push_back({s, l});
      }
    }
    return TensorSlice(ext);
  };
  for (int iter = 0; iter < 200; ++iter) {
    int rank = 1 + iter % 4;
    std::vector<int64_t> dims;
    for (int d = 0; d < rank; ++d) dims.push_back(1 + rng() % 5);
    TensorShape full(dims);
    CheckCopy(full, random_slice(full), random_slice(full));
    if (HasFatalFailure()) return;
  }
}

TEST(CopySliceDataTest, WiderElements) {
  // complex128: 16-byte elements.
  TensorShape full{4, 3};
  Tensor src = testing::MakeTestTensor(DataType::kComplex128, full, 5);
  TensorSlice want = P("1,2:1,2");
  Tensor dst = Tensor::Allocate(DataType::kComplex128, want.SliceShape(full)).value();
  CopySliceData(src, TensorSlice::Full(2), &dst, want, full);
  for (int r = 0; r < 2; ++r) {
    for (int c = 0; c < 2; ++c) {
      EXPECT_EQ(dst.bytes().substr((r * 2 + c) * 16, 16),
                src.bytes().substr(((r + 1) * 3 + (c + 1)) * 16, 16));
    }
  }
}

}  // namespace
}  // namespace ckpt

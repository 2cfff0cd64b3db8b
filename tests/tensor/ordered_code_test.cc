#include "tensor/ordered_code.h"

#include <algorithm>
#include <limits>
#include <random>

#include "testutil/testutil.h"

namespace ckpt::ordered_code {
namespace {

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

std::string Signed(int64_t v) {
  std::string s;
  WriteSignedNumIncreasing(&s, v);
  return s;
}

std::string Unsigned(uint64_t v) {
  std::string s;
  WriteNumIncreasing(&s, v);
  return s;
}

TEST(OrderedCodeTest, SignedSpecExamples) {
  // TensorFlow's ordered code of signed numbers (slice keys, docs/format/bundle.md).
  EXPECT_EQ(Hex(Signed(0)), "80");
  EXPECT_EQ(Hex(Signed(1)), "81");
  EXPECT_EQ(Hex(Signed(2)), "82");
  EXPECT_EQ(Hex(Signed(63)), "bf");
  EXPECT_EQ(Hex(Signed(-1)), "7f");
  EXPECT_EQ(Hex(Signed(-64)), "40");
  EXPECT_EQ(Hex(Signed(64)), "c0 40");
  EXPECT_EQ(Hex(Signed(100)), "c0 64");
  EXPECT_EQ(Hex(Signed(1000)), "c3 e8");
  EXPECT_EQ(Hex(Signed(8191)), "df ff");
  EXPECT_EQ(Hex(Signed(8192)), "e0 20 00");
  EXPECT_EQ(Hex(Signed(-65)), "3f bf");
}

TEST(OrderedCodeTest, SignedLengthBoundaries) {
  // n bytes hold 7n-1 value bits (plus sign) per the header table.
  EXPECT_EQ(Signed(-8192).size(), 2u);
  EXPECT_EQ(Signed(-8193).size(), 3u);
  EXPECT_EQ(Signed((int64_t{1} << 20) - 1).size(), 3u);
  EXPECT_EQ(Signed(int64_t{1} << 20).size(), 4u);
  EXPECT_EQ(Signed((int64_t{1} << 55) - 1).size(), 8u);
  EXPECT_EQ(Signed(int64_t{1} << 55).size(), 9u);
  EXPECT_EQ(Signed((int64_t{1} << 62) - 1).size(), 9u);
  EXPECT_EQ(Signed(int64_t{1} << 62).size(), 10u);
}

TEST(OrderedCodeTest, SignedExtremes) {
  const int64_t max = std::numeric_limits<int64_t>::max();
  const int64_t min = std::numeric_limits<int64_t>::min();
  // 10 bytes: sign-extended big-endian value, first two bytes xor ff c0.
  EXPECT_EQ(Hex(Signed(max)), "ff c0 7f ff ff ff ff ff ff ff");
  EXPECT_EQ(Hex(Signed(min)), "00 3f 80 00 00 00 00 00 00 00");
  for (int64_t v : {max, min, max - 1, min + 1}) {
    std::string s = Signed(v);
    std::string_view in = s;
    int64_t got = 0;
    ASSERT_TRUE(ReadSignedNumIncreasing(&in, &got)) << v;
    EXPECT_EQ(got, v);
    EXPECT_TRUE(in.empty());
  }
}

std::vector<int64_t> InterestingValues() {
  std::vector<int64_t> v = {std::numeric_limits<int64_t>::min(),
                            std::numeric_limits<int64_t>::max()};
  for (int b = 0; b < 63; ++b) {
    int64_t p = int64_t{1} << b;
    for (int64_t x : {p - 1, p, p + 1}) {
      v.push_back(x);
      v.push_back(-x);
    }
  }
  std::mt19937_64 rng(99);
  for (int i = 0; i < 2000; ++i) {
    int64_t x = static_cast<int64_t>(rng());
    v.push_back(x >> (rng() % 64));
  }
  return v;
}

TEST(OrderedCodeTest, SignedRoundTrip) {
  for (int64_t v : InterestingValues()) {
    std::string s = Signed(v);
    ASSERT_GE(s.size(), 1u);
    ASSERT_LE(s.size(), 10u);
    s += "tail";
    std::string_view in = s;
    int64_t got = 0;
    ASSERT_TRUE(ReadSignedNumIncreasing(&in, &got)) << v;
    EXPECT_EQ(got, v);
    EXPECT_EQ(in, "tail") << v;
  }
}

TEST(OrderedCodeTest, SignedPreservesOrder) {
  std::vector<int64_t> v = InterestingValues();
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  for (size_t i = 1; i < v.size(); ++i) {
    ASSERT_LT(Signed(v[i - 1]), Signed(v[i])) << v[i - 1] << " vs " << v[i];
  }
}

TEST(OrderedCodeTest, SignedConcatenation) {
  std::string s;
  const std::vector<int64_t> vals = {0, -1, 1000, -8193, 1LL << 40, 5};
  for (int64_t x : vals) WriteSignedNumIncreasing(&s, x);
  std::string_view in = s;
  for (int64_t x : vals) {
    int64_t got;
    ASSERT_TRUE(ReadSignedNumIncreasing(&in, &got));
    EXPECT_EQ(got, x);
  }
  EXPECT_TRUE(in.empty());
}

TEST(OrderedCodeTest, SignedTruncatedFails) {
  for (int64_t v : {int64_t{64}, int64_t{8192}, int64_t{-65}, int64_t{1} << 50,
                    std::numeric_limits<int64_t>::min()}) {
    std::string s = Signed(v);
    for (size_t n = 0; n < s.size(); ++n) {
      std::string_view in(s.data(), n);
      int64_t got;
      EXPECT_FALSE(ReadSignedNumIncreasing(&in, &got)) << v << " truncated to " << n;
    }
  }
}

TEST(OrderedCodeTest, UnsignedExamples) {
  // One length byte then big-endian bytes.
  EXPECT_EQ(Hex(Unsigned(0)), "00");
  EXPECT_EQ(Hex(Unsigned(2)), "01 02");
  EXPECT_EQ(Hex(Unsigned(300)), "02 01 2c");
  EXPECT_EQ(Hex(Unsigned(std::numeric_limits<uint64_t>::max())),
            "08 ff ff ff ff ff ff ff ff");
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{255}, uint64_t{256}, uint64_t{1} << 40,
                     std::numeric_limits<uint64_t>::max()}) {
    std::string s = Unsigned(v) + "!";
    std::string_view in = s;
    uint64_t got = 7;
    ASSERT_TRUE(ReadNumIncreasing(&in, &got));
    EXPECT_EQ(got, v);
    EXPECT_EQ(in, "!");
  }
  EXPECT_LT(Unsigned(255), Unsigned(256));
  EXPECT_LT(Unsigned(0), Unsigned(1));
}

TEST(OrderedCodeTest, UnsignedMalformed) {
  uint64_t v;
  std::string_view empty;
  EXPECT_FALSE(ReadNumIncreasing(&empty, &v));
  std::string_view short_in("\x02\x01", 2);
  EXPECT_FALSE(ReadNumIncreasing(&short_in, &v));
  std::string nine("\x09\x01\x01\x01\x01\x01\x01\x01\x01\x01", 10);
  std::string_view nine_in = nine;
  EXPECT_FALSE(ReadNumIncreasing(&nine_in, &v));
}

TEST(OrderedCodeTest, StringEscaping) {
  std::string s;
  WriteString(&s, std::string("a\0b\xff", 4));
  EXPECT_EQ(Hex(s), "61 00 ff 62 ff 00 00 01");
  std::string e;
  WriteString(&e, "");
  EXPECT_EQ(Hex(e), "00 01");
  std::string foo;
  WriteString(&foo, "foo");
  EXPECT_EQ(Hex(foo), "66 6f 6f 00 01");
}

TEST(OrderedCodeTest, StringRoundTripAndOrder) {
  std::vector<std::string> vals = {"",    std::string(1, '\0'), std::string(2, '\0'),
                                   "\x01", "a",                 std::string("a\0", 2),
                                   "ab",  "b",                  std::string(1, '\xff'),
                                   std::string("\xff\xff\0", 3)};
  std::sort(vals.begin(), vals.end());
  std::string prev;
  for (size_t i = 0; i < vals.size(); ++i) {
    std::string enc;
    WriteString(&enc, vals[i]);
    if (i > 0) {
      EXPECT_LT(prev, enc) << "order of " << Hex(vals[i - 1]) << " and " << Hex(vals[i]);
    }
    prev = enc;
    enc += "rest";
    std::string_view in = enc;
    std::string got;
    ASSERT_TRUE(ReadString(&in, &got));
    EXPECT_EQ(got, vals[i]);
    EXPECT_EQ(in, "rest");
  }
}

TEST(OrderedCodeTest, StringMalformed) {
  std::string got;
  for (std::string bad : {std::string("abc"), std::string("abc\0", 4), std::string("a\0\x02", 3),
                          std::string("a\xff\x01\0\x01", 5), std::string("\xff", 1)}) {
    std::string_view in = bad;
    EXPECT_FALSE(ReadString(&in, &got)) << Hex(bad);
  }
}

}  // namespace
}  // namespace ckpt::ordered_code

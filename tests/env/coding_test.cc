#include "env/coding.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace ckpt {
namespace {

std::string Bytes(std::initializer_list<unsigned> bytes) {
  std::string out;
  for (unsigned b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

TEST(CodingTest, Fixed32IsLittleEndian) {
  std::string s;
  PutFixed32(&s, 0x04030201u);
  EXPECT_EQ(s, Bytes({1, 2, 3, 4}));
  EXPECT_EQ(DecodeFixed32(s.data()), 0x04030201u);
  char buf[4];
  EncodeFixed32(buf, 0xfffffffeu);
  EXPECT_EQ(std::string(buf, 4), Bytes({0xfe, 0xff, 0xff, 0xff}));
}

TEST(CodingTest, Fixed64IsLittleEndian) {
  std::string s;
  PutFixed64(&s, 0x0807060504030201ull);
  EXPECT_EQ(s, Bytes({1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(DecodeFixed64(s.data()), 0x0807060504030201ull);
  char buf[8];
  EncodeFixed64(buf, 0x80ull << 56);
  EXPECT_EQ(std::string(buf, 8), Bytes({0, 0, 0, 0, 0, 0, 0, 0x80}));
}

TEST(CodingTest, FixedRoundTripsBoundaryValues) {
  for (uint32_t v : {0u, 1u, 127u, 128u, 255u, 256u, 0x7fffffffu, 0x80000000u,
                     std::numeric_limits<uint32_t>::max()}) {
    std::string s;
    PutFixed32(&s, v);
    ASSERT_EQ(s.size(), 4u);
    EXPECT_EQ(DecodeFixed32(s.data()), v);
  }
  for (uint64_t v : {uint64_t{0}, uint64_t{127}, uint64_t{128}, uint64_t{0xffffffff},
                     uint64_t{0x100000000}, std::numeric_limits<uint64_t>::max()}) {
    std::string s;
    PutFixed64(&s, v);
    ASSERT_EQ(s.size(), 8u);
    EXPECT_EQ(DecodeFixed64(s.data()), v);
  }
}

TEST(CodingTest, VarintKnownEncodings) {
  struct Case {
    uint64_t value;
    std::string bytes;
  };
  const std::vector<Case> cases = {
      {0, Bytes({0x00})},
      {1, Bytes({0x01})},
      {127, Bytes({0x7f})},
      {128, Bytes({0x80, 0x01})},
      {300, Bytes({0xac, 0x02})},
      {16383, Bytes({0xff, 0x7f})},
      {16384, Bytes({0x80, 0x80, 0x01})},
      {0xffffffffull, Bytes({0xff, 0xff, 0xff, 0xff, 0x0f})},
      {std::numeric_limits<uint64_t>::max(),
       Bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})},
  };
  for (const Case& c : cases) {
    std::string s;
    PutVarint64(&s, c.value);
    EXPECT_EQ(s, c.bytes) << c.value;
    std::string_view in = c.bytes;
    uint64_t got = 12345;
    ASSERT_TRUE(GetVarint64(&in, &got)) << c.value;
    EXPECT_EQ(got, c.value);
    EXPECT_TRUE(in.empty());
  }
}

TEST(CodingTest, VarintRoundTripsAndLeavesTheRest) {
  std::vector<uint64_t> values;
  for (int bits = 0; bits < 64; ++bits) {
    const uint64_t p = uint64_t{1} << bits;
    values.push_back(p - 1);
    values.push_back(p);
    values.push_back(p + 1);
  }
  values.push_back(std::numeric_limits<uint64_t>::max());
  std::string s;
  for (uint64_t v : values) PutVarint64(&s, v);
  s += "tail";
  std::string_view in = s;
  for (uint64_t v : values) {
    uint64_t got = 0;
    ASSERT_TRUE(GetVarint64(&in, &got)) << v;
    EXPECT_EQ(got, v);
  }
  EXPECT_EQ(in, "tail");
}

TEST(CodingTest, VarintLengthIsAtMostTenBytes) {
  std::string s;
  PutVarint64(&s, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(s.size(), static_cast<size_t>(kMaxVarint64Bytes));
  s.clear();
  PutVarint64(&s, 127);
  EXPECT_EQ(s.size(), 1u);
  s.clear();
  PutVarint64(&s, 128);
  EXPECT_EQ(s.size(), 2u);
}

TEST(CodingTest, TruncatedVarintFails) {
  uint64_t got = 777;
  std::string_view empty;
  EXPECT_FALSE(GetVarint64(&empty, &got));
  for (uint64_t v : {uint64_t{128}, uint64_t{0xffffffff}, std::numeric_limits<uint64_t>::max()}) {
    std::string s;
    PutVarint64(&s, v);
    for (size_t n = 0; n < s.size(); ++n) {
      std::string_view in(s.data(), n);
      EXPECT_FALSE(GetVarint64(&in, &got)) << v << " cut to " << n << " bytes";
    }
  }
  EXPECT_EQ(got, 777u);  // untouched on failure
}

TEST(CodingTest, OverlongVarintFails) {
  // Eleven bytes, every one with the continuation bit: no varint64 is that long.
  const std::string s(11, static_cast<char>(0x80));
  std::string_view in = s;
  uint64_t got = 0;
  EXPECT_FALSE(GetVarint64(&in, &got));
  // Ten continuation bytes and then a terminator: still too long.
  std::string s2(10, static_cast<char>(0xff));
  s2.push_back(0x01);
  std::string_view in2 = s2;
  EXPECT_FALSE(GetVarint64(&in2, &got));
}

TEST(CodingTest, VarintAcceptsRedundantZeroGroups) {
  // 0x80 0x00 is a (non-minimal) encoding of 0; readers accept it, as LevelDB's do.
  const std::string s = Bytes({0x80, 0x00});
  std::string_view in = s;
  uint64_t got = 5;
  ASSERT_TRUE(GetVarint64(&in, &got));
  EXPECT_EQ(got, 0u);
  EXPECT_TRUE(in.empty());
}

TEST(CodingTest, LengthPrefixedFieldsRoundTripAndRefuseTruncation) {
  std::string s;
  const std::string big(300, 'x');  // a two-byte length
  PutLengthPrefixed(&s, "");
  PutLengthPrefixed(&s, "ab");
  PutLengthPrefixed(&s, big);
  std::string_view in = s, field;
  ASSERT_TRUE(GetLengthPrefixed(&in, &field));
  EXPECT_EQ(field, "");
  ASSERT_TRUE(GetLengthPrefixed(&in, &field));
  EXPECT_EQ(field, "ab");
  ASSERT_TRUE(GetLengthPrefixed(&in, &field));
  EXPECT_EQ(field, big);
  EXPECT_TRUE(in.empty());
  std::string_view cut = std::string_view(s).substr(0, s.size() - 1);
  ASSERT_TRUE(GetLengthPrefixed(&cut, &field));
  ASSERT_TRUE(GetLengthPrefixed(&cut, &field));
  EXPECT_FALSE(GetLengthPrefixed(&cut, &field)) << "the last field is one byte short";
}

}  // namespace
}  // namespace ckpt

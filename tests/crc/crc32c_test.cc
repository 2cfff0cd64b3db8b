#include "crc/crc32c.h"

#include <cstring>
#include <string>

#include "testutil/testutil.h"

namespace ckpt::crc32c {
namespace {

TEST(Crc32cTest, CheckValue) {
  // The standard CRC-32C check value (spec §1.2).
  EXPECT_EQ(Value("123456789"), 0xE3069283u);
  EXPECT_EQ(Value(std::string_view("123456789")), 0xE3069283u);
}

TEST(Crc32cTest, EmptyIsZero) {
  EXPECT_EQ(Value("", 0), 0u);
  EXPECT_EQ(Extend(0x12345678u, "", 0), 0x12345678u);
}

TEST(Crc32cTest, Rfc3720Vectors) {
  // iSCSI (RFC 3720 B.4) test vectors.
  char buf[32];
  std::memset(buf, 0, sizeof(buf));
  EXPECT_EQ(Value(buf, sizeof(buf)), 0x8A9136AAu);
  std::memset(buf, 0xff, sizeof(buf));
  EXPECT_EQ(Value(buf, sizeof(buf)), 0x62A8AB43u);
  for (int i = 0; i < 32; ++i) buf[i] = static_cast<char>(i);
  EXPECT_EQ(Value(buf, sizeof(buf)), 0x46DD794Eu);
  for (int i = 0; i < 32; ++i) buf[i] = static_cast<char>(31 - i);
  EXPECT_EQ(Value(buf, sizeof(buf)), 0x113FDB5Cu);
}

TEST(Crc32cTest, ValuesDiffer) {
  EXPECT_NE(Value("a"), Value("foo"));
  EXPECT_NE(Value(std::string(1, '\0')), Value(std::string(2, '\0')));
}

TEST(Crc32cTest, ExtendOverPiecesEqualsWhole) {
  std::string data;
  for (int i = 0; i < 5000; ++i) data.push_back(static_cast<char>((i * 131 + 7) & 0xff));
  const uint32_t whole = Value(data);
  for (size_t split : {size_t{0}, size_t{1}, size_t{7}, size_t{64}, size_t{4095}, data.size()}) {
    uint32_t c = Value(data.data(), split);
    c = Extend(c, data.data() + split, data.size() - split);
    EXPECT_EQ(c, whole) << "split at " << split;
  }
  // Byte by byte.
  uint32_t c = 0;
  for (char ch : data) c = Extend(c, &ch, 1);
  EXPECT_EQ(c, whole);
  EXPECT_EQ(Extend(Value("hello "), "world", 5), Value("hello world"));
}

TEST(Crc32cTest, MaskExamplesFromSpec) {
  // Spec §1.2: masked CRCs of the little-endian bytes of float scalars.
  const char half[4] = {0, 0, 0, 0x3f};   // 0.5f
  const char two[4] = {0, 0, 0, 0x40};    // 2.0f
  const char three[4] = {0, 0, 0x40, 0x40};  // 3.0f
  EXPECT_EQ(Mask(Value(half, 4)), 0x1F273806u);
  EXPECT_EQ(Mask(Value(two, 4)), 0x4F78FD10u);
  EXPECT_EQ(Mask(Value(three, 4)), 0xC382D6EFu);
  EXPECT_EQ(Mask(0), 0xA282EAD8u);
  EXPECT_EQ(kMaskDelta, 0xa282ead8u);
}

TEST(Crc32cTest, MaskFormula) {
  const uint32_t crc = Value("foo");
  EXPECT_EQ(Mask(crc), ((crc >> 15) | (crc << 17)) + 0xa282ead8u);
  EXPECT_NE(Mask(crc), crc);
  EXPECT_NE(Mask(Mask(crc)), Mask(crc));
}

TEST(Crc32cTest, UnmaskInvertsMask) {
  for (uint32_t v : {0u, 1u, 0xffffffffu, 0x80000000u, 0xE3069283u, 0xa282ead8u, 0x12345678u}) {
    EXPECT_EQ(Unmask(Mask(v)), v);
    EXPECT_EQ(Mask(Unmask(v)), v);
  }
  EXPECT_EQ(Unmask(0x1F273806u), Value(std::string("\0\0\0\x3f", 4)));
}

}  // namespace
}  // namespace ckpt::crc32c

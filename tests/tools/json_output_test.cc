// Tests of json_output.h: string literals, numbers, shapes and tensor values.
#include "json_output.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "testutil/testutil.h"

namespace ckpt::tools {
namespace {

TEST(JsonOutputTest, StringEscapesAndReplacesInvalidUtf8) {
  EXPECT_EQ(JsonString("plain"), "\"plain\"");
  EXPECT_EQ(JsonString("a\"b\\c\n\t"), "\"a\\\"b\\\\c\\n\\t\"");
  EXPECT_EQ(JsonString(std::string("\x01\0", 2)), "\"\\u0001\\u0000\"");
  EXPECT_EQ(JsonString("caf\xc3\xa9"), "\"caf\xc3\xa9\"");            // valid UTF-8 kept
  EXPECT_EQ(JsonString("x\xff"), "\"x\xef\xbf\xbd\"");                  // U+FFFD
  EXPECT_EQ(JsonString("\xc0\xaf"), "\"\xef\xbf\xbd\xef\xbf\xbd\"");    // overlong: two bytes
}

TEST(JsonOutputTest, NumbersRoundTripAndNonFiniteAreStrings) {
  EXPECT_EQ(ShortestDecimal(0.1), "0.1");
  EXPECT_EQ(ShortestDecimal(-HUGE_VAL), "-inf");
  EXPECT_EQ(JsonNumber(0.1), "0.1");
  EXPECT_EQ(JsonNumber(-2), "-2");
  EXPECT_EQ(JsonNumber(1e300), "1e+300");
  EXPECT_EQ(JsonNumber(std::numeric_limits<double>::quiet_NaN()), "\"nan\"");
  EXPECT_EQ(JsonNumber(-HUGE_VAL), "\"-inf\"");
  EXPECT_EQ(JsonBool(true), "true");
}

TEST(JsonOutputTest, Shapes) {
  EXPECT_EQ(JsonShape(TensorShape({})), "[]");
  EXPECT_EQ(JsonShape(TensorShape({2, 3})), "[2, 3]");
}

TEST(JsonOutputTest, TensorValues) {
  EXPECT_EQ(TensorValuesToJson(Tensor::FromVector<float>({3}, {0.1f, -1, NAN})),
            "[0.100000001, -1, \"nan\"]");
  EXPECT_EQ(TensorValuesToJson(Tensor::FromVector<double>({1}, {0.1})), "[0.10000000000000001]");
  EXPECT_EQ(TensorValuesToJson(Tensor::FromVector<int64_t>({2}, {-5, 7})), "[-5, 7]");
  EXPECT_EQ(TensorValuesToJson(Tensor::FromVector<bool>({2}, {true, false})), "[true, false]");
  EXPECT_EQ(TensorValuesToJson(
                Tensor::FromStrings(TensorShape({2}), {"ok", std::string("\xff\x00", 2)}).value()),
            "[\"ok\", {\"base64\": \"/wA=\"}]");
  EXPECT_EQ(TensorValuesToJson(Tensor::FromVector<float>({0}, {})), "[]");
}

}  // namespace
}  // namespace ckpt::tools

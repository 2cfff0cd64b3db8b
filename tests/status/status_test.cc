#include "ckpt/status.h"

#include <sstream>

#include "ckpt/escape.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::StatusIs;

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_TRUE(Status::OK().ok());
  EXPECT_EQ(Status(), Status::OK());
}

TEST(StatusTest, OkCodeWithMessageIsOk) {
  Status s(StatusCode::kOk, "ignored");
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.message(), "");
}

TEST(StatusTest, ErrorCarriesCodeAndMessage) {
  Status s(StatusCode::kDataLoss, "bad crc");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_EQ(s.message(), "bad crc");
  EXPECT_EQ(s.ToString(), "DATA_LOSS: bad crc");
}

TEST(StatusTest, ErrorMessageIsNeverEmpty) {
  Status s(StatusCode::kInternal, "");
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(s.message().empty());
}

TEST(StatusTest, FactoriesSetTheirCode) {
  struct Case {
    Status s;
    StatusCode code;
    const char* name;
  } cases[] = {
      {InvalidArgumentError("m"), StatusCode::kInvalidArgument, "INVALID_ARGUMENT"},
      {NotFoundError("m"), StatusCode::kNotFound, "NOT_FOUND"},
      {AlreadyExistsError("m"), StatusCode::kAlreadyExists, "ALREADY_EXISTS"},
      {DataLossError("m"), StatusCode::kDataLoss, "DATA_LOSS"},
      {FailedPreconditionError("m"), StatusCode::kFailedPrecondition, "FAILED_PRECONDITION"},
      {OutOfRangeError("m"), StatusCode::kOutOfRange, "OUT_OF_RANGE"},
      {UnimplementedError("m"), StatusCode::kUnimplemented, "UNIMPLEMENTED"},
      {ResourceExhaustedError("m"), StatusCode::kResourceExhausted, "RESOURCE_EXHAUSTED"},
      {InternalError("m"), StatusCode::kInternal, "INTERNAL"},
      {IoError("m"), StatusCode::kIoError, "IO_ERROR"},
      {DeadlineExceededError("m"), StatusCode::kDeadlineExceeded, "DEADLINE_EXCEEDED"},
      {AbortedError("m"), StatusCode::kAborted, "ABORTED"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.s.code(), c.code) << c.name;
    EXPECT_EQ(StatusCodeName(c.code), c.name);
    EXPECT_EQ(c.s.ToString(), std::string(c.name) + ": m");
    EXPECT_THAT(c.s, StatusIs(c.code, "m"));
  }
  EXPECT_EQ(StatusCodeName(StatusCode::kOk), "OK");
}

TEST(StatusTest, Equality) {
  EXPECT_EQ(NotFoundError("x"), NotFoundError("x"));
  EXPECT_FALSE(NotFoundError("x") == NotFoundError("y"));
  EXPECT_FALSE(NotFoundError("x") == DataLossError("x"));
  EXPECT_FALSE(NotFoundError("x") == Status::OK());
}

TEST(StatusTest, CopiesShareValue) {
  Status a = DataLossError("boom");
  Status b = a;
  EXPECT_EQ(a, b);
  b = Status::OK();
  EXPECT_FALSE(a.ok());
  EXPECT_EQ(a.message(), "boom");
}

TEST(StatusTest, WithContext) {
  Status s = NotFoundError("no file").WithContext("opening x");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "opening x: no file");
  EXPECT_TRUE(Status::OK().WithContext("ctx").ok());
}

TEST(StatusTest, StreamOperator) {
  std::ostringstream os;
  os << InvalidArgumentError("bad") << "|" << Status::OK();
  EXPECT_EQ(os.str(), "INVALID_ARGUMENT: bad|OK");
}

TEST(StatusTest, StatusIsMatcherRejectsWrongCodeOrText) {
  EXPECT_THAT(DataLossError("checksum mismatch"),
              ::testing::Not(StatusIs(StatusCode::kNotFound, "checksum")));
  EXPECT_THAT(DataLossError("checksum mismatch"),
              ::testing::Not(StatusIs(StatusCode::kDataLoss, "other")));
  EXPECT_THAT(Status::OK(), ::testing::Not(StatusIs(StatusCode::kDataLoss, "")));
}

Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgumentError("odd: " + std::to_string(x));
  return x / 2;
}

Status UseAssignOrReturn(int x, int* out) {
  CKPT_ASSIGN_OR_RETURN(int h, Half(x));
  CKPT_ASSIGN_OR_RETURN(int q, Half(h));
  *out = q;
  return Status::OK();
}

Status UseReturnIfError(bool fail, int* calls) {
  CKPT_RETURN_IF_ERROR(fail ? NotFoundError("nope") : Status::OK());
  ++*calls;
  return Status::OK();
}

TEST(ResultTest, ValueAndError) {
  Result<int> r = Half(8);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.status().ok());
  EXPECT_EQ(r.value(), 4);
  EXPECT_EQ(*r, 4);
  Result<int> e = Half(3);
  EXPECT_FALSE(e.ok());
  EXPECT_THAT(e, StatusIs(StatusCode::kInvalidArgument, "odd: 3"));
}

TEST(ResultTest, ConstructedFromOkStatusBecomesInternal) {
  Result<int> r{Status::OK()};
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
}

TEST(ResultTest, MoveOnlyValueAndArrow) {
  Result<std::unique_ptr<std::string>> r(std::make_unique<std::string>("abc"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->size(), 3u);
  std::unique_ptr<std::string> p = std::move(r).value();
  EXPECT_EQ(*p, "abc");
  Result<std::string> s(std::string("hello"));
  EXPECT_EQ(s->size(), 5u);
}

TEST(ResultTest, AssignOrReturnMacro) {
  int out = 0;
  CKPT_EXPECT_OK(UseAssignOrReturn(12, &out));
  EXPECT_EQ(out, 3);
  out = -1;
  EXPECT_THAT(UseAssignOrReturn(6, &out), StatusIs(StatusCode::kInvalidArgument, "odd: 3"));
  EXPECT_EQ(out, -1);
  EXPECT_THAT(UseAssignOrReturn(5, &out), StatusIs(StatusCode::kInvalidArgument, "odd: 5"));
}

TEST(ResultTest, ReturnIfErrorMacro) {
  int calls = 0;
  CKPT_EXPECT_OK(UseReturnIfError(false, &calls));
  EXPECT_EQ(calls, 1);
  EXPECT_THAT(UseReturnIfError(true, &calls), StatusIs(StatusCode::kNotFound, "nope"));
  EXPECT_EQ(calls, 1);
}

TEST(EscapeForDisplayTest, OrdinaryAndPrintableUtf8NamesAreUnchanged) {
  for (std::string_view name :
       {"", "dense/kernel", "a b\\c:0", "global_step/.ATTRIBUTES/VARIABLE_VALUE", "caf\xc3\xa9",
        "\xe5\x90\x8d\xe5\x89\x8d", "\xf0\x9f\x98\x80 emoji", "\xc2\xa0nbsp"}) {
    EXPECT_EQ(EscapeForDisplay(name), name);
  }
}

TEST(EscapeForDisplayTest, ControlCharactersAreEscaped) {
  EXPECT_EQ(EscapeForDisplay("\x1b[2Jboom"), "\\x1b[2Jboom");
  EXPECT_EQ(EscapeForDisplay("a\rb\nc\td"), "a\\rb\\nc\\td");
  EXPECT_EQ(EscapeForDisplay(std::string_view("\x07\x00\x7f", 3)), "\\x07\\x00\\x7f");
  // C1 controls, well-formed UTF-8 for U+0085 and U+009B (CSI).
  EXPECT_EQ(EscapeForDisplay("x\xc2\x85y\xc2\x9b"), "x\\u0085y\\u009b");
  // é next to controls keeps its bytes.
  EXPECT_EQ(EscapeForDisplay("\xc3\xa9\n"), "\xc3\xa9\\n");
}

TEST(EscapeForDisplayTest, InvalidUtf8BytesAreEscaped) {
  EXPECT_EQ(EscapeForDisplay("\xff"), "\\xff");
  EXPECT_EQ(EscapeForDisplay("a\x80z"), "a\\x80z");                         // stray continuation
  EXPECT_EQ(EscapeForDisplay("\xe5\x90"), "\\xe5\\x90");                    // truncated
  EXPECT_EQ(EscapeForDisplay("\xc0\xaf"), "\\xc0\\xaf");                    // overlong '/'
  EXPECT_EQ(EscapeForDisplay("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // surrogate
  EXPECT_EQ(EscapeForDisplay("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // > U+10FFFF
  // A raw C1 byte (not UTF-8) is an invalid byte.
  EXPECT_EQ(EscapeForDisplay("\x9b"), "\\x9b");
}

}  // namespace
}  // namespace ckpt

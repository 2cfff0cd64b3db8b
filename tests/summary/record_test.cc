// TFRecord framing: round trips, corruption, truncation, following a
// growing file.
#include "ckpt/record.h"

#include <string>
#include <vector>

#include "crc/crc32c.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::EnvKind;
using ::ckpt::testing::FaultInjectionEnv;
using ::ckpt::testing::HexString;
using ::ckpt::testing::StatusIs;
using ::ckpt::testing::TestEnv;
using ::testing::HasSubstr;

std::string Payload(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed * 7) & 0xff);
  return s;
}

class RecordTest : public ::testing::TestWithParam<EnvKind> {
 protected:
  void SetUp() override {
    t_ = testing::MakeTestEnv(GetParam());
    path_ = JoinPath(t_.root, "records");
  }
  Status WriteRecords(const std::vector<std::string>& payloads) {
    CKPT_ASSIGN_OR_RETURN(auto file, t_.env->NewWritableFile(path_));
    RecordWriter writer(file.get(), path_);
    for (const auto& p : payloads) CKPT_RETURN_IF_ERROR(writer.WriteRecord(p));
    return file->Close();
  }
  std::string Contents() { return ReadFileToString(t_.env, path_).value(); }
  void Overwrite(const std::string& data) {
    CKPT_ASSERT_OK(testing::WriteStringToFile(t_.env, path_, data));
  }
  // Reads everything; returns the payloads, or the error.
  Result<std::vector<std::string>> ReadAll(RecordReader::Mode mode = RecordReader::Mode::kStrict) {
    RecordReader::Options o;
    o.mode = mode;
    CKPT_ASSIGN_OR_RETURN(auto reader, RecordReader::Open(t_.env, path_, o));
    std::vector<std::string> out;
    std::string rec;
    for (;;) {
      CKPT_ASSIGN_OR_RETURN(bool got, reader->ReadRecord(&rec));
      if (!got) break;
      out.push_back(rec);
    }
    return out;
  }

  TestEnv t_;
  std::string path_;
};

TEST_P(RecordTest, RoundTrip) {
  std::vector<std::string> payloads = {"", "a", Payload(100, 1), Payload(70000, 2), "", "zz"};
  CKPT_ASSERT_OK(WriteRecords(payloads));
  size_t expected_size = 0;
  for (const auto& p : payloads) expected_size += p.size() + 16;
  EXPECT_EQ(Contents().size(), expected_size);
  CKPT_ASSERT_OK_AND_ASSIGN(auto got, ReadAll());
  EXPECT_EQ(got, payloads);
}

TEST_P(RecordTest, EmptyFileHasNoRecords) {
  CKPT_ASSERT_OK(WriteRecords({}));
  CKPT_ASSERT_OK_AND_ASSIGN(auto got, ReadAll());
  EXPECT_TRUE(got.empty());
}

TEST_P(RecordTest, MissingFileIsNotFound) {
  EXPECT_THAT(RecordReader::Open(t_.env, path_ + "-nope"),
              StatusIs(StatusCode::kNotFound, ""));
}

TEST_P(RecordTest, OffsetsAdvanceByFramedSize) {
  CKPT_ASSERT_OK(WriteRecords({"abc", "defgh"}));
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, RecordReader::Open(t_.env, path_));
  std::string rec;
  EXPECT_EQ(reader->offset(), 0u);
  ASSERT_TRUE(reader->ReadRecord(&rec).value());
  EXPECT_EQ(reader->offset(), 19u);
  ASSERT_TRUE(reader->ReadRecord(&rec).value());
  EXPECT_EQ(rec, "defgh");
  EXPECT_EQ(reader->offset(), 40u);
  EXPECT_FALSE(reader->ReadRecord(&rec).value());
  // Resume from a saved offset.
  RecordReader::Options o;
  o.start_offset = 19;
  CKPT_ASSERT_OK_AND_ASSIGN(auto again, RecordReader::Open(t_.env, path_, o));
  ASSERT_TRUE(again->ReadRecord(&rec).value());
  EXPECT_EQ(rec, "defgh");
}

// Each corruption of the second record is DataLoss naming the file and the
// record's offset; the first record still reads.
struct Flip {
  const char* what;
  size_t at;  // offset within the second record
  const char* message;
};

TEST_P(RecordTest, CorruptionIsDataLossWithOffset) {
  const std::vector<std::string> payloads = {Payload(10, 1), Payload(30, 2), Payload(5, 3)};
  const size_t second = 10 + 16;
  const Flip flips[] = {
      {"length", 0, "length checksum mismatch"},
      {"length high byte", 7, "length checksum mismatch"},
      {"length crc", 9, "length checksum mismatch"},
      {"payload", 12 + 17, "payload checksum mismatch"},
      {"payload crc", 12 + 30 + 2, "payload checksum mismatch"},
  };
  for (const Flip& f : flips) {
    SCOPED_TRACE(f.what);
    CKPT_ASSERT_OK(WriteRecords(payloads));
    std::string data = Contents();
    data[second + f.at] ^= 0x20;
    Overwrite(data);
    for (auto mode : {RecordReader::Mode::kStrict, RecordReader::Mode::kFollow}) {
      RecordReader::Options o;
      o.mode = mode;
      CKPT_ASSERT_OK_AND_ASSIGN(auto reader, RecordReader::Open(t_.env, path_, o));
      std::string rec;
      auto first = reader->ReadRecord(&rec);
      ASSERT_TRUE(first.ok()) << first.status();
      EXPECT_TRUE(*first);
      EXPECT_EQ(rec, payloads[0]);
      auto bad = reader->ReadRecord(&rec);
      EXPECT_THAT(bad, StatusIs(StatusCode::kDataLoss, f.message));
      EXPECT_THAT(bad, StatusIs(StatusCode::kDataLoss, "offset " + std::to_string(second)));
      EXPECT_THAT(bad, StatusIs(StatusCode::kDataLoss, path_));
      EXPECT_EQ(reader->offset(), second);
    }
  }
}

TEST_P(RecordTest, HugeLengthWithValidChecksumIsTruncation) {
  // A header claiming 2^62 bytes (with a correct length CRC) must not
  // allocate; strict mode reports truncation at offset 0.
  std::string header(12, '\0');
  uint64_t len = uint64_t{1} << 62;
  for (int i = 0; i < 8; ++i) header[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  uint32_t crc = crc32c::Mask(crc32c::Value(header.data(), 8));
  for (int i = 0; i < 4; ++i) header[8 + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
  Overwrite(header + "xyz");
  EXPECT_THAT(ReadAll(), StatusIs(StatusCode::kDataLoss, "truncated record at offset 0"));
  CKPT_ASSERT_OK_AND_ASSIGN(auto follow, ReadAll(RecordReader::Mode::kFollow));
  EXPECT_TRUE(follow.empty());
}

TEST_P(RecordTest, TruncatedTailStrictIsDataLossFollowIsNoMoreYet) {
  const std::vector<std::string> payloads = {Payload(20, 1), Payload(20, 2)};
  CKPT_ASSERT_OK(WriteRecords(payloads));
  const std::string full = Contents();
  const size_t second = 36;
  // Cut inside the header, inside the payload, inside the footer.
  for (size_t cut : {second + 1, second + 11, second + 12, second + 20, full.size() - 1}) {
    SCOPED_TRACE(cut);
    Overwrite(full.substr(0, cut));
    EXPECT_THAT(ReadAll(), StatusIs(StatusCode::kDataLoss,
                                    "truncated record at offset " + std::to_string(second)));
    CKPT_ASSERT_OK_AND_ASSIGN(auto got, ReadAll(RecordReader::Mode::kFollow));
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], payloads[0]);
  }
}

TEST_P(RecordTest, FollowsAGrowingFile) {
  const std::string r1 = EncodeRecord("first");
  const std::string r2 = EncodeRecord(Payload(50, 9));
  const std::string r3 = EncodeRecord("third");
  CKPT_ASSERT_OK_AND_ASSIGN(auto file, t_.env->NewWritableFile(path_));
  CKPT_ASSERT_OK(file->Append(r1));
  CKPT_ASSERT_OK(file->Append(r2.substr(0, 20)));
  CKPT_ASSERT_OK(file->Flush());

  RecordReader::Options o;
  o.mode = RecordReader::Mode::kFollow;
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, RecordReader::Open(t_.env, path_, o));
  std::string rec;
  ASSERT_TRUE(reader->ReadRecord(&rec).value());
  EXPECT_EQ(rec, "first");
  const uint64_t at = reader->offset();
  EXPECT_FALSE(reader->ReadRecord(&rec).value());
  EXPECT_EQ(reader->offset(), at);
  EXPECT_FALSE(reader->ReadRecord(&rec).value());  // still nothing

  CKPT_ASSERT_OK(file->Append(r2.substr(20)));
  CKPT_ASSERT_OK(file->Flush());
  ASSERT_TRUE(reader->ReadRecord(&rec).value());
  EXPECT_EQ(rec, Payload(50, 9));
  EXPECT_FALSE(reader->ReadRecord(&rec).value());

  CKPT_ASSERT_OK(file->Append(r3));
  CKPT_ASSERT_OK(file->Close());
  ASSERT_TRUE(reader->ReadRecord(&rec).value());
  EXPECT_EQ(rec, "third");
  EXPECT_FALSE(reader->ReadRecord(&rec).value());
}

TEST_P(RecordTest, WriterErrorsAreSticky) {
  FaultInjectionEnv faulty(t_.env);
  faulty.FailAfter(2);  // create + one append
  CKPT_ASSERT_OK_AND_ASSIGN(auto file, faulty.NewWritableFile(path_));
  RecordWriter writer(file.get(), path_);
  CKPT_ASSERT_OK(writer.WriteRecord("ok"));
  Status s = writer.WriteRecord("fails");
  EXPECT_THAT(s, StatusIs(StatusCode::kIoError, "offset 18"));
  EXPECT_THAT(s, StatusIs(StatusCode::kIoError, path_));
  faulty.FailAfter(-1);
  EXPECT_EQ(writer.WriteRecord("again"), s);
  EXPECT_EQ(writer.Flush(), s);
  EXPECT_EQ(writer.bytes_written(), 18u);
}

INSTANTIATE_TEST_SUITE_P(Envs, RecordTest, ::testing::Values(EnvKind::kPosix, EnvKind::kMem),
                         [](const auto& info) { return testing::EnvKindName(info.param); });

TEST(EncodeRecordTest, MatchesTensorFlowBytes) {
  // The first record of the lingvo event file (TensorFlow-written).
  std::string payload("\x09\x00\x00\x80\x6f\xf2\xdd\xd6\x41\x1a\x0d" "brain.Event:2", 24);
  EXPECT_EQ(HexString(EncodeRecord(payload)),
            "18 00 00 00 00 00 00 00 a3 7f 4b 22 09 00 00 80 6f f2 dd d6 41 1a 0d 62 72 61 69 "
            "6e 2e 45 76 65 6e 74 3a 32 7f 31 a7 e3");
}

}  // namespace
}  // namespace ckpt

// BundleWriterOptions::direct_io: the data file written through
// Env::NewDirectWritableFile (O_DIRECT on POSIX) holds exactly the bytes of
// the buffered path, for every size (block-aligned or not, beyond the 8 MiB
// staging buffer), alignment and dtype; and a write error on the direct path
// leaves no bundle and no temporary file.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstring>

#include "ckpt/bundle.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::DirectIoWorks;
using ::ckpt::testing::ListDir;
using ::ckpt::testing::MakeTestTensor;
using ::ckpt::testing::StatusIs;

using Tensors = std::vector<std::pair<std::string, Tensor>>;

Status Save(const std::string& prefix, const Tensors& tensors, bool direct, int alignment = 1,
            Env* env = Env::Posix()) {
  BundleWriterOptions o;
  o.env = env;
  o.direct_io = direct;
  o.data_alignment = alignment;
  CKPT_ASSIGN_OR_RETURN(auto w, BundleWriter::Create(prefix, o));
  for (const auto& [k, t] : tensors) CKPT_RETURN_IF_ERROR(w->Add(k, t));
  return w->Finish();
}

std::string ReadAll(const std::string& path) {
  auto r = ReadFileToString(Env::Posix(), path);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : std::string();
}


struct Case {
  std::string name;
  Tensors tensors;
  int alignment = 1;
};

std::vector<Case> Cases() {
  std::vector<Case> cases;
  cases.push_back({"empty", {}, 1});
  cases.push_back({"one_byte", {{"b", MakeTestTensor(DataType::kInt8, TensorShape(), 1)}}, 1});
  // 4093 floats = 16372 B: not a multiple of 4096.
  cases.push_back({"odd_floats", {{"f", MakeTestTensor(DataType::kFloat, TensorShape({4093}), 2)}}, 1});
  // One tensor larger than two staging buffers, ending mid-block.
  cases.push_back(
      {"big", {{"w", MakeTestTensor(DataType::kFloat, TensorShape({(int64_t{17} << 20) / 4 + 3}), 3)}}, 1});
  Tensors mixed;
  int64_t elems = 1;
  for (int i = 0; i < 24; ++i) {
    char key[16];
    std::snprintf(key, sizeof(key), "t%02d", i);
    DataType dt = i % 7 == 3 ? DataType::kString : (i % 2 ? DataType::kDouble : DataType::kFloat);
    mixed.push_back({key, MakeTestTensor(dt, TensorShape({elems}), static_cast<uint32_t>(i))});
    elems = elems * 3 % 400009 + 5;  // up to ~3 MiB, irregular
  }
  cases.push_back({"mixed", mixed, 1});
  cases.push_back({"mixed_aligned_64", mixed, 64});
  cases.push_back({"mixed_aligned_4096", mixed, 4096});
  cases.push_back({"mixed_aligned_12345", mixed, 12345});
  return cases;
}

TEST(DirectIoTest, SameBytesAsBufferedWrites) {
  const std::string dir = testing::TempDir();
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    const std::string buffered = dir + "/" + c.name + "_buffered/ckpt";
    const std::string direct = dir + "/" + c.name + "_direct/ckpt";
    CKPT_ASSERT_OK(Save(buffered, c.tensors, false, c.alignment));
    CKPT_ASSERT_OK(Save(direct, c.tensors, true, c.alignment));
    const std::string data_b = ReadAll(DataFilename(buffered, 0, 1));
    const std::string data_d = ReadAll(DataFilename(direct, 0, 1));
    EXPECT_EQ(data_b.size(), data_d.size());
    EXPECT_TRUE(data_b == data_d) << "data files differ";
    EXPECT_TRUE(ReadAll(MetaFilename(buffered)) == ReadAll(MetaFilename(direct)))
        << "index files differ";
    // Only the published files are left.
    EXPECT_EQ(ListDir(Env::Posix(), dir + "/" + c.name + "_direct"),
              (std::vector<std::string>{"ckpt.data-00000-of-00001", "ckpt.index"}));
    CKPT_ASSERT_OK_AND_ASSIGN(auto reader, BundleReader::Open(direct));
    for (const auto& [k, t] : c.tensors) {
      CKPT_ASSERT_OK_AND_ASSIGN(Tensor got, reader->Read(k));
      EXPECT_TRUE(got.Equals(t)) << k;
    }
  }
}

// direct_io on an Env without direct IO (MemEnv): the buffered file, same
// bytes as the POSIX direct path.
TEST(DirectIoTest, MemEnvWritesTheSameBytes) {
  auto mem = NewMemEnv();
  const std::string dir = testing::TempDir();
  const Case c = Cases()[5];  // mixed_aligned_64
  CKPT_ASSERT_OK(Save("/m/ckpt", c.tensors, true, c.alignment, mem.get()));
  CKPT_ASSERT_OK(Save(dir + "/ckpt", c.tensors, true, c.alignment));
  EXPECT_TRUE(ReadFileToString(mem.get(), DataFilename("/m/ckpt", 0, 1)).value() ==
              ReadAll(DataFilename(dir + "/ckpt", 0, 1)));
  EXPECT_TRUE(ReadFileToString(mem.get(), MetaFilename("/m/ckpt")).value() ==
              ReadAll(MetaFilename(dir + "/ckpt")));
}

// A WritableFile that passes through to `base` until `budget` bytes were
// appended, then fails; optionally fails Sync.
class FailingFile : public WritableFile {
 public:
  FailingFile(std::unique_ptr<WritableFile> base, int64_t budget, bool fail_sync)
      : base_(std::move(base)), budget_(budget), fail_sync_(fail_sync) {}
  Status Append(std::string_view data) override {
    budget_ -= static_cast<int64_t>(data.size());
    if (budget_ < 0) return IoError("injected append failure");
    return base_->Append(data);
  }
  Status Flush() override { return base_->Flush(); }
  Status Sync() override {
    if (fail_sync_) return IoError("injected sync failure");
    return base_->Sync();
  }
  Status Close() override { return base_->Close(); }
  uint64_t Tell() const override { return base_->Tell(); }

 private:
  std::unique_ptr<WritableFile> base_;
  int64_t budget_;
  bool fail_sync_;
};

// Wraps the target's direct files (the real O_DIRECT file underneath).
class FailingDirectEnv : public ForwardingEnv {
 public:
  FailingDirectEnv(Env* target, int64_t budget, bool fail_sync)
      : ForwardingEnv(target), budget_(budget), fail_sync_(fail_sync) {}
  int direct_opened = 0;
  Result<std::unique_ptr<WritableFile>> NewDirectWritableFile(const std::string& path) override {
    ++direct_opened;
    CKPT_ASSIGN_OR_RETURN(auto f, ForwardDirectWritableFile(path));
    return std::unique_ptr<WritableFile>(new FailingFile(std::move(f), budget_, fail_sync_));
  }

 private:
  int64_t budget_;
  bool fail_sync_;
};

TEST(DirectIoTest, InjectedErrorsPublishNothing) {
  const Case c = Cases()[4];  // mixed
  for (bool fail_sync : {false, true}) {
    SCOPED_TRACE(fail_sync ? "sync fails" : "append fails");
    const std::string dir = testing::TempDir();
    FailingDirectEnv env(Env::Posix(), fail_sync ? INT64_MAX : int64_t{9} << 20, fail_sync);
    Status s = Save(dir + "/ckpt", c.tensors, true, 1, &env);
    EXPECT_EQ(env.direct_opened, 1);
    EXPECT_THAT(s, StatusIs(StatusCode::kIoError, fail_sync ? "injected sync" : "injected append"));
    EXPECT_TRUE(ListDir(Env::Posix(), dir).empty()) << ListDir(Env::Posix(), dir).size();
  }
}

// A real error of the O_DIRECT writes (EFBIG past RLIMIT_FSIZE, raised on the
// file's background thread): the save fails naming the data file, and
// nothing is left behind.
TEST(DirectIoTest, RealWriteErrorPublishesNothing) {
  const std::string dir = testing::TempDir();
  if (!DirectIoWorks(dir)) GTEST_SKIP() << "no O_DIRECT on the file system of " << dir;
  const Case c = Cases()[3];  // big: 17 MiB
  struct rlimit old_limit;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  struct sigaction ignore {}, old_action {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGXFSZ, &ignore, &old_action), 0);
  struct rlimit limit = old_limit;
  limit.rlim_cur = rlim_t{12} << 20;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
  Status s = Save(dir + "/ckpt", c.tensors, true);
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  ::sigaction(SIGXFSZ, &old_action, nullptr);
  EXPECT_THAT(s, StatusIs(StatusCode::kIoError, "ckpt.data-00000-of-00001.tempstate"));
  EXPECT_NE(s.message().find(std::strerror(EFBIG)), std::string::npos) << s;
  EXPECT_TRUE(ListDir(Env::Posix(), dir).empty());
}

}  // namespace
}  // namespace ckpt

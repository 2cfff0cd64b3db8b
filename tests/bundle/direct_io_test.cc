// BundleWriterOptions::direct_io: the data file written through
// Env::NewDirectWritableFile (O_DIRECT on POSIX) holds exactly the bytes of
// the buffered path, for every size (block-aligned or not, beyond the 8 MiB
// staging buffer), alignment and dtype; and a write error on the direct path
// leaves no bundle and no temporary file.
#include <fcntl.h>
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

// The one-shard bundles at `buffered` and `direct` have byte-identical data
// and index files.
void ExpectSameFiles(const std::string& buffered, const std::string& direct) {
  const std::string data_b = ReadAll(DataFilename(buffered, 0, 1));
  const std::string data_d = ReadAll(DataFilename(direct, 0, 1));
  EXPECT_EQ(data_b.size(), data_d.size());
  EXPECT_TRUE(data_b == data_d) << "data files differ";
  EXPECT_TRUE(ReadAll(MetaFilename(buffered)) == ReadAll(MetaFilename(direct)))
      << "index files differ";
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
    ExpectSameFiles(buffered, direct);
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

// --- Tensors written straight from their memory -----------------------------

constexpr int64_t kMiB = int64_t{1} << 20;

bool Aligned(const Tensor& t) { return reinterpret_cast<uintptr_t>(t.data()) % 4096 == 0; }

// A WritableFile that forwards everything (AppendsWithoutCopy too) and
// records the size of every Append that was made without a copy.
class RecordingFile : public WritableFile {
 public:
  RecordingFile(std::unique_ptr<WritableFile> base, std::vector<size_t>* in_place)
      : base_(std::move(base)), in_place_(in_place) {}
  Status Append(std::string_view data) override {
    if (base_->AppendsWithoutCopy(data)) in_place_->push_back(data.size());
    return base_->Append(data);
  }
  Status Flush() override { return base_->Flush(); }
  Status Sync() override { return base_->Sync(); }
  Status Close() override { return base_->Close(); }
  uint64_t Tell() const override { return base_->Tell(); }
  bool AppendsWithoutCopy(std::string_view data) const override {
    return base_->AppendsWithoutCopy(data);
  }

 private:
  std::unique_ptr<WritableFile> base_;
  std::vector<size_t>* in_place_;
};

class RecordingDirectEnv : public ForwardingEnv {
 public:
  using ForwardingEnv::ForwardingEnv;
  std::vector<size_t> in_place;  // sizes of the appends made without a copy
  Result<std::unique_ptr<WritableFile>> NewDirectWritableFile(const std::string& path) override {
    CKPT_ASSIGN_OR_RETURN(auto f, ForwardDirectWritableFile(path));
    return std::unique_ptr<WritableFile>(new RecordingFile(std::move(f), &in_place));
  }
};

// Tensors of >= 1 MiB from Tensor::Allocate are block-aligned; each large one
// at a block-aligned file offset is appended whole, without a copy, and the
// files are still byte-identical to the buffered path's. Views at unaligned
// addresses take the copying path in between. With and without checksum
// helpers.
TEST(DirectIoTest, AlignedTensorsAreWrittenInPlaceWithTheSameBytes) {
  const std::string dir = testing::TempDir();
  if (!DirectIoWorks(dir)) GTEST_SKIP() << "no O_DIRECT on the file system of " << dir;
  const Tensor block_multiple = MakeTestTensor(DataType::kFloat, TensorShape({24 * kMiB / 4}), 11);
  const Tensor odd = MakeTestTensor(DataType::kDouble, TensorShape({9 * kMiB / 8 + 3}), 12);
  const Tensor nine = MakeTestTensor(DataType::kFloat, TensorShape({9 * kMiB / 4 + 1}), 13);
  const Tensor small = MakeTestTensor(DataType::kInt32, TensorShape({1000}), 14);
  // An unaligned view: the same 10 MiB of bytes starting 4 bytes into a tensor.
  const Tensor backing = MakeTestTensor(DataType::kFloat, TensorShape({10 * kMiB / 4 + 1}), 15);
  const Tensor unaligned =
      Tensor::View(DataType::kFloat, TensorShape({10 * kMiB / 4}), backing.data() + 4);
  for (const Tensor* t : {&block_multiple, &odd, &nine}) ASSERT_TRUE(Aligned(*t));
  ASSERT_FALSE(Aligned(unaligned));

  struct InPlaceCase {
    std::string name;
    Tensors tensors;
    int alignment;
    std::vector<size_t> in_place;  // expected whole-tensor appends without a copy
  };
  const size_t kBlockMultiple = block_multiple.byte_size(), kOdd = odd.byte_size(),
               kNine = nine.byte_size();
  const std::vector<InPlaceCase> cases = {
      {"one_block_multiple", {{"a", block_multiple}}, 1, {kBlockMultiple}},
      {"one_odd_size", {{"a", odd}}, 1, {kOdd}},
      // Dense: only the first tensor starts at an aligned offset.
      {"dense", {{"a", odd}, {"b", nine}, {"c", block_multiple}}, 1, {kOdd}},
      {"aligned_4096",
       {{"a", odd}, {"b", small}, {"c", nine}, {"d", unaligned}, {"e", block_multiple}, {"f", nine}},
       4096,
       {kOdd, kNine, kBlockMultiple, kNine}},
      {"unaligned_memory", {{"a", unaligned}, {"b", small}}, 4096, {}},
  };
  for (const InPlaceCase& c : cases) {
    for (int threads : {1, 0}) {
      SCOPED_TRACE(c.name + ", checksum_threads " + std::to_string(threads));
      const std::string sub = dir + "/" + c.name + std::to_string(threads);
      const std::string buffered = sub + "_buffered/ckpt", direct = sub + "_direct/ckpt";
      RecordingDirectEnv env(Env::Posix());
      for (bool is_direct : {false, true}) {
        BundleWriterOptions o;
        o.env = &env;
        o.direct_io = is_direct;
        o.data_alignment = c.alignment;
        o.checksum_threads = threads;
        CKPT_ASSERT_OK_AND_ASSIGN(auto w, BundleWriter::Create(is_direct ? direct : buffered, o));
        for (const auto& [k, t] : c.tensors) CKPT_ASSERT_OK(w->Add(k, t));
        CKPT_ASSERT_OK(w->Finish());
      }
      EXPECT_EQ(env.in_place, c.in_place);
      ExpectSameFiles(buffered, direct);
      CKPT_ASSERT_OK_AND_ASSIGN(auto reader, BundleReader::Open(direct));
      for (const auto& [k, t] : c.tensors) {
        CKPT_ASSERT_OK_AND_ASSIGN(Tensor got, reader->Read(k));
        EXPECT_TRUE(got.Equals(t)) << k;
      }
      reader.reset();
      for (const std::string& p : {buffered, direct}) {
        env.DeleteFile(DataFilename(p, 0, 1)).IgnoreError();
        env.DeleteFile(MetaFilename(p)).IgnoreError();
      }
    }
  }
}

// Add returns only once a tensor written in place is on its way to the
// device or copied: overwriting its memory right after Add (before Finish)
// does not change what was saved.
TEST(DirectIoTest, TensorMemoryMayChangeRightAfterAdd) {
  const std::string dir = testing::TempDir();
  if (!DirectIoWorks(dir)) GTEST_SKIP() << "no O_DIRECT on the file system of " << dir;
  const Tensor original = MakeTestTensor(DataType::kFloat, TensorShape({20 * kMiB / 4 + 5}), 21);
  const Tensor second = MakeTestTensor(DataType::kFloat, TensorShape({9 * kMiB / 4}), 22);
  Tensor scratch = Tensor::Allocate(DataType::kFloat, original.shape()).value();
  Tensor scratch2 = Tensor::Allocate(DataType::kFloat, second.shape()).value();
  ASSERT_TRUE(Aligned(scratch) && Aligned(scratch2));
  std::memcpy(scratch.mutable_data(), original.data(), original.byte_size());
  std::memcpy(scratch2.mutable_data(), second.data(), second.byte_size());
  RecordingDirectEnv env(Env::Posix());
  BundleWriterOptions o;
  o.env = &env;
  o.data_alignment = 4096;
  CKPT_ASSERT_OK_AND_ASSIGN(auto w, BundleWriter::Create(dir + "/ckpt", o));
  CKPT_ASSERT_OK(w->Add("a", scratch));
  std::memset(scratch.mutable_data(), 0x5A, scratch.byte_size());
  CKPT_ASSERT_OK(w->Add("b", scratch2));
  std::memset(scratch2.mutable_data(), 0xA5, scratch2.byte_size());
  CKPT_ASSERT_OK(w->Finish());
  EXPECT_EQ(env.in_place, (std::vector<size_t>{original.byte_size(), second.byte_size()}));
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, BundleReader::Open(dir + "/ckpt"));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor a, reader->Read("a"));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor b, reader->Read("b"));
  EXPECT_TRUE(a.Equals(original));
  EXPECT_TRUE(b.Equals(second));
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
  // Allocated block-aligned at file offset 0: written in place, so the error
  // comes from the calling thread's own pwrite.
  ASSERT_TRUE(Aligned(c.tensors[0].second));
  Status s;
  {
    testing::ScopedFileSizeLimit limit(uint64_t{12} << 20);
    ASSERT_TRUE(limit.ok());
    s = Save(dir + "/ckpt", c.tensors, true);
  }
  EXPECT_THAT(s, StatusIs(StatusCode::kIoError, "ckpt.data-00000-of-00001.ckpt-tmp."));
  EXPECT_NE(s.message().find(std::strerror(EFBIG)), std::string::npos) << s;
  EXPECT_TRUE(ListDir(Env::Posix(), dir).empty());
}

}  // namespace
}  // namespace ckpt

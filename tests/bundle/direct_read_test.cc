// Direct (O_DIRECT) reads of cold bundles: BundleReaderOptions::direct_reads.
// Whatever path the planner takes, the bytes, checks and errors must be those
// of a read through the page cache; direct reads are used only for large
// reads of mostly uncached bytes, always aligned, never larger than a chunk.
#include <fcntl.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <random>

#include "ckpt/bundle.h"
#include "ckpt/filenames.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::EnvKind;
using ::ckpt::testing::EnvParamTest;
using ::ckpt::testing::MakeTestTensor;
using ::ckpt::testing::StatusIs;
using ::testing::HasSubstr;

constexpr size_t kAlign = 4096;
constexpr uint64_t kChunk = uint64_t{8} << 20;  // ReadPlanner::kDirectChunk

// Files whose direct reads are served by their ordinary reads, so the
// planner's direct path runs on any Env; every ReadDirect call is recorded
// and checked against the contract (alignment of offset, size, address).
class DirectEnv : public ForwardingEnv {
 public:
  using ForwardingEnv::ForwardingEnv;

  enum class Mode { kServe, kRefuse, kFail, kShort };
  struct Call {
    uint64_t offset;
    size_t n;
    bool aligned;
  };

  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override {
    CKPT_ASSIGN_OR_RETURN(auto f, ForwardingEnv::NewRandomAccessFile(path));
    return std::unique_ptr<RandomAccessFile>(new File(std::move(f), this));
  }

  Mode mode = Mode::kServe;
  double cached_fraction = 0;  // what CachedBytes reports
  uint64_t fail_at = 0;        // kFail / kShort: calls covering this offset
  std::mutex mu;
  std::vector<Call> calls;

 private:
  class File : public RandomAccessFile {
   public:
    File(std::unique_ptr<RandomAccessFile> f, DirectEnv* env) : f_(std::move(f)), env_(env) {}
    Result<std::string_view> Read(uint64_t o, size_t n, char* scratch) const override {
      return f_->Read(o, n, scratch);
    }
    uint64_t Size() const override { return f_->Size(); }
    int64_t CachedBytes(uint64_t, uint64_t n) const override {
      return static_cast<int64_t>(static_cast<double>(n) * env_->cached_fraction);
    }
    size_t DirectReadAlignment() const override { return kAlign; }
    Result<size_t> ReadDirect(uint64_t o, size_t n, char* dst) const override {
      const bool aligned = o % kAlign == 0 && n % kAlign == 0 &&
                           reinterpret_cast<uintptr_t>(dst) % kAlign == 0;
      {
        std::lock_guard<std::mutex> lock(env_->mu);
        env_->calls.push_back({o, n, aligned});
      }
      const bool hit = env_->fail_at >= o && env_->fail_at < o + n;
      if (env_->mode == Mode::kRefuse) return InvalidArgumentError("no O_DIRECT here");
      if (env_->mode == Mode::kFail && hit) return InternalError("disk on fire");
      CKPT_ASSIGN_OR_RETURN(std::string_view got, f_->Read(o, n, dst));
      if (got.data() != dst) std::memcpy(dst, got.data(), got.size());
      if (env_->mode == Mode::kShort && hit) return static_cast<size_t>(env_->fail_at - o);
      return got.size();
    }

   private:
    std::unique_ptr<RandomAccessFile> f_;
    DirectEnv* env_;
  };
};

class DirectReadTest : public EnvParamTest {
 protected:
  void SetUp() override {
    EnvParamTest::SetUp();
    // ~18 MiB: sizes around the chunk boundaries, odd small ones between
    // them (so offsets are not aligned), an empty tensor and a string one.
    uint32_t seed = 3;
    std::mt19937 rng(11);
    const std::vector<int64_t> big = {(int64_t{9} << 20) + 12, (int64_t{3} << 20) - 4,
                                      int64_t{5} << 20, (int64_t{1} << 20) + 4096};
    int i = 0;
    for (int64_t bytes : big) {
      for (int k = 0; k < 3; ++k) Add(4 * static_cast<int64_t>(1 + rng() % 5000), seed++, &i);
      Add(bytes, seed++, &i);
    }
    Add(0, seed++, &i);
    tensors_.emplace_back("s", MakeTestTensor(DataType::kString, TensorShape({50}), seed++));
    prefix_ = Path("m");
    BundleWriterOptions o;
    o.env = env_;
    auto w = BundleWriter::Create(prefix_, o).value();
    for (const auto& [k, t] : tensors_) ASSERT_TRUE(w->Add(k, t).ok());
    ASSERT_TRUE(w->Finish().ok());
  }

  void Add(int64_t bytes, uint32_t seed, int* i) {
    char name[16];
    std::snprintf(name, sizeof(name), "f%03d", (*i)++);
    tensors_.emplace_back(name, MakeTestTensor(DataType::kFloat, TensorShape({bytes / 4}), seed));
  }

  BundleReaderOptions Options(Env* env, int threads = 1, bool verify = true) {
    BundleReaderOptions o;
    o.env = env;
    o.checksum_threads = threads;
    o.verify_checksums = verify;
    return o;
  }

  // ReadManyInto of every tensor; the destinations, or the error.
  Result<std::vector<Tensor>> ReadAll(const BundleReaderOptions& o) {
    CKPT_ASSIGN_OR_RETURN(auto r, BundleReader::Open(prefix_, o));
    std::vector<Tensor> out;
    for (const auto& [k, t] : tensors_) out.push_back(Tensor::Allocate(t.dtype(), t.shape()).value());
    std::vector<ReadTarget> targets;
    for (size_t i = 0; i < tensors_.size(); ++i) targets.push_back({tensors_[i].first, &out[i]});
    CKPT_RETURN_IF_ERROR(r->ReadManyInto(targets));
    return out;
  }

  // The data file's offset of the middle of the largest tensor.
  uint64_t MiddleOfLargest() {
    auto r = BundleReader::Open(prefix_, Options(env_)).value();
    const BundleEntry* e = r->Lookup("f003").value();
    return static_cast<uint64_t>(e->offset + e->size / 2);
  }

  void CorruptByteAt(uint64_t offset) {
    const std::string data = DataFilename(prefix_, 0, 1);
    auto f = env_->NewRandomAccessFile(data).value();
    std::string scratch(f->Size(), '\0');
    std::string bytes(f->Read(0, scratch.size(), scratch.data()).value());
    ASSERT_EQ(bytes.size(), scratch.size());
    bytes[offset] = static_cast<char>(bytes[offset] ^ 0x5a);
    ASSERT_TRUE(testing::WriteStringToFile(env_, data, bytes).ok());
  }

  std::vector<std::pair<std::string, Tensor>> tensors_;
  std::string prefix_;
};

TEST_P(DirectReadTest, SameBytesAsBufferedReadsAlignedChunkedCalls) {
  for (int threads : {0, 1, 2}) {
    for (bool verify : {true, false}) {
      DirectEnv d(env_);
      CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> got, ReadAll(Options(&d, threads, verify)));
      for (size_t i = 0; i < tensors_.size(); ++i) {
        EXPECT_TRUE(got[i].Equals(tensors_[i].second)) << tensors_[i].first;
      }
      ASSERT_FALSE(d.calls.empty()) << "threads " << threads;
      uint64_t covered = 0;
      for (const DirectEnv::Call& c : d.calls) {
        EXPECT_TRUE(c.aligned) << c.offset << "+" << c.n;
        EXPECT_LE(c.n, kChunk);
        covered += c.n;
      }
      // Every fixed-size byte came from a direct read (~18 MiB: 3 chunks+).
      uint64_t fixed = 0;
      for (const auto& [k, t] : tensors_) fixed += t.dtype() == DataType::kString ? 0 : t.byte_size();
      EXPECT_GE(covered, fixed);
      EXPECT_LT(covered, fixed + d.calls.size() * 2 * kAlign);
      EXPECT_GE(d.calls.size(), 3u);
    }
  }
}

TEST_P(DirectReadTest, OneLargeTensorIsReadDirectlyToo) {
  DirectEnv d(env_);
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(prefix_, Options(&d)));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor t, r->Read("f003"));
  EXPECT_TRUE(t.Equals(tensors_[3].second));
  EXPECT_GE(d.calls.size(), 2u);  // 9 MiB: two chunks
  // Small tensors, and reads of mostly cached bytes, go through the cache.
  d.calls.clear();
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor small, r->Read("f000"));
  EXPECT_TRUE(small.Equals(tensors_[0].second));
  EXPECT_TRUE(d.calls.empty());
  d.cached_fraction = 0.5;
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor again, r->Read("f003"));
  EXPECT_TRUE(again.Equals(tensors_[3].second));
  EXPECT_TRUE(d.calls.empty());
}

TEST_P(DirectReadTest, NotUsedWhenCachedOrSwitchedOff) {
  {
    DirectEnv d(env_);
    d.cached_fraction = 0.3;  // over a quarter cached: the cache is the faster source
    CKPT_ASSERT_OK(ReadAll(Options(&d)).status());
    EXPECT_TRUE(d.calls.empty());
  }
  {
    DirectEnv d(env_);
    BundleReaderOptions o = Options(&d);
    o.direct_reads = false;
    CKPT_ASSERT_OK(ReadAll(o).status());
    EXPECT_TRUE(d.calls.empty());
  }
}

TEST_P(DirectReadTest, RefusedDirectReadsFallBackToReads) {
  DirectEnv d(env_);
  d.mode = DirectEnv::Mode::kRefuse;
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> got, ReadAll(Options(&d)));
  for (size_t i = 0; i < tensors_.size(); ++i) {
    EXPECT_TRUE(got[i].Equals(tensors_[i].second)) << tensors_[i].first;
  }
  EXPECT_FALSE(d.calls.empty());
}

TEST_P(DirectReadTest, ChecksumMismatchIsTheBufferedPathsError) {
  const uint64_t at = MiddleOfLargest();
  CorruptByteAt(at);
  BundleReaderOptions buffered = Options(env_);
  buffered.direct_reads = false;
  const Status want = ReadAll(buffered).status();
  ASSERT_THAT(want, StatusIs(StatusCode::kDataLoss, "f003"));
  for (int threads : {0, 1}) {
    DirectEnv d(env_);
    const Status got = ReadAll(Options(&d, threads)).status();
    EXPECT_EQ(got.ToString(), want.ToString());
    EXPECT_FALSE(d.calls.empty());
    // One tensor alone: the same error as well.
    auto r = BundleReader::Open(prefix_, Options(&d, threads)).value();
    auto one = r->Read("f003");
    EXPECT_THAT(one.status(), StatusIs(StatusCode::kDataLoss, "f003"));
  }
}

TEST_P(DirectReadTest, ReadErrorsAndShortReadsNameTheFirstTensorHit) {
  const uint64_t at = MiddleOfLargest();
  {
    DirectEnv d(env_);
    d.mode = DirectEnv::Mode::kFail;
    d.fail_at = at;
    EXPECT_THAT(ReadAll(Options(&d)).status(), StatusIs(StatusCode::kInternal, "disk on fire"));
  }
  {
    // The file ends early (it shrank after it was opened).
    DirectEnv d(env_);
    d.mode = DirectEnv::Mode::kShort;
    d.fail_at = at;
    const Status s = ReadAll(Options(&d)).status();
    EXPECT_THAT(s, StatusIs(StatusCode::kDataLoss, "Short read of tensor \"f003\""));
    auto r = BundleReader::Open(prefix_, Options(&d)).value();
    EXPECT_THAT(r->Read("f003").status(), StatusIs(StatusCode::kDataLoss, "Short read"));
  }
}

// VerifyEntries checksums without destinations, on each of the planner's
// paths (through the cache, direct, direct refused), whatever the reader's
// verify_checksums says, and reports a corrupt tensor as a read of it does.
TEST_P(DirectReadTest, VerifyEntriesChecksOnEveryPath) {
  struct Path {
    const char* name;
    bool direct;
    DirectEnv::Mode mode;
  };
  const std::vector<Path> paths = {{"buffered", false, DirectEnv::Mode::kServe},
                                   {"direct", true, DirectEnv::Mode::kServe},
                                   {"refused", true, DirectEnv::Mode::kRefuse}};
  // VerifyEntries on each path and thread count, verify_checksums off: the
  // status and whether a direct read was asked for, per case.
  auto verify_all = [&](std::vector<std::pair<Status, bool>>* out) {
    for (const Path& p : paths) {
      for (int threads : {0, 2}) {
        DirectEnv d(env_);
        d.mode = p.mode;
        BundleReaderOptions o = Options(&d, threads, /*verify=*/false);
        o.direct_reads = p.direct;
        auto r = BundleReader::Open(prefix_, o);
        ASSERT_TRUE(r.ok()) << r.status();
        out->push_back({(*r)->VerifyEntries(), !d.calls.empty()});
      }
    }
  };
  std::vector<std::pair<Status, bool>> intact;
  verify_all(&intact);
  ASSERT_EQ(intact.size(), 2 * paths.size());
  for (size_t i = 0; i < intact.size(); ++i) {
    const Path& p = paths[i / 2];
    EXPECT_TRUE(intact[i].first.ok()) << p.name << ": " << intact[i].first;
    EXPECT_EQ(intact[i].second, p.direct) << p.name;
  }
  const uint64_t at = MiddleOfLargest();
  CorruptByteAt(at);
  BundleReaderOptions buffered = Options(env_);
  buffered.direct_reads = false;
  const Status want = BundleReader::Open(prefix_, buffered).value()->Read("f003").status();
  ASSERT_THAT(want, StatusIs(StatusCode::kDataLoss, "f003"));
  std::vector<std::pair<Status, bool>> corrupt;
  verify_all(&corrupt);
  for (size_t i = 0; i < corrupt.size(); ++i) {
    EXPECT_EQ(corrupt[i].first.ToString(), want.ToString()) << paths[i / 2].name << " " << i % 2;
  }
  // A read error on the direct path is returned as it is.
  DirectEnv d(env_);
  d.mode = DirectEnv::Mode::kShort;
  d.fail_at = at;
  auto r = BundleReader::Open(prefix_, Options(&d)).value();
  EXPECT_THAT(r->VerifyEntries(), StatusIs(StatusCode::kDataLoss, "Short read of tensor \"f003\""));
}

// A corrupt string tensor (decoded as Read decodes it) and a corrupt small
// tensor are found too.
TEST_P(DirectReadTest, VerifyEntriesFindsCorruptStringsAndSmallTensors) {
  auto r = BundleReader::Open(prefix_, Options(env_)).value();
  const BundleEntry* s = r->Lookup("s").value();
  const BundleEntry* small = r->Lookup("f000").value();
  const uint64_t string_at = static_cast<uint64_t>(s->offset + s->size - 1);
  const uint64_t small_at = static_cast<uint64_t>(small->offset + 1);
  r.reset();
  CorruptByteAt(string_at);
  EXPECT_THAT(BundleReader::Open(prefix_, Options(env_)).value()->VerifyEntries(),
              StatusIs(StatusCode::kDataLoss, "\"s\""));
  CorruptByteAt(string_at);  // back as it was
  CKPT_EXPECT_OK(BundleReader::Open(prefix_, Options(env_)).value()->VerifyEntries());
  CorruptByteAt(small_at);
  EXPECT_THAT(BundleReader::Open(prefix_, Options(env_, 0, false)).value()->VerifyEntries(),
              StatusIs(StatusCode::kDataLoss, "f000"));
}

INSTANTIATE_TEST_SUITE_P(Envs, DirectReadTest,
                         ::testing::Values(EnvKind::kPosix, EnvKind::kMem),
                         [](const auto& info) { return testing::EnvKindName(info.param); });

// The POSIX file's own page-cache probe and direct reads, on a real file.
TEST(PosixDirectReadTest, CachedBytesAndDirectReadsOfARealFile) {
  testing::TestEnv te = testing::MakeTestEnv(EnvKind::kPosix);
  const std::string path = te.root + "/cold.bin";
  std::string bytes(size_t{3} << 20, '\0');
  std::mt19937 rng(5);
  for (char& c : bytes) c = static_cast<char>(rng());
  bytes.resize(bytes.size() - 1000);  // ends mid-block
  ASSERT_TRUE(testing::WriteStringToFile(te.env, path, bytes).ok());
  auto file = te.env->NewRandomAccessFile(path).value();
  std::string scratch(bytes.size(), '\0');
  ASSERT_EQ(file->Read(0, bytes.size(), scratch.data()).value().size(), bytes.size());
  const int64_t warm = file->CachedBytes(0, bytes.size());
  ASSERT_GE(warm, 0) << "no page-cache probe on this kernel";
  EXPECT_EQ(warm, static_cast<int64_t>(bytes.size()));
  EXPECT_EQ(file->CachedBytes(bytes.size() + 10, 100), 0);  // past the end

  struct statfs fs;
  ASSERT_EQ(::statfs(te.root.c_str(), &fs), 0);
  if (file->DirectReadAlignment() == 0) {
    GTEST_SKIP() << "no O_DIRECT on this file system (type " << std::hex << fs.f_type << ")";
  }
  // Dropped from the cache, the probe sees (almost) nothing.
  const int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
  EXPECT_LT(file->CachedBytes(0, bytes.size()), static_cast<int64_t>(bytes.size() / 4));

  const size_t a = file->DirectReadAlignment();
  Tensor buf = Tensor::Allocate(DataType::kUInt8, TensorShape({int64_t{4} << 20})).value();
  ASSERT_EQ(reinterpret_cast<uintptr_t>(buf.data()) % a, 0u);
  // A middle range, and the end of the file (a short read: the last partial block).
  CKPT_ASSERT_OK_AND_ASSIGN(size_t n, file->ReadDirect(a, 16 * a, buf.mutable_data()));
  ASSERT_EQ(n, 16 * a);
  EXPECT_EQ(std::memcmp(buf.data(), bytes.data() + a, n), 0);
  const uint64_t tail = bytes.size() / a * a - a;
  CKPT_ASSERT_OK_AND_ASSIGN(size_t m, file->ReadDirect(tail, 4 * a, buf.mutable_data()));
  ASSERT_EQ(m, bytes.size() - tail);
  EXPECT_EQ(std::memcmp(buf.data(), bytes.data() + tail, m), 0);
  // The file that was opened, even when its name is taken by another one
  // before the first direct read.
  auto opened = te.env->NewRandomAccessFile(path).value();
  ASSERT_TRUE(testing::WriteStringToFile(te.env, path + ".new", std::string(bytes.size(), 'x')).ok());
  ASSERT_TRUE(te.env->RenameFile(path + ".new", path).ok());
  ASSERT_EQ(opened->DirectReadAlignment(), a);
  CKPT_ASSERT_OK_AND_ASSIGN(size_t k, opened->ReadDirect(0, a, buf.mutable_data()));
  ASSERT_EQ(k, a);
  EXPECT_EQ(std::memcmp(buf.data(), bytes.data(), a), 0);
}

}  // namespace
}  // namespace ckpt

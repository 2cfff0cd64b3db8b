// Large tensors are checksummed by helper threads while they are read or
// written (checksum_threads, checksum_chunk_bytes, writeback hints). The
// files written, the tensors read and every error must be exactly those of
// the single-threaded path; these tests use a small chunk so that small
// tensors take the pieced paths.
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "ckpt/bundle.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::EnvKind;
using ::ckpt::testing::EnvKindName;
using ::ckpt::testing::MakeTestEnv;
using ::ckpt::testing::MakeTestTensor;
using ::ckpt::testing::StatusIs;
using ::ckpt::testing::TestEnv;
using ::ckpt::testing::WriteStringToFile;

constexpr int64_t kChunk = 4096;

// Byte sizes around the piece boundaries (all multiples of 4 for float32).
const std::vector<int64_t>& FloatSizes() {
  static const std::vector<int64_t> sizes = {4,           kChunk - 4,     kChunk,
                                             kChunk + 4,  2 * kChunk - 4, 2 * kChunk,
                                             2 * kChunk + 4, 7 * kChunk + 12};
  return sizes;
}

std::string Key(int64_t bytes) { return "f" + std::to_string(bytes); }

std::vector<std::pair<std::string, Tensor>> Tensors() {
  std::vector<std::pair<std::string, Tensor>> out;
  uint32_t seed = 1;
  for (int64_t bytes : FloatSizes()) {
    out.emplace_back(Key(bytes), MakeTestTensor(DataType::kFloat, TensorShape({bytes / 4}), seed++));
  }
  out.emplace_back("s", MakeTestTensor(DataType::kString, TensorShape({300}), seed++));
  out.emplace_back("d", MakeTestTensor(DataType::kDouble, TensorShape({3, kChunk / 8 + 1}), seed++));
  out.emplace_back("u", MakeTestTensor(DataType::kUInt8, TensorShape({3 * kChunk + 1}), seed++));
  return out;
}

struct WriterConfig {
  const char* name;
  int threads;
  int64_t chunk;
  int64_t min_bytes;
  int64_t writeback;
};

const WriterConfig kWriterConfigs[] = {
    {"helper_every_tensor", 1, kChunk, 1, 0},
    {"two_helpers_large_only", 2, kChunk, kChunk, 0},
    {"no_helper_pieced", 0, kChunk, 1, 0},
    {"odd_chunk_with_writeback", 1, 1000, 1, 5000},
    {"writeback_every_byte", 1, kChunk, 2 * kChunk, 1},
};

struct ReaderConfig {
  const char* name;
  int threads;
  int64_t chunk;
};

const ReaderConfig kReaderConfigs[] = {
    {"one_helper", 1, kChunk},
    {"two_helpers", 2, kChunk},
    {"odd_chunk", 1, 1000},
    {"tiny_chunk", 1, 1},
};

class ParallelChecksumTest : public ::testing::TestWithParam<EnvKind> {
 protected:
  void SetUp() override { te_ = MakeTestEnv(GetParam()); }
  Env* env() { return te_.env; }
  std::string Path(const std::string& name) { return te_.root + "/" + name; }

  Status Save(const std::string& prefix, BundleWriterOptions o, int alignment = 1) {
    o.env = env();
    o.data_alignment = alignment;
    CKPT_ASSIGN_OR_RETURN(auto w, BundleWriter::Create(prefix, o));
    for (const auto& [k, t] : tensors_) CKPT_RETURN_IF_ERROR(w->Add(k, t));
    return w->Finish();
  }

  std::string FileBytes(const std::string& path) {
    auto s = ReadFileToString(env(), path);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : std::string();
  }

  BundleReaderOptions ReaderOptions(const ReaderConfig& c, bool mmap = false) {
    BundleReaderOptions o;
    o.env = env();
    o.checksum_threads = c.threads;
    o.checksum_chunk_bytes = c.chunk;
    o.use_mmap = mmap;
    return o;
  }

  BundleReaderOptions SingleThreaded(bool mmap = false) {
    BundleReaderOptions o;
    o.env = env();
    o.checksum_threads = 0;
    o.use_mmap = mmap;
    return o;
  }

  TestEnv te_;
  std::vector<std::pair<std::string, Tensor>> tensors_ = Tensors();
};

TEST_P(ParallelChecksumTest, WrittenBytesDoNotDependOnHelpers) {
  for (int alignment : {1, 64}) {
    BundleWriterOptions base;
    base.checksum_threads = 0;
    base.writeback_interval_bytes = 0;
    const std::string ref = Path("ref" + std::to_string(alignment));
    CKPT_ASSERT_OK(Save(ref, base, alignment));
    const std::string ref_data = FileBytes(DataFilename(ref, 0, 1));
    const std::string ref_index = FileBytes(MetaFilename(ref));
    ASSERT_FALSE(ref_data.empty());
    for (const WriterConfig& c : kWriterConfigs) {
      BundleWriterOptions o;
      o.checksum_threads = c.threads;
      o.checksum_chunk_bytes = c.chunk;
      o.parallel_checksum_min_bytes = c.min_bytes;
      o.writeback_interval_bytes = c.writeback;
      const std::string p = Path(std::string(c.name) + std::to_string(alignment));
      CKPT_ASSERT_OK(Save(p, o, alignment));
      // The index holds every tensor's CRC: identical bytes mean identical
      // checksums as well as identical data.
      EXPECT_EQ(FileBytes(DataFilename(p, 0, 1)), ref_data) << c.name << " alignment " << alignment;
      EXPECT_EQ(FileBytes(MetaFilename(p)), ref_index) << c.name << " alignment " << alignment;
    }
  }
}

TEST_P(ParallelChecksumTest, ReadsReturnTheSavedTensors) {
  const std::string prefix = Path("ckpt");
  BundleWriterOptions w;
  w.checksum_chunk_bytes = kChunk;
  w.parallel_checksum_min_bytes = 1;
  CKPT_ASSERT_OK(Save(prefix, w));
  for (const ReaderConfig& c : kReaderConfigs) {
    for (bool mmap : {false, true}) {
      CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(prefix, ReaderOptions(c, mmap)));
      for (const auto& [k, t] : tensors_) {
        SCOPED_TRACE(std::string(c.name) + (mmap ? " mmap " : " ") + k);
        CKPT_ASSERT_OK_AND_ASSIGN(Tensor got, r->Read(k));
        EXPECT_TRUE(got.Equals(t));
        if (t.dtype() == DataType::kString) continue;
        CKPT_ASSERT_OK_AND_ASSIGN(Tensor into, Tensor::Allocate(t.dtype(), t.shape()));
        CKPT_ASSERT_OK(r->ReadInto(k, &into));
        EXPECT_TRUE(into.Equals(t));
        if (mmap) {
          CKPT_ASSERT_OK_AND_ASSIGN(Tensor view, r->ReadView(k));
          EXPECT_TRUE(view.Equals(t));
        }
      }
    }
  }
}

// A flipped byte in the first, a middle or the last piece of a tensor is
// DataLoss with the very message of the single-threaded check.
TEST_P(ParallelChecksumTest, CorruptPieceIsDataLossWithTheSameMessage) {
  const std::string prefix = Path("ckpt");
  CKPT_ASSERT_OK(Save(prefix, {}));
  const std::string data_path = DataFilename(prefix, 0, 1);
  const std::string good = FileBytes(data_path);
  int64_t offset = 0, size = 0;
  {
    CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(prefix, SingleThreaded()));
    CKPT_ASSERT_OK_AND_ASSIGN(const BundleEntry* e, r->Lookup(Key(7 * kChunk + 12)));
    offset = e->offset;
    size = e->size;
  }
  const std::string key = Key(7 * kChunk + 12);
  const Tensor& want = tensors_[FloatSizes().size() - 1].second;
  for (int64_t at : {int64_t{0}, kChunk - 1, kChunk, 3 * kChunk + 5, 7 * kChunk, size - 1}) {
    std::string bad = good;
    bad[static_cast<size_t>(offset + at)] ^= 0x20;
    CKPT_ASSERT_OK(WriteStringToFile(env(), data_path, bad));
    for (bool mmap : {false, true}) {
      CKPT_ASSERT_OK_AND_ASSIGN(auto ref_reader, BundleReader::Open(prefix, SingleThreaded(mmap)));
      Status ref = ref_reader->Read(key).status();
      ASSERT_THAT(ref, StatusIs(StatusCode::kDataLoss, "Checksum does not match"));
      for (const ReaderConfig& c : kReaderConfigs) {
        SCOPED_TRACE(std::string(c.name) + (mmap ? " mmap" : "") + " flip at " + std::to_string(at));
        CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(prefix, ReaderOptions(c, mmap)));
        EXPECT_EQ(r->Read(key).status().ToString(), ref.ToString());
        CKPT_ASSERT_OK_AND_ASSIGN(Tensor into, Tensor::Allocate(DataType::kFloat, want.shape()));
        EXPECT_EQ(r->ReadInto(key, &into).ToString(), ref.ToString());
        if (mmap) EXPECT_EQ(r->ReadView(key).status().ToString(), ref.ToString());
        // Other tensors are unaffected.
        CKPT_ASSERT_OK_AND_ASSIGN(Tensor other, r->Read(Key(2 * kChunk + 4)));
        EXPECT_TRUE(other.Equals(tensors_[6].second));
      }
    }
  }
  // Without verification the corrupt bytes are returned as stored.
  BundleReaderOptions nocheck = ReaderOptions(kReaderConfigs[0]);
  nocheck.verify_checksums = false;
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(prefix, nocheck));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor got, r->Read(key));
  EXPECT_FALSE(got.Equals(want));
}

TEST_P(ParallelChecksumTest, ConcurrentReadsOnOneReader) {
  const std::string prefix = Path("ckpt");
  CKPT_ASSERT_OK(Save(prefix, {}));
  for (bool mmap : {false, true}) {
    CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(prefix, ReaderOptions(kReaderConfigs[0], mmap)));
    std::atomic<int> bad{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 25; ++i) {
          const auto& [k, want] = tensors_[static_cast<size_t>(t + i) % tensors_.size()];
          auto got = r->Read(k);
          if (!got.ok() || !got->Equals(want)) ++bad;
          if (mmap && want.dtype() != DataType::kString) {
            auto view = r->ReadView(k);
            if (!view.ok() || !view->Equals(want)) ++bad;
          }
        }
      });
    }
    for (std::thread& th : threads) th.join();
    EXPECT_EQ(bad.load(), 0) << (mmap ? "mmap" : "pread");
  }
}

TEST_P(ParallelChecksumTest, BadOptionsAreRejected) {
  BundleReaderOptions r;
  r.env = env();
  r.checksum_threads = -1;
  EXPECT_THAT(BundleReader::Open(Path("x"), r), StatusIs(StatusCode::kInvalidArgument, "checksum"));
  r.checksum_threads = 1;
  r.checksum_chunk_bytes = 0;
  EXPECT_THAT(BundleReader::Open(Path("x"), r), StatusIs(StatusCode::kInvalidArgument, "checksum"));

  BundleWriterOptions w;
  w.env = env();
  w.checksum_threads = -1;
  EXPECT_THAT(BundleWriter::Create(Path("x"), w), StatusIs(StatusCode::kInvalidArgument, "checksum"));
  w.checksum_threads = 1;
  w.checksum_chunk_bytes = 0;
  EXPECT_THAT(BundleWriter::Create(Path("x"), w), StatusIs(StatusCode::kInvalidArgument, "checksum"));
  w.checksum_chunk_bytes = kChunk;
  w.parallel_checksum_min_bytes = 0;
  EXPECT_THAT(BundleWriter::Create(Path("x"), w), StatusIs(StatusCode::kInvalidArgument, "checksum"));
  w.parallel_checksum_min_bytes = 1;
  w.writeback_interval_bytes = -1;
  EXPECT_THAT(BundleWriter::Create(Path("x"), w), StatusIs(StatusCode::kInvalidArgument, "writeback"));
}

INSTANTIATE_TEST_SUITE_P(AllEnvs, ParallelChecksumTest,
                         ::testing::Values(EnvKind::kPosix, EnvKind::kMem),
                         [](const auto& info) { return EnvKindName(info.param); });

// The default options on tensors of real size: 256 KiB read pieces, 4 MiB
// parts, 1 MiB write pieces. Sizes at those boundaries and a corrupt byte in
// the first, a middle and the last part.
TEST(ParallelChecksumDefaultsTest, LargeTensorsAtTheDefaultBoundaries) {
  auto mem = NewMemEnv();
  CKPT_ASSERT_OK(mem->CreateDirs("/t"));
  const int64_t kPiece = 256 << 10, kPart = 4 << 20;
  std::vector<std::pair<std::string, Tensor>> tensors;
  uint32_t seed = 30;
  for (int64_t bytes : {kPiece - 4, kPiece, kPiece + 4, int64_t{1} << 20, (int64_t{2} << 20) - 4,
                        kPart, kPart + 4, 2 * kPart + kPiece + 8}) {
    tensors.emplace_back(Key(bytes), MakeTestTensor(DataType::kFloat, TensorShape({bytes / 4}), seed++));
  }
  std::string ref_data, ref_index;
  for (int threads : {0, 1, 2}) {
    BundleWriterOptions w;
    w.env = mem.get();
    w.checksum_threads = threads;
    const std::string prefix = "/t/ckpt" + std::to_string(threads);
    CKPT_ASSERT_OK_AND_ASSIGN(auto writer, BundleWriter::Create(prefix, w));
    for (const auto& [k, t] : tensors) CKPT_ASSERT_OK(writer->Add(k, t));
    CKPT_ASSERT_OK(writer->Finish());
    const std::string data = ReadFileToString(mem.get(), DataFilename(prefix, 0, 1)).value();
    const std::string index = ReadFileToString(mem.get(), MetaFilename(prefix)).value();
    if (threads == 0) {
      ref_data = data;
      ref_index = index;
    }
    EXPECT_EQ(data, ref_data) << threads;
    EXPECT_EQ(index, ref_index) << threads;
  }
  const std::string prefix = "/t/ckpt0";
  for (int threads : {0, 1, 2}) {
    for (bool mmap : {false, true}) {
      BundleReaderOptions o;
      o.env = mem.get();
      o.checksum_threads = threads;
      o.use_mmap = mmap;
      CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(prefix, o));
      for (const auto& [k, t] : tensors) {
        Tensor into = Tensor::Allocate(DataType::kFloat, t.shape()).value();
        CKPT_ASSERT_OK(r->ReadInto(k, &into));
        EXPECT_TRUE(into.Equals(t)) << k;
        if (mmap) {
          CKPT_ASSERT_OK_AND_ASSIGN(Tensor view, r->ReadView(k));
          EXPECT_TRUE(view.Equals(t)) << k;
        }
      }
    }
  }
  // Corruption in the largest tensor.
  const std::string data_path = DataFilename(prefix, 0, 1);
  const std::string good = ReadFileToString(mem.get(), data_path).value();
  const std::string key = tensors.back().first;
  BundleReaderOptions plain;
  plain.env = mem.get();
  CKPT_ASSERT_OK_AND_ASSIGN(auto r0, BundleReader::Open(prefix, plain));
  CKPT_ASSERT_OK_AND_ASSIGN(const BundleEntry* e, r0->Lookup(key));
  const int64_t offset = e->offset, size = e->size;
  r0.reset();
  for (int64_t at : {int64_t{5}, kPart + kPiece + 1, size - 1}) {
    std::string bad = good;
    bad[static_cast<size_t>(offset + at)] ^= 1;
    CKPT_ASSERT_OK(WriteStringToFile(mem.get(), data_path, bad));
    std::string first_message;
    for (int threads : {0, 1, 2}) {
      for (bool mmap : {false, true}) {
        BundleReaderOptions o;
        o.env = mem.get();
        o.checksum_threads = threads;
        o.use_mmap = mmap;
        CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(prefix, o));
        Tensor into = Tensor::Allocate(DataType::kFloat, tensors.back().second.shape()).value();
        Status s = r->ReadInto(key, &into);
        EXPECT_THAT(s, StatusIs(StatusCode::kDataLoss, "Checksum does not match")) << at;
        if (first_message.empty()) first_message = s.ToString();
        EXPECT_EQ(s.ToString(), first_message) << threads << " threads, flip at " << at;
        if (mmap) EXPECT_EQ(r->ReadView(key).status().ToString(), first_message);
      }
    }
  }
}

// ---- helper threads are persistent ---------------------------------------------

// Threads listed in /proc/self/task, once the count holds still: a thread
// that was just joined (here or in an earlier test) can stay listed for a
// moment after join() returns.
int ThreadsInProcess() {
  auto count = [] {
    auto tasks = Env::Posix()->GetChildren("/proc/self/task");
    return tasks.ok() ? static_cast<int>(tasks->size()) : -1;
  };
  int n = count();
  for (int i = 0; i < 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const int again = count();
    if (again == n) break;
    n = again;
  }
  return n;
}

TEST(ParallelChecksumThreadsTest, HelpersAreStartedOnceAndReused) {
  if (ThreadsInProcess() < 0) GTEST_SKIP() << "no /proc/self/task";
  auto mem = NewMemEnv();
  CKPT_ASSERT_OK(mem->CreateDirs("/t"));
  const Tensor big = MakeTestTensor(DataType::kFloat, TensorShape({5 * kChunk / 4 + 1}), 9);
  const Tensor small = MakeTestTensor(DataType::kFloat, TensorShape({10}), 10);
  const int before = ThreadsInProcess();
  {
    BundleWriterOptions o;
    o.env = mem.get();
    o.checksum_threads = 2;
    o.checksum_chunk_bytes = kChunk;
    o.parallel_checksum_min_bytes = kChunk;
    CKPT_ASSERT_OK_AND_ASSIGN(auto w, BundleWriter::Create("/t/ckpt", o));
    CKPT_ASSERT_OK(w->Add("small", small));
    EXPECT_EQ(ThreadsInProcess(), before) << "small tensors start no helper";
    for (int i = 0; i < 200; ++i) CKPT_ASSERT_OK(w->Add("big" + std::to_string(i), big));
    EXPECT_EQ(ThreadsInProcess(), before + 2);
    CKPT_ASSERT_OK(w->Finish());
  }
  EXPECT_EQ(ThreadsInProcess(), before) << "the writer stops its helpers";

  BundleReaderOptions o;
  o.env = mem.get();
  o.checksum_threads = 1;
  o.checksum_chunk_bytes = kChunk;
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open("/t/ckpt", o));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor got_small, r->Read("small"));
  EXPECT_TRUE(got_small.Equals(small));
  EXPECT_EQ(ThreadsInProcess(), before) << "small tensors start no helper";
  Tensor into = Tensor::Allocate(DataType::kFloat, big.shape()).value();
  for (int i = 0; i < 200; ++i) {
    CKPT_ASSERT_OK(r->ReadInto("big" + std::to_string(i), &into));
    ASSERT_TRUE(into.Equals(big)) << i;
  }
  EXPECT_EQ(ThreadsInProcess(), before + 1);
  r.reset();
  EXPECT_EQ(ThreadsInProcess(), before);
}

// ---- failures in the middle of a pieced read or write ---------------------------

// Fails reads of data files at or beyond `fail_from` bytes.
class FailingReadEnv : public ForwardingEnv {
 public:
  using ForwardingEnv::ForwardingEnv;
  std::atomic<int64_t> fail_from{-1};

  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override {
    CKPT_ASSIGN_OR_RETURN(auto f, target()->NewRandomAccessFile(path));
    if (path.find(".data-") == std::string::npos) return f;
    return std::unique_ptr<RandomAccessFile>(new File(this, std::move(f)));
  }

 private:
  class File : public RandomAccessFile {
   public:
    File(FailingReadEnv* env, std::unique_ptr<RandomAccessFile> f) : env_(env), f_(std::move(f)) {}
    Result<std::string_view> Read(uint64_t offset, size_t n, char* scratch) const override {
      const int64_t from = env_->fail_from.load();
      if (from >= 0 && offset + n > static_cast<uint64_t>(from)) {
        return IoError("injected read error at offset " + std::to_string(offset));
      }
      return f_->Read(offset, n, scratch);
    }
    uint64_t Size() const override { return f_->Size(); }

   private:
    FailingReadEnv* env_;
    std::unique_ptr<RandomAccessFile> f_;
  };
};

TEST(ParallelChecksumFailureTest, ReadErrorInALaterPieceIsReturned) {
  auto mem = NewMemEnv();
  CKPT_ASSERT_OK(mem->CreateDirs("/t"));
  const Tensor big = MakeTestTensor(DataType::kFloat, TensorShape({6 * kChunk / 4}), 3);
  {
    BundleWriterOptions o;
    o.env = mem.get();
    CKPT_ASSERT_OK_AND_ASSIGN(auto w, BundleWriter::Create("/t/ckpt", o));
    CKPT_ASSERT_OK(w->Add("big", big));
    CKPT_ASSERT_OK(w->Finish());
  }
  FailingReadEnv fenv(mem.get());
  BundleReaderOptions o;
  o.env = &fenv;
  o.checksum_chunk_bytes = kChunk;
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open("/t/ckpt", o));
  Tensor into = Tensor::Allocate(DataType::kFloat, big.shape()).value();
  for (int64_t from : {int64_t{3} * kChunk, 6 * kChunk - 1, int64_t{1}}) {
    fenv.fail_from = from;
    EXPECT_THAT(r->ReadInto("big", &into), StatusIs(StatusCode::kIoError, "injected read error"))
        << from;
  }
  fenv.fail_from = -1;  // the reader and its helper still work
  CKPT_ASSERT_OK(r->ReadInto("big", &into));
  EXPECT_TRUE(into.Equals(big));
}

// Counts StartWriteback hints; fails appends after `fail_after` bytes.
class HintCountingEnv : public ForwardingEnv {
 public:
  using ForwardingEnv::ForwardingEnv;
  int hints = 0;
  int64_t fail_after = -1;

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    CKPT_ASSIGN_OR_RETURN(auto f, target()->NewWritableFile(path));
    return std::unique_ptr<WritableFile>(new File(this, std::move(f)));
  }

 private:
  class File : public WritableFile {
   public:
    File(HintCountingEnv* env, std::unique_ptr<WritableFile> f) : env_(env), f_(std::move(f)) {}
    Status Append(std::string_view d) override {
      if (env_->fail_after >= 0 && static_cast<int64_t>(f_->Tell() + d.size()) > env_->fail_after) {
        return IoError("injected append error");
      }
      return f_->Append(d);
    }
    Status Flush() override { return f_->Flush(); }
    Status Sync() override { return f_->Sync(); }
    Status Close() override { return f_->Close(); }
    uint64_t Tell() const override { return f_->Tell(); }
    void StartWriteback() override {
      ++env_->hints;
      f_->StartWriteback();
    }

   private:
    HintCountingEnv* env_;
    std::unique_ptr<WritableFile> f_;
  };
};

TEST(ParallelChecksumWriterTest, WritebackIsHintedEveryIntervalWhenSyncing) {
  for (EnvKind kind : {EnvKind::kPosix, EnvKind::kMem}) {
    TestEnv te = MakeTestEnv(kind);
    const Tensor t = MakeTestTensor(DataType::kFloat, TensorShape({750}), 4);  // 3000 bytes
    struct Case {
      bool sync;
      int64_t interval;
      int64_t chunk;
      int hints;
    };
    // 10 tensors of 3000 bytes = 30000 bytes. Appended whole: a hint once
    // 8000 bytes have accumulated, i.e. after tensors 3, 6 and 9. In pieces
    // of 1000 bytes: after every 8000, i.e. 3 times as well; every piece
    // with an interval of 1000: 30 hints.
    for (const Case& c : {Case{true, 8000, kChunk, 3}, Case{true, 8000, 1000, 3},
                          Case{true, 1000, 1000, 30}, Case{false, 8000, kChunk, 0},
                          Case{true, 0, kChunk, 0}}) {
      HintCountingEnv henv(te.env);
      BundleWriterOptions o;
      o.env = &henv;
      o.sync = c.sync;
      o.writeback_interval_bytes = c.interval;
      o.checksum_chunk_bytes = c.chunk;
      o.parallel_checksum_min_bytes = 1;
      const std::string prefix = te.root + "/w" + std::to_string(c.interval) + "_" +
                                 std::to_string(c.chunk) + (c.sync ? "s" : "n");
      CKPT_ASSERT_OK_AND_ASSIGN(auto w, BundleWriter::Create(prefix, o));
      for (int i = 0; i < 10; ++i) CKPT_ASSERT_OK(w->Add("t" + std::to_string(i), t));
      CKPT_ASSERT_OK(w->Finish());
      EXPECT_EQ(henv.hints, c.hints) << EnvKindName(kind) << " interval " << c.interval
                                     << " chunk " << c.chunk << " sync " << c.sync;
      BundleReaderOptions ro;
      ro.env = te.env;
      CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(prefix, ro));
      CKPT_ASSERT_OK_AND_ASSIGN(Tensor got, r->Read("t9"));
      EXPECT_TRUE(got.Equals(t));
    }
  }
}

TEST(ParallelChecksumWriterTest, AppendErrorInALaterPieceFailsTheSave) {
  auto mem = NewMemEnv();
  CKPT_ASSERT_OK(mem->CreateDirs("/t"));
  HintCountingEnv henv(mem.get());
  henv.fail_after = 3 * kChunk + 100;
  BundleWriterOptions o;
  o.env = &henv;
  o.checksum_chunk_bytes = kChunk;
  o.parallel_checksum_min_bytes = 1;
  CKPT_ASSERT_OK_AND_ASSIGN(auto w, BundleWriter::Create("/t/ckpt", o));
  const Tensor big = MakeTestTensor(DataType::kFloat, TensorShape({6 * kChunk / 4}), 5);
  EXPECT_THAT(w->Add("big", big), StatusIs(StatusCode::kIoError, "injected append error"));
  EXPECT_THAT(w->Finish(), StatusIs(StatusCode::kIoError, "injected append error"));
  EXPECT_THAT(ckpt::testing::ListDir(mem.get(), "/t"), ::testing::IsEmpty());
}

}  // namespace
}  // namespace ckpt

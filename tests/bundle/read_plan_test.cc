// ReadPlanner (src/bundle/read_plan): parts, batches across tensors, file
// order and the first error in file order, on an in-memory file.
#include "bundle/read_plan.h"

#include <atomic>
#include <cstring>
#include <string>
#include <vector>

#include "crc/crc32c.h"
#include "testutil/testutil.h"

namespace ckpt::bundle_internal {
namespace {

using ::ckpt::testing::StatusIs;

class ReadPlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = NewMemEnv();
    for (size_t i = 0; i < 1000; ++i) data_.push_back(static_cast<char>(i * 7 + 3));
    ASSERT_TRUE(testing::WriteStringToFile(env_.get(), "/f", data_).ok());
    file_ = std::move(env_->NewRandomAccessFile("/f")).value();
  }

  BundleEntry Entry(std::string key, int64_t offset, int64_t size) {
    BundleEntry e;
    e.key = std::move(key);
    e.dtype = DataType::kUInt8;
    e.shape = TensorShape::Make({size}).value();
    e.offset = offset;
    e.size = size;
    return e;
  }

  uint32_t Crc(int64_t offset, int64_t size) {
    return crc32c::Value(data_.data() + offset, static_cast<size_t>(size));
  }

  static BundleReaderOptions Options(int threads, int64_t chunk) {
    BundleReaderOptions o;
    o.checksum_threads = threads;
    o.checksum_chunk_bytes = chunk;
    return o;
  }

  std::unique_ptr<MemEnv> env_;
  std::string data_;
  std::unique_ptr<RandomAccessFile> file_;
};

TEST_F(ReadPlanTest, ReadChecksummedInPartsMatchesOnePass) {
  for (int threads : {0, 1, 2}) {
    for (int64_t chunk : {1, 7, 100, 1000, 4096}) {
      ReadPlanner planner(Options(threads, chunk));
      const BundleEntry e = Entry("t", 13, 900);
      std::string out(900, '\0');
      uint32_t crc = 0;
      ASSERT_TRUE(planner.ReadChecksummed(*file_, e, out.data(), &crc).ok());
      EXPECT_EQ(out, data_.substr(13, 900));
      EXPECT_EQ(crc, Crc(13, 900)) << threads << " threads, chunk " << chunk;
    }
  }
}

TEST_F(ReadPlanTest, ReadChecksummedPastTheEndIsAShortRead) {
  ReadPlanner planner(Options(1, 64));
  const BundleEntry e = Entry("late", 900, 200);
  std::string out(200, '\0');
  uint32_t crc = 0;
  EXPECT_THAT(planner.ReadChecksummed(*file_, e, out.data(), &crc),
              StatusIs(StatusCode::kDataLoss, "Short read of tensor \"late\""));
}

TEST_F(ReadPlanTest, ToFileOrderSortsByShardThenOffset) {
  BundleEntry a = Entry("a", 500, 1), b = Entry("b", 10, 1), c = Entry("c", 0, 1);
  c.shard_id = 1;
  std::vector<PlannedRead> items = {{&c, nullptr, file_.get()}, {&a, nullptr, file_.get()},
                                    {&b, nullptr, file_.get()}};
  ReadPlanner::ToFileOrder(&items);
  EXPECT_EQ(items[0].e, &b);
  EXPECT_EQ(items[1].e, &a);
  EXPECT_EQ(items[2].e, &c);
}

TEST_F(ReadPlanTest, BatchesSpanTensorsAndEveryCrcIsWhole) {
  // Sizes chosen so that batches of 64 bytes start and end inside tensors.
  std::vector<BundleEntry> entries = {Entry("a", 0, 5), Entry("b", 5, 130), Entry("c", 200, 0),
                                      Entry("d", 300, 61), Entry("e", 361, 3)};
  for (int threads : {0, 1, 2}) {
    ReadPlanner planner(Options(threads, 64));
    std::vector<Tensor> outs;
    for (const BundleEntry& e : entries) outs.push_back(Tensor::Allocate(e.dtype, e.shape).value());
    std::vector<PlannedRead> items;
    for (size_t i = 0; i < entries.size(); ++i) items.push_back({&entries[i], &outs[i], file_.get()});
    std::vector<uint32_t> crcs;
    ASSERT_TRUE(planner.ReadManyChecksummed(items, &crcs).ok());
    ASSERT_EQ(crcs.size(), entries.size());
    for (size_t i = 0; i < entries.size(); ++i) {
      const BundleEntry& e = entries[i];
      EXPECT_EQ(crcs[i], Crc(e.offset, e.size)) << e.key;
      EXPECT_EQ(outs[i].bytes(), std::string_view(data_).substr(e.offset, e.size)) << e.key;
    }
  }
}

TEST_F(ReadPlanTest, ViewsAreChecksummedInPlace) {
  std::vector<BundleEntry> entries = {Entry("a", 0, 100), Entry("b", 100, 300)};
  ReadPlanner planner(Options(1, 64));
  std::vector<PlannedRead> items;
  for (const BundleEntry& e : entries) {
    items.push_back({&e, nullptr, file_.get(), data_.data() + e.offset});
  }
  std::vector<uint32_t> crcs;
  ASSERT_TRUE(planner.ReadManyChecksummed(items, &crcs).ok());
  ASSERT_EQ(crcs.size(), 2u);
  EXPECT_EQ(crcs[0], Crc(0, 100));
  EXPECT_EQ(crcs[1], Crc(100, 300));
  EXPECT_EQ(planner.ChecksumMapped(data_.data() + 100, 300), Crc(100, 300));
}

TEST_F(ReadPlanTest, FirstReadErrorInFileOrderStopsTheCrcs) {
  // "c" runs past the end of the file; "d" (later) does too.
  std::vector<BundleEntry> entries = {Entry("a", 0, 50), Entry("b", 50, 50), Entry("c", 950, 100),
                                      Entry("d", 990, 100)};
  ReadPlanner planner(Options(2, 32));
  std::vector<Tensor> outs;
  for (const BundleEntry& e : entries) outs.push_back(Tensor::Allocate(e.dtype, e.shape).value());
  std::vector<PlannedRead> items;
  for (size_t i = 0; i < entries.size(); ++i) items.push_back({&entries[i], &outs[i], file_.get()});
  std::vector<uint32_t> crcs;
  EXPECT_THAT(planner.ReadManyChecksummed(items, &crcs),
              StatusIs(StatusCode::kDataLoss, "Short read of tensor \"c\""));
  ASSERT_EQ(crcs.size(), 2u);
  EXPECT_EQ(crcs[0], Crc(0, 50));
  EXPECT_EQ(crcs[1], Crc(50, 50));
}

TEST_F(ReadPlanTest, TensorsOfAFewHugePagesAreCutInTwoAtAHugePageBoundary) {
  constexpr size_t kMiB = size_t{1} << 20;
  static_assert(Tensor::kHugePageBytes == 2 * kMiB);
  ReadPlanner planner(Options(1, 4 * kMiB));
  EXPECT_EQ(planner.PartBytes(1000), 4 * kMiB);
  EXPECT_EQ(planner.PartBytes(2 * kMiB), 4 * kMiB);      // one huge page: one part
  EXPECT_EQ(planner.PartBytes(2 * kMiB + 4), 2 * kMiB);  // 2 MiB + 4 bytes
  EXPECT_EQ(planner.PartBytes(3 * kMiB), 2 * kMiB);      // 2 + 1
  EXPECT_EQ(planner.PartBytes(4 * kMiB), 2 * kMiB);      // 2 + 2
  EXPECT_EQ(planner.PartBytes(6 * kMiB), 4 * kMiB);      // 4 + 2
  EXPECT_EQ(planner.PartBytes(8 * kMiB), 4 * kMiB);      // 4 + 4
  EXPECT_EQ(planner.PartBytes(9 * kMiB), 4 * kMiB);      // more than two chunks
  // Chunks smaller than a huge page are used as they are.
  EXPECT_EQ(ReadPlanner(Options(1, 4096)).PartBytes(3 * kMiB), 4096u);
  // A tensor cut that way reads the same bytes and CRC with any helpers.
  std::string big(5 * kMiB, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 131) >> 3);
  ASSERT_TRUE(testing::WriteStringToFile(env_.get(), "/big", big).ok());
  auto file = std::move(env_->NewRandomAccessFile("/big")).value();
  for (int threads : {0, 1, 2}) {
    ReadPlanner p(Options(threads, 4 * kMiB));
    for (size_t size : {2 * kMiB + 4, 3 * kMiB + 100, 4 * kMiB}) {
      const BundleEntry e = Entry("t", 17, static_cast<int64_t>(size));
      std::string out(size, '\0');
      uint32_t crc = 0;
      ASSERT_TRUE(p.ReadChecksummed(*file, e, out.data(), &crc).ok());
      EXPECT_TRUE(out == big.substr(17, size)) << threads << " threads, " << size << " bytes";
      EXPECT_EQ(crc, crc32c::Value(big.data() + 17, size)) << threads << " threads, " << size;
    }
  }
}

TEST_F(ReadPlanTest, PiecedOnlyWhenVerifyingAndLargerThanAPiece) {
  ReadPlanner big(Options(1, int64_t{4} << 20));
  EXPECT_FALSE(big.Pieced(256 << 10));
  EXPECT_TRUE(big.Pieced((256 << 10) + 1));
  ReadPlanner small(Options(1, 1000));
  EXPECT_FALSE(small.Pieced(1000));
  EXPECT_TRUE(small.Pieced(1001));
  BundleReaderOptions no_verify = Options(1, 1000);
  no_verify.verify_checksums = false;
  EXPECT_FALSE(ReadPlanner(no_verify).Pieced(1 << 30));
}

// A file whose direct reads are served from memory (every call checked against
// ReadDirect's alignment contract) and whose bytes are never cached.
class DirectStringFile : public RandomAccessFile {
 public:
  explicit DirectStringFile(std::string data) : data_(std::move(data)) {}
  Result<std::string_view> Read(uint64_t o, size_t n, char*) const override {
    if (o >= data_.size()) return std::string_view();
    return std::string_view(data_).substr(o, n);
  }
  uint64_t Size() const override { return data_.size(); }
  int64_t CachedBytes(uint64_t, uint64_t) const override { return 0; }
  size_t DirectReadAlignment() const override { return 4096; }
  Result<size_t> ReadDirect(uint64_t o, size_t n, char* dst) const override {
    if (o % 4096 != 0 || n % 4096 != 0 || reinterpret_cast<uintptr_t>(dst) % 4096 != 0) {
      misaligned_ = true;
    }
    ++calls_;
    if (o >= data_.size()) return size_t{0};
    const size_t got = std::min<size_t>(n, data_.size() - o);
    std::memcpy(dst, data_.data() + o, got);
    return got;
  }
  const std::string& data() const { return data_; }
  mutable std::atomic<int> calls_{0};
  mutable std::atomic<bool> misaligned_{false};

 private:
  std::string data_;
};

TEST_F(ReadPlanTest, DirectReadsOfOverlappingEntriesAcrossChunks) {
  std::string big(size_t{20} << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 2654435761u) >> 13);
  DirectStringFile file(big);
  const int64_t MiB = int64_t{1} << 20;
  // Unaligned, overlapping (as a crafted index may have them), one starting
  // before the chunk its predecessor ended in, one running to the end.
  std::vector<BundleEntry> entries = {Entry("a", 100, 9 * MiB), Entry("b", 7 * MiB + 5, 3 * MiB),
                                      Entry("c", 8 * MiB - 100, 200), Entry("d", 12 * MiB + 1, 8 * MiB - 1),
                                      Entry("e", 3 * MiB, 0)};
  for (int threads : {0, 1, 2}) {
    ReadPlanner planner(Options(threads, 4 * MiB));
    std::vector<std::string> out(entries.size());
    std::vector<PlannedRead> items;
    for (size_t i = 0; i < entries.size(); ++i) {
      out[i].assign(static_cast<size_t>(entries[i].size), '\0');
      items.push_back({&entries[i], nullptr, &file, nullptr, out[i].data()});
    }
    ReadPlanner::ToFileOrder(&items);
    file.calls_ = 0;
    std::vector<uint32_t> crcs;
    ASSERT_TRUE(planner.ReadManyChecksummed(items, &crcs).ok());
    EXPECT_GT(file.calls_.load(), 2);
    EXPECT_FALSE(file.misaligned_.load());
    ASSERT_EQ(crcs.size(), items.size());
    for (size_t k = 0; k < items.size(); ++k) {
      const BundleEntry& e = *items[k].e;
      const std::string want = big.substr(static_cast<size_t>(e.offset), static_cast<size_t>(e.size));
      EXPECT_EQ(std::string(items[k].dst, static_cast<size_t>(e.size)), want) << e.key;
      EXPECT_EQ(crcs[k], crc32c::Value(want.data(), want.size())) << e.key;
    }
    // One large tensor alone.
    std::string one(static_cast<size_t>(entries[0].size), '\0');
    uint32_t crc = 0;
    file.calls_ = 0;
    ASSERT_TRUE(planner.ReadChecksummed(file, entries[0], one.data(), &crc).ok());
    EXPECT_EQ(one, big.substr(100, static_cast<size_t>(9 * MiB)));
    EXPECT_EQ(crc, crc32c::Value(one.data(), one.size()));
    EXPECT_EQ(file.calls_.load(), 2);  // [0, 8 MiB) and [8 MiB, 9 MiB + 100)
  }
  // Past the end of the file: a short read naming the tensor.
  ReadPlanner planner(Options(1, 4 * MiB));
  BundleEntry late = Entry("late", 14 * MiB, 9 * MiB);  // direct: 9 MiB, uncached
  std::string buf(static_cast<size_t>(late.size), '\0');
  uint32_t crc = 0;
  file.calls_ = 0;
  EXPECT_THAT(planner.ReadChecksummed(file, late, buf.data(), &crc),
              StatusIs(StatusCode::kDataLoss, "Short read of tensor \"late\""));
  EXPECT_GT(file.calls_.load(), 0);
}

}  // namespace
}  // namespace ckpt::bundle_internal

#include "crc/crc32c.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "crc/crc32c_pool.h"

#include "testutil/testutil.h"

namespace ckpt::crc32c {
namespace {

TEST(Crc32cTest, CheckValue) {
  // The standard CRC-32C check value.
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
  // Masked CRCs (docs/format/bundle.md) of the little-endian bytes of float scalars.
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


// Deterministic bytes (not a pattern ISA-L could be right about by luck).
std::string Bytes(size_t n, uint32_t seed) {
  std::string out(n, '\0');
  uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
  for (char& c : out) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x >> 24);
  }
  return out;
}

TEST(Crc32cCombineTest, MatchesIsalOverTheWholeBuffer) {
  const std::string data = Bytes(3 * 4096 + 17, 1);
  const uint32_t whole = Value(data);  // ISA-L over the whole buffer
  for (size_t split : {size_t{0}, size_t{1}, size_t{3}, size_t{4}, size_t{63}, size_t{64},
                       size_t{4095}, size_t{4096}, size_t{8191}, data.size() - 1, data.size()}) {
    const uint32_t a = Value(data.data(), split);
    const uint32_t b = Value(data.data() + split, data.size() - split);
    EXPECT_EQ(Combine(a, b, data.size() - split), whole) << "split at " << split;
  }
  EXPECT_EQ(Combine(Value("hello "), Value("world"), 5), Value("hello world"));
}

TEST(Crc32cCombineTest, EmptyPieces) {
  const uint32_t c = Value("abc");
  EXPECT_EQ(Combine(c, 0, 0), c);        // B empty
  EXPECT_EQ(Combine(0, c, 3), c);        // A empty
  EXPECT_EQ(Combine(0, 0, 0), 0u);
}

TEST(Crc32cCombineTest, ManyPiecesOfAMegabyteBuffer) {
  const std::string data = Bytes((size_t{5} << 20) + 3, 2);
  const uint32_t whole = Value(data);
  for (size_t piece : {size_t{1} << 10, size_t{1} << 20, (size_t{1} << 20) + 1}) {
    uint32_t c = 0;
    for (size_t i = 0; i < data.size(); i += piece) {
      const size_t n = std::min(piece, data.size() - i);
      c = Combine(c, Value(data.data() + i, n), n);
    }
    EXPECT_EQ(c, whole) << "pieces of " << piece;
  }
}

TEST(Crc32cCombineTest, LengthsBeyond32Bits) {
  // No buffer that large: check the algebra instead. Combining is
  // associative, so (A+B)+C == A+(B+C) must hold for any lengths, which
  // exercises the shift tables far beyond 4 GiB.
  const uint32_t a = Value("first"), b = 0x12345678u, c = 0x9abcdef0u;
  for (uint64_t nb : {uint64_t{1} << 32, (uint64_t{1} << 40) + 12345, (uint64_t{1} << 62) + 7}) {
    const uint64_t nc = (uint64_t{1} << 33) + 99;
    EXPECT_EQ(Combine(Combine(a, b, nb), c, nc), Combine(a, Combine(b, c, nc), nb + nc)) << nb;
  }
  // And against a real buffer of zeros just past a power of two.
  const std::string zeros((size_t{1} << 21) + 5, '\0');
  EXPECT_EQ(Combine(Value("x"), Value(zeros), zeros.size()), Value("x" + zeros));
}

// ---- Pool / Job ------------------------------------------------------------

uint32_t PiecewiseCrc(Pool* pool, const std::string& data, size_t piece, bool last_here) {
  Job job(pool);
  for (size_t i = 0; i < data.size(); i += piece) {
    const size_t n = std::min(piece, data.size() - i);
    if (last_here && i + n == data.size()) {
      job.AddHere(data.data() + i, n);
    } else {
      job.Add(data.data() + i, n);
    }
  }
  return job.Finish();
}

TEST(Crc32cPoolTest, JobEqualsValueOfTheWhole) {
  const std::string data = Bytes(300001, 3);
  const uint32_t whole = Value(data);
  Pool one(1), two(2), none(0);
  for (Pool* pool : {&one, &two, &none, static_cast<Pool*>(nullptr)}) {
    for (size_t piece : {size_t{1000}, size_t{4096}, size_t{65536}, data.size(), data.size() + 1}) {
      for (bool last_here : {false, true}) {
        EXPECT_EQ(PiecewiseCrc(pool, data, piece, last_here), whole)
            << (pool ? pool->threads() : -1) << " threads, pieces of " << piece;
      }
    }
  }
  EXPECT_EQ(one.threads(), 1);
  EXPECT_EQ(two.threads(), 2);
  EXPECT_EQ(none.threads(), 0);
}

TEST(Crc32cPoolTest, EmptyJob) {
  Pool pool(1);
  Job job(&pool);
  EXPECT_EQ(job.Finish(), 0u);
  job.Add("", 0);
  EXPECT_EQ(job.Finish(), 0u);
}

TEST(Crc32cPoolTest, JobIsReusableAfterFinish) {
  Pool pool(1);
  Job job(&pool);
  job.Add("hello ", 6);
  job.Add("world", 5);
  EXPECT_EQ(job.Finish(), Value("hello world"));
  job.Add("123456789", 9);
  EXPECT_EQ(job.Finish(), 0xE3069283u);
}

TEST(Crc32cPoolTest, ThreadsAreReusedAcrossManyJobs) {
  // Thousands of jobs on one pool: no thread per job, no lost or stale
  // piece (each job's data differs).
  Pool pool(2);
  std::vector<std::string> inputs;
  for (uint32_t i = 0; i < 16; ++i) inputs.push_back(Bytes(5000 + 37 * i, 10 + i));
  for (int round = 0; round < 2000; ++round) {
    const std::string& d = inputs[static_cast<size_t>(round) % inputs.size()];
    ASSERT_EQ(PiecewiseCrc(&pool, d, 700 + static_cast<size_t>(round % 5) * 300, round % 2 == 0),
              Value(d))
        << "round " << round;
  }
  EXPECT_EQ(pool.threads(), 2);
}

TEST(Crc32cPoolTest, ConcurrentJobsShareAPool) {
  Pool pool(1);
  std::vector<std::string> inputs;
  for (uint32_t i = 0; i < 4; ++i) inputs.push_back(Bytes(100000 + i, 20 + i));
  std::vector<int> wrong(inputs.size(), 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < inputs.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        if (PiecewiseCrc(&pool, inputs[t], 4096 + t, false) != Value(inputs[t])) ++wrong[t];
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (size_t t = 0; t < inputs.size(); ++t) EXPECT_EQ(wrong[t], 0) << "thread " << t;
}

TEST(Crc32cPoolTest, AddWorkRunsOnceAndCombinesInOrder) {
  const std::string data = Bytes(70000, 7);
  for (int threads : {0, 1, 2}) {
    Pool pool(threads);
    Job job(&pool);
    std::vector<std::atomic<int>> runs(7);
    for (size_t i = 0; i < 7; ++i) {
      const size_t begin = i * 10000;
      job.AddWork(10000, [&, i, begin] {
        ++runs[i];
        return Value(data.data() + begin, 10000);
      });
    }
    EXPECT_EQ(job.Finish(), Value(data)) << threads << " threads";
    for (size_t i = 0; i < runs.size(); ++i) EXPECT_EQ(runs[i].load(), 1) << "piece " << i;
  }
}

TEST(Crc32cPoolTest, RunIfQueuedRunsAPieceNoHelperStarted) {
  const std::string data = Bytes(40000, 8);
  // A pool whose only helper is kept busy: queued pieces stay queued, so the
  // calling thread can take them; a piece it ran is not run again.
  Pool pool(1);
  std::mutex gate;
  std::unique_lock<std::mutex> hold(gate);
  Job blocker(&pool);
  blocker.AddWork(1, [&] {
    std::lock_guard<std::mutex> wait(gate);
    return Value("x", 1);
  });
  Job job(&pool);
  std::vector<std::atomic<int>> runs(4);
  for (size_t i = 0; i < 4; ++i) {
    job.AddWork(10000, [&, i] {
      ++runs[i];
      return Value(data.data() + i * 10000, 10000);
    });
  }
  EXPECT_TRUE(job.RunIfQueued(2));
  EXPECT_EQ(runs[2].load(), 1);
  EXPECT_FALSE(job.RunIfQueued(2)) << "already run";
  EXPECT_FALSE(job.RunIfQueued(9)) << "no such piece";
  EXPECT_EQ(job.Finish(), Value(data));  // takes the rest itself
  for (size_t i = 0; i < runs.size(); ++i) EXPECT_EQ(runs[i].load(), 1) << "piece " << i;
  hold.unlock();
  EXPECT_EQ(blocker.Finish(), Value("x", 1));

  Job inline_job(nullptr);
  inline_job.AddHere(data.data(), 5);
  EXPECT_FALSE(inline_job.RunIfQueued(0)) << "nothing is queued without a pool";
  EXPECT_EQ(inline_job.Finish(), Value(data.data(), 5));
}

TEST(Crc32cPoolTest, DestroyingAnUnfinishedJobWaitsAndDropsItsPieces) {
  // The error path of a read: pieces queued, then the job goes away without
  // Finish. Its queued pieces must not run later against freed memory (ASan
  // would see it) and other jobs must still be right.
  Pool pool(1);
  const std::string keep = Bytes(1 << 20, 5);
  for (int i = 0; i < 20; ++i) {
    auto data = std::make_unique<std::string>(Bytes(1 << 18, 6));
    {
      Job job(&pool);
      for (size_t off = 0; off < data->size(); off += 4096) job.Add(data->data() + off, 4096);
    }
    data.reset();
    ASSERT_EQ(PiecewiseCrc(&pool, keep, 65536, false), Value(keep));
  }
}

}  // namespace
}  // namespace ckpt::crc32c

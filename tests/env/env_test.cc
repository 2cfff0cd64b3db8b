#include "ckpt/env.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::DirectIoWorks;
using ::ckpt::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

enum class EnvKind { kPosix, kMem };

std::string KindName(const ::testing::TestParamInfo<EnvKind>& info) {
  return info.param == EnvKind::kPosix ? "Posix" : "Mem";
}

// The same suite runs over the real file system (in a fresh temp dir) and
// over a MemEnv (in a directory created there).
class EnvTest : public ::testing::TestWithParam<EnvKind> {
 protected:
  void SetUp() override {
    if (GetParam() == EnvKind::kPosix) {
      env_ = Env::Posix();
      root_ = testing::TempDir();
    } else {
      mem_ = NewMemEnv();
      env_ = mem_.get();
      root_ = "/mem/root";
      CKPT_ASSERT_OK(env_->CreateDirs(root_));
    }
  }

  std::string Path(const std::string& name) const { return JoinPath(root_, name); }

  void Write(const std::string& path, std::string_view data, bool sync = true) {
    CKPT_ASSERT_OK_AND_ASSIGN(auto f, env_->NewWritableFile(path));
    CKPT_ASSERT_OK(f->Append(data));
    if (sync) CKPT_ASSERT_OK(f->Sync());
    CKPT_ASSERT_OK(f->Close());
  }

  std::string Read(const std::string& path) {
    auto r = ReadFileToString(env_, path);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : std::string("<error>");
  }

  std::vector<std::string> Children(const std::string& dir) {
    auto r = env_->GetChildren(dir);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return {};
    std::vector<std::string> v = *r;
    std::sort(v.begin(), v.end());
    return v;
  }

  Env* env_ = nullptr;
  std::unique_ptr<MemEnv> mem_;
  std::string root_;
};

TEST_P(EnvTest, WriteThenRead) {
  const std::string p = Path("f.txt");
  EXPECT_FALSE(env_->FileExists(p));
  CKPT_ASSERT_OK_AND_ASSIGN(auto f, env_->NewWritableFile(p));
  EXPECT_EQ(f->Tell(), 0u);
  CKPT_ASSERT_OK(f->Append("hello "));
  EXPECT_EQ(f->Tell(), 6u);
  CKPT_ASSERT_OK(f->Append(std::string_view("wor\0ld", 6)));
  EXPECT_EQ(f->Tell(), 12u);
  CKPT_ASSERT_OK(f->Flush());
  CKPT_ASSERT_OK(f->Sync());
  CKPT_ASSERT_OK(f->Close());
  EXPECT_TRUE(env_->FileExists(p));
  EXPECT_FALSE(env_->IsDirectory(p));
  CKPT_ASSERT_OK_AND_ASSIGN(uint64_t size, env_->GetFileSize(p));
  EXPECT_EQ(size, 12u);
  EXPECT_EQ(Read(p), std::string("hello wor\0ld", 12));
}

TEST_P(EnvTest, AppendAfterCloseFails) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto f, env_->NewWritableFile(Path("c")));
  CKPT_ASSERT_OK(f->Append("x"));
  CKPT_ASSERT_OK(f->Close());
  EXPECT_FALSE(f->Append("y").ok());
  EXPECT_EQ(Read(Path("c")), "x");
}

TEST_P(EnvTest, RandomAccessReads) {
  const std::string p = Path("r");
  std::string data;
  for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>(i * 7));
  Write(p, data);
  CKPT_ASSERT_OK_AND_ASSIGN(auto f, env_->NewRandomAccessFile(p));
  EXPECT_EQ(f->Size(), 1000u);
  std::string scratch(1000, '\0');
  CKPT_ASSERT_OK_AND_ASSIGN(std::string_view got, f->Read(10, 20, scratch.data()));
  EXPECT_EQ(got, std::string_view(data).substr(10, 20));
  // Short read at the end of the file.
  CKPT_ASSERT_OK_AND_ASSIGN(got, f->Read(990, 100, scratch.data()));
  EXPECT_EQ(got, std::string_view(data).substr(990));
  // At and past the end: empty.
  CKPT_ASSERT_OK_AND_ASSIGN(got, f->Read(1000, 10, scratch.data()));
  EXPECT_TRUE(got.empty());
  CKPT_ASSERT_OK_AND_ASSIGN(got, f->Read(5000, 10, scratch.data()));
  EXPECT_TRUE(got.empty());
  CKPT_ASSERT_OK_AND_ASSIGN(got, f->Read(0, 0, scratch.data()));
  EXPECT_TRUE(got.empty());
}

TEST_P(EnvTest, ConcurrentReads) {
  const std::string p = Path("cr");
  std::string data(64 * 1024, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i ^ (i >> 8));
  Write(p, data);
  CKPT_ASSERT_OK_AND_ASSIGN(auto f, env_->NewRandomAccessFile(p));
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::string scratch(4096, '\0');
      for (int i = 0; i < 200; ++i) {
        uint64_t off = static_cast<uint64_t>((i * 977 + t * 131) % (data.size() - 4096));
        auto got = f->Read(off, 4096, scratch.data());
        if (!got.ok() || *got != std::string_view(data).substr(off, 4096)) ++bad;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST_P(EnvTest, LargeAppendsRoundTrip) {
  // Mixed small and large appends (the POSIX writer buffers 1 MiB).
  const std::string p = Path("big");
  std::string expected;
  CKPT_ASSERT_OK_AND_ASSIGN(auto f, env_->NewWritableFile(p));
  uint32_t x = 1;
  for (size_t n : {size_t{10}, size_t{1} << 20, size_t{3}, (size_t{1} << 20) - 5, size_t{2} << 20,
                   size_t{1}}) {
    std::string chunk(n, '\0');
    for (char& c : chunk) {
      x = x * 1103515245u + 12345u;
      c = static_cast<char>(x >> 16);
    }
    CKPT_ASSERT_OK(f->Append(chunk));
    expected += chunk;
    EXPECT_EQ(f->Tell(), expected.size());
  }
  CKPT_ASSERT_OK(f->Close());
  EXPECT_EQ(Read(p), expected);
}

TEST_P(EnvTest, NewWritableFileTruncates) {
  const std::string p = Path("t");
  Write(p, "a long first version");
  Write(p, "short");
  EXPECT_EQ(Read(p), "short");
}

TEST_P(EnvTest, EmptyFile) {
  const std::string p = Path("empty");
  Write(p, "");
  EXPECT_TRUE(env_->FileExists(p));
  CKPT_ASSERT_OK_AND_ASSIGN(uint64_t size, env_->GetFileSize(p));
  EXPECT_EQ(size, 0u);
  EXPECT_EQ(Read(p), "");
  CKPT_ASSERT_OK_AND_ASSIGN(auto m, env_->NewMappedFile(p));
  EXPECT_EQ(m->Size(), 0u);
}

TEST_P(EnvTest, MissingFiles) {
  const std::string p = Path("missing");
  EXPECT_FALSE(env_->FileExists(p));
  EXPECT_THAT(env_->NewRandomAccessFile(p), StatusIs(StatusCode::kNotFound, "missing"));
  EXPECT_THAT(env_->NewMappedFile(p), StatusIs(StatusCode::kNotFound, "missing"));
  EXPECT_THAT(env_->GetFileSize(p), StatusIs(StatusCode::kNotFound, "missing"));
  EXPECT_THAT(env_->GetModificationTime(p), StatusIs(StatusCode::kNotFound, "missing"));
  EXPECT_THAT(env_->DeleteFile(p), StatusIs(StatusCode::kNotFound, "missing"));
  EXPECT_THAT(env_->RenameFile(p, Path("other")), StatusIs(StatusCode::kNotFound, "missing"));
  EXPECT_THAT(ReadFileToString(env_, p), StatusIs(StatusCode::kNotFound, ""));
  EXPECT_THAT(env_->NewWritableFile(Path("nodir/file")), StatusIs(StatusCode::kNotFound, ""));
  EXPECT_THAT(env_->GetChildren(Path("nodir")), StatusIs(StatusCode::kNotFound, "nodir"));
}

TEST_P(EnvTest, OpeningADirectoryForReadingFails) {
  CKPT_ASSERT_OK(env_->CreateDirs(Path("d")));
  const std::string want = "'" + Path("d") + "' is a directory, not a regular file";
  EXPECT_THAT(env_->NewRandomAccessFile(Path("d")),
              StatusIs(StatusCode::kFailedPrecondition, want));
  EXPECT_THAT(env_->NewMappedFile(Path("d")), StatusIs(StatusCode::kFailedPrecondition, want));
  EXPECT_THAT(ReadFileToString(env_, Path("d")), StatusIs(StatusCode::kFailedPrecondition, want));
}

// ---------------------------------------------------------------------------
// Env::Posix() opens only regular files for reading, and never blocks.

class PosixSpecialFileTest : public ::testing::Test {
 protected:
  std::string dir_ = testing::TempDir();
  Env* env_ = Env::Posix();

  // Every way of opening `path` for reading fails promptly with `want`.
  void ExpectRefused(const std::string& path, const std::string& want,
                     const std::vector<std::string>& fifos = {}) {
    using ::ckpt::testing::ReturnsPromptly;
    EXPECT_THAT(ReturnsPromptly([&] { return env_->NewRandomAccessFile(path).status(); }, fifos),
                StatusIs(StatusCode::kFailedPrecondition, want));
    EXPECT_THAT(ReturnsPromptly([&] { return env_->NewMappedFile(path).status(); }, fifos),
                StatusIs(StatusCode::kFailedPrecondition, want));
    EXPECT_THAT(ReturnsPromptly([&] { return ReadFileToString(env_, path).status(); }, fifos),
                StatusIs(StatusCode::kFailedPrecondition, want));
  }
};

TEST_F(PosixSpecialFileTest, FifoIsRefusedWithoutBlocking) {
  const std::string fifo = dir_ + "/f.index";
  CKPT_ASSERT_OK(testing::MakeFifo(fifo));
  ExpectRefused(fifo, "'" + fifo + "' is a FIFO, not a regular file", {fifo});
  // Also through a symbolic link (followed, then refused).
  ASSERT_EQ(::symlink(fifo.c_str(), (dir_ + "/link").c_str()), 0);
  ExpectRefused(dir_ + "/link", "is a FIFO, not a regular file", {fifo});
}

TEST_F(PosixSpecialFileTest, SocketAndCharacterDeviceAreRefused) {
  const std::string sock = dir_ + "/s";
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(sock.size(), sizeof(addr.sun_path));
  std::strcpy(addr.sun_path, sock.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0)
      << std::strerror(errno);
  ExpectRefused(sock, "'" + sock + "' is a socket, not a regular file");
  ::close(fd);
  ExpectRefused("/dev/null", "'/dev/null' is a character device, not a regular file");
}

TEST_F(PosixSpecialFileTest, SymlinkToRegularFileStillReads) {
  CKPT_ASSERT_OK(testing::WriteStringToFile(env_, dir_ + "/real", "bytes"));
  ASSERT_EQ(::symlink((dir_ + "/real").c_str(), (dir_ + "/link").c_str()), 0);
  EXPECT_EQ(ReadFileToString(env_, dir_ + "/link").value(), "bytes");
  CKPT_ASSERT_OK_AND_ASSIGN(auto f, env_->NewMappedFile(dir_ + "/link"));
  EXPECT_EQ(std::string(f->MappedData(), f->Size()), "bytes");
}

TEST_F(PosixSpecialFileTest, UnreadableFileIsPermissionDeniedNotMissing) {
  CKPT_ASSERT_OK(testing::WriteStringToFile(env_, dir_ + "/readable", "ok"));
  CKPT_ASSERT_OK(testing::WriteStringToFile(env_, dir_ + "/secret", "no"));
  ASSERT_EQ(::chmod((dir_ + "/secret").c_str(), 0), 0);
  // Root reads anything: the opens run in a child without that override.
  auto got = testing::RunUnprivileged([&] {
    std::string out;
    for (const char* name : {"readable", "secret"}) {
      const std::string path = dir_ + "/" + name;
      out += env_->NewRandomAccessFile(path).status().ToString() + "\n";
      out += env_->NewMappedFile(path).status().ToString() + "\n";
    }
    return out;
  });
  if (!got) GTEST_SKIP() << "cannot drop root privileges here";
  const std::string denied =
      "PERMISSION_DENIED: '" + dir_ + "/secret' cannot be read: Permission denied\n";
  EXPECT_EQ(*got, "OK\nOK\n" + denied + denied);
}

TEST_P(EnvTest, ModificationTime) {
  Write(Path("m"), "x");
  CKPT_ASSERT_OK_AND_ASSIGN(double t, env_->GetModificationTime(Path("m")));
  EXPECT_GE(t, 0.0);
  EXPECT_GT(env_->NowSeconds(), 1e9);
}

TEST_P(EnvTest, RenameReplacesTarget) {
  const std::string a = Path("a"), b = Path("b");
  Write(a, "new");
  Write(b, "old contents");
  CKPT_ASSERT_OK(env_->RenameFile(a, b));
  EXPECT_FALSE(env_->FileExists(a));
  EXPECT_TRUE(env_->FileExists(b));
  EXPECT_EQ(Read(b), "new");
  EXPECT_THAT(Children(root_), ElementsAre("b"));
}

TEST_P(EnvTest, RenameAcrossDirectories) {
  CKPT_ASSERT_OK(env_->CreateDirs(Path("x/y")));
  Write(Path("a"), "payload");
  CKPT_ASSERT_OK(env_->RenameFile(Path("a"), Path("x/y/a2")));
  EXPECT_EQ(Read(Path("x/y/a2")), "payload");
  EXPECT_FALSE(env_->FileExists(Path("a")));
}

TEST_P(EnvTest, RenameIntoMissingDirectoryFails) {
  Write(Path("a"), "payload");
  EXPECT_FALSE(env_->RenameFile(Path("a"), Path("nodir/a")).ok());
  EXPECT_TRUE(env_->FileExists(Path("a")));
  EXPECT_EQ(Read(Path("a")), "payload");
}

TEST_P(EnvTest, DeleteFile) {
  Write(Path("d1"), "x");
  Write(Path("d2"), "y");
  CKPT_ASSERT_OK(env_->DeleteFile(Path("d1")));
  EXPECT_FALSE(env_->FileExists(Path("d1")));
  EXPECT_TRUE(env_->FileExists(Path("d2")));
  EXPECT_THAT(Children(root_), ElementsAre("d2"));
  EXPECT_THAT(env_->DeleteFile(Path("d1")), StatusIs(StatusCode::kNotFound, ""));
}

TEST_P(EnvTest, Directories) {
  const std::string deep = Path("a/b/c");
  EXPECT_FALSE(env_->IsDirectory(deep));
  CKPT_ASSERT_OK(env_->CreateDirs(deep));
  EXPECT_TRUE(env_->IsDirectory(Path("a")));
  EXPECT_TRUE(env_->IsDirectory(Path("a/b")));
  EXPECT_TRUE(env_->IsDirectory(deep));
  EXPECT_TRUE(env_->FileExists(deep));
  // Idempotent.
  CKPT_ASSERT_OK(env_->CreateDirs(deep));
  CKPT_ASSERT_OK(env_->CreateDirs(Path("a")));
  // Not empty: cannot delete.
  EXPECT_FALSE(env_->DeleteDir(Path("a/b")).ok());
  EXPECT_TRUE(env_->IsDirectory(Path("a/b")));
  Write(JoinPath(deep, "f"), "z");
  EXPECT_FALSE(env_->DeleteDir(deep).ok());
  EXPECT_TRUE(env_->IsDirectory(deep));
  CKPT_ASSERT_OK(env_->DeleteFile(JoinPath(deep, "f")));
  CKPT_ASSERT_OK(env_->DeleteDir(deep));
  EXPECT_FALSE(env_->IsDirectory(deep));
  EXPECT_FALSE(env_->FileExists(deep));
  CKPT_ASSERT_OK(env_->DeleteDir(Path("a/b")));
  CKPT_ASSERT_OK(env_->DeleteDir(Path("a")));
  EXPECT_FALSE(env_->DeleteDir(Path("a")).ok());
  CKPT_ASSERT_OK(env_->SyncDir(root_));
}

TEST_P(EnvTest, GetChildren) {
  EXPECT_TRUE(Children(root_).empty());
  Write(Path("f1"), "1");
  Write(Path("f2"), "2");
  CKPT_ASSERT_OK(env_->CreateDirs(Path("sub/inner")));
  Write(Path("sub/g"), "3");
  Write(Path("sub/inner/h"), "4");
  EXPECT_THAT(Children(root_), ElementsAre("f1", "f2", "sub"));
  EXPECT_THAT(Children(Path("sub")), UnorderedElementsAre("g", "inner"));
  EXPECT_THAT(Children(Path("sub/inner")), ElementsAre("h"));
  // A trailing slash names the same directory.
  EXPECT_THAT(Children(root_ + "/"), ElementsAre("f1", "f2", "sub"));
}

TEST_P(EnvTest, MappedFile) {
  const std::string p = Path("mm");
  std::string data(100000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i % 251);
  Write(p, data);
  CKPT_ASSERT_OK_AND_ASSIGN(auto f, env_->NewMappedFile(p));
  EXPECT_EQ(f->Size(), data.size());
  const char* base = f->MappedData();
  ASSERT_NE(base, nullptr);
  EXPECT_EQ(std::string_view(base, data.size()), data);
  std::string scratch(16, '\0');
  CKPT_ASSERT_OK_AND_ASSIGN(std::string_view got, f->Read(99990, 16, scratch.data()));
  EXPECT_EQ(got, std::string_view(data).substr(99990));
}

TEST_P(EnvTest, WriteStringToFileAtomic) {
  const std::string p = Path("state");
  CKPT_ASSERT_OK(WriteStringToFileAtomic(env_, p, "first"));
  EXPECT_EQ(Read(p), "first");
  CKPT_ASSERT_OK(WriteStringToFileAtomic(env_, p, "second, longer"));
  EXPECT_EQ(Read(p), "second, longer");
  // No temporary files are left behind.
  EXPECT_THAT(Children(root_), ElementsAre("state"));
}

TEST_P(EnvTest, WriteStringToFileAtomicIntoMissingDirFails) {
  EXPECT_FALSE(WriteStringToFileAtomic(env_, Path("nodir/state"), "x").ok());
  EXPECT_TRUE(Children(root_).empty());
}

TEST_P(EnvTest, Random64Varies) {
  uint64_t a = env_->Random64(), b = env_->Random64(), c = env_->Random64();
  EXPECT_FALSE(a == b && b == c);
}

// --- NewDirectWritableFile: the same contract as NewWritableFile ---------

std::string Pattern(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  for (char& c : s) {
    seed = seed * 1103515245u + 12345u;
    c = static_cast<char>(seed >> 16);
  }
  return s;
}

// Appends of the given sizes; Tell exact after each; the file holds exactly
// the bytes appended. Sizes straddle the 4 KiB block and the 8 MiB staging
// buffer of the POSIX direct file.
TEST_P(EnvTest, DirectWritableFileRoundTrip) {
  constexpr size_t kMiB = size_t{1} << 20;
  const std::vector<std::vector<size_t>> cases = {
      {},
      {1},
      {4095},
      {4096},
      {4097},
      {8 * kMiB},
      {8 * kMiB - 1, 1},
      {8 * kMiB + 1},
      {3, 4093, 4096, 5 * kMiB, 11 * kMiB + 17, 1, 0, 2 * kMiB},
      {20 * kMiB + 7},
  };
  int i = 0;
  for (const auto& sizes : cases) {
    SCOPED_TRACE("case " + std::to_string(i));
    const std::string p = Path("direct" + std::to_string(i++));
    CKPT_ASSERT_OK_AND_ASSIGN(auto f, env_->NewDirectWritableFile(p));
    std::string expected;
    for (size_t n : sizes) {
      std::string chunk = Pattern(n, static_cast<uint32_t>(expected.size() + 1));
      CKPT_ASSERT_OK(f->Append(chunk));
      expected += chunk;
      EXPECT_EQ(f->Tell(), expected.size());
    }
    CKPT_ASSERT_OK(f->Sync());
    CKPT_ASSERT_OK(f->Close());
    EXPECT_EQ(f->Tell(), expected.size());
    CKPT_ASSERT_OK_AND_ASSIGN(uint64_t size, env_->GetFileSize(p));
    EXPECT_EQ(size, expected.size());
    EXPECT_TRUE(Read(p) == expected);
  }
}

// Sync and Flush in the middle (the unaligned tail is written, then later
// appends rewrite its block): a reader sees exactly the bytes so far each
// time, and the final file is whole.
TEST_P(EnvTest, DirectWritableFileSyncAndFlushMidway) {
  const std::string p = Path("direct_mid");
  CKPT_ASSERT_OK_AND_ASSIGN(auto f, env_->NewDirectWritableFile(p));
  std::string expected;
  const size_t sizes[] = {100, 5000, (size_t{9} << 20) + 3, 1, 4096, (size_t{8} << 20) - 4000};
  int k = 0;
  for (size_t n : sizes) {
    std::string chunk = Pattern(n, static_cast<uint32_t>(k + 7));
    CKPT_ASSERT_OK(f->Append(chunk));
    expected += chunk;
    CKPT_ASSERT_OK(k % 2 == 0 ? f->Sync() : f->Flush());
    ++k;
    CKPT_ASSERT_OK_AND_ASSIGN(uint64_t size, env_->GetFileSize(p));
    ASSERT_EQ(size, expected.size()) << "after append " << k;
    ASSERT_TRUE(Read(p) == expected) << "after append " << k;
  }
  CKPT_ASSERT_OK(f->Close());
  EXPECT_TRUE(Read(p) == expected);
  EXPECT_FALSE(f->Append("x").ok());
}

TEST_P(EnvTest, DirectWritableFileTruncatesAndNeedsDirectory) {
  const std::string p = Path("direct_t");
  Write(p, std::string(10000, 'a'));
  CKPT_ASSERT_OK_AND_ASSIGN(auto f, env_->NewDirectWritableFile(p));
  CKPT_ASSERT_OK(f->Append("bc"));
  CKPT_ASSERT_OK(f->Close());
  EXPECT_EQ(Read(p), "bc");
  auto missing = env_->NewDirectWritableFile(Path("nodir/file"));
  EXPECT_THAT(missing, StatusIs(StatusCode::kNotFound, "nodir/file"));
}

INSTANTIATE_TEST_SUITE_P(AllEnvs, EnvTest, ::testing::Values(EnvKind::kPosix, EnvKind::kMem),
                         KindName);

// --- The POSIX direct file really bypasses the page cache ------------------


// Fraction of the file's pages in the page cache.
double ResidentFraction(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st;
  if (::fstat(fd, &st) != 0 || st.st_size == 0) {
    ::close(fd);
    return -1;
  }
  const size_t len = static_cast<size_t>(st.st_size);
  void* m = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) return -1;
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> vec((len + page - 1) / page);
  double frac = -1;
  if (::mincore(m, len, vec.data()) == 0) {
    size_t in = 0;
    for (unsigned char c : vec) in += c & 1;
    frac = static_cast<double>(in) / static_cast<double>(vec.size());
  }
  ::munmap(m, len);
  return frac;
}

TEST(PosixDirectFileTest, BypassesThePageCache) {
  const std::string dir = testing::TempDir();
  if (!DirectIoWorks(dir)) GTEST_SKIP() << "no O_DIRECT on the file system of " << dir;
  Env* env = Env::Posix();
  const std::string direct = dir + "/direct", buffered = dir + "/buffered";
  const std::string data = Pattern((size_t{24} << 20) + 100, 3);
  for (const std::string& p : {direct, buffered}) {
    CKPT_ASSERT_OK_AND_ASSIGN(auto f, p == direct ? env->NewDirectWritableFile(p)
                                                  : env->NewWritableFile(p));
    CKPT_ASSERT_OK(f->Append(data));
    CKPT_ASSERT_OK(f->Sync());
    CKPT_ASSERT_OK(f->Close());
  }
  // Only the last, partial block went through the cache; the buffered file
  // is (nearly) all resident right after writing it.
  EXPECT_LT(ResidentFraction(direct), 0.01);
  EXPECT_GT(ResidentFraction(buffered), 0.5);
  CKPT_ASSERT_OK_AND_ASSIGN(std::string got, ReadFileToString(env, direct));
  EXPECT_TRUE(got == data);
}

// A write error on the background thread (here EFBIG from RLIMIT_FSIZE, after
// a short write) surfaces from a later Append, Sync or Close, naming the file
// and the errno text.
TEST(PosixDirectFileTest, WriteErrorIsReportedWithPathAndErrno) {
  const std::string dir = testing::TempDir();
  if (!DirectIoWorks(dir)) GTEST_SKIP() << "no O_DIRECT on the file system of " << dir;
  const std::string p = dir + "/limited";
  Status first_error;
  {
    // Mid-way through the second buffer.
    testing::ScopedFileSizeLimit limit((uint64_t{10} << 20) + 4096);
    ASSERT_TRUE(limit.ok());
    auto f = Env::Posix()->NewDirectWritableFile(p);
    if (f.ok()) {
      const std::string chunk = Pattern(size_t{1} << 20, 5);
      for (int i = 0; i < 40 && first_error.ok(); ++i) first_error = (*f)->Append(chunk);
      if (first_error.ok()) first_error = (*f)->Sync();
      Status closed = (*f)->Close();
      if (first_error.ok()) first_error = closed;
    } else {
      first_error = f.status();
    }
  }
  EXPECT_THAT(first_error, StatusIs(StatusCode::kIoError, "Write failed on '" + p + "'"));
  EXPECT_NE(first_error.message().find(std::strerror(EFBIG)), std::string::npos) << first_error;
}

// --- Appends written in place from the caller's memory --------------------

constexpr size_t kMiB = size_t{1} << 20;

// 4096-aligned memory filled with Pattern bytes.
struct AlignedBuffer {
  explicit AlignedBuffer(size_t n)
      : data(static_cast<char*>(std::aligned_alloc(4096, (n + 4095) / 4096 * 4096))), size(n) {}
  ~AlignedBuffer() { std::free(data); }
  void Fill(uint32_t seed) {
    const std::string p = Pattern(size, seed);
    std::memcpy(data, p.data(), size);
  }
  std::string_view view(size_t n, size_t at = 0) const { return {data + at, n}; }
  char* data;
  size_t size;
};

// Only the POSIX direct file writes without a copy, and only aligned memory
// of at least one staging buffer (8 MiB) at an aligned offset of an open file
// whose O_DIRECT is on.
TEST(PosixDirectFileTest, AppendsWithoutCopyOnlyForAlignedMemoryAtAlignedOffsets) {
  const std::string dir = testing::TempDir();
  if (!DirectIoWorks(dir)) GTEST_SKIP() << "no O_DIRECT on the file system of " << dir;
  AlignedBuffer buf(9 * kMiB);
  buf.Fill(1);
  CKPT_ASSERT_OK_AND_ASSIGN(auto f, Env::Posix()->NewDirectWritableFile(dir + "/d"));
  EXPECT_TRUE(f->AppendsWithoutCopy(buf.view(8 * kMiB)));
  EXPECT_TRUE(f->AppendsWithoutCopy(buf.view(9 * kMiB - 1)));
  EXPECT_FALSE(f->AppendsWithoutCopy(buf.view(8 * kMiB - 4096))) << "smaller than a buffer";
  EXPECT_FALSE(f->AppendsWithoutCopy(buf.view(8 * kMiB, 1))) << "unaligned memory";
  EXPECT_FALSE(f->AppendsWithoutCopy(buf.view(8 * kMiB, 2048))) << "unaligned memory";
  EXPECT_TRUE(f->AppendsWithoutCopy(buf.view(8 * kMiB, 4096)));
  CKPT_ASSERT_OK(f->Append(buf.view(100)));
  EXPECT_FALSE(f->AppendsWithoutCopy(buf.view(8 * kMiB))) << "file offset 100";
  CKPT_ASSERT_OK(f->Append(buf.view(4096 - 100)));
  EXPECT_TRUE(f->AppendsWithoutCopy(buf.view(8 * kMiB))) << "file offset 4096";
  CKPT_ASSERT_OK(f->Close());
  EXPECT_FALSE(f->AppendsWithoutCopy(buf.view(8 * kMiB))) << "closed";

  // Files that always copy: buffered POSIX, in-memory.
  CKPT_ASSERT_OK_AND_ASSIGN(auto b, Env::Posix()->NewWritableFile(dir + "/b"));
  EXPECT_FALSE(b->AppendsWithoutCopy(buf.view(8 * kMiB)));
  auto mem = NewMemEnv();
  CKPT_ASSERT_OK(mem->CreateDirs("/m"));
  CKPT_ASSERT_OK_AND_ASSIGN(auto m, mem->NewDirectWritableFile("/m/f"));
  EXPECT_FALSE(m->AppendsWithoutCopy(buf.view(8 * kMiB)));
}

// Appends alternating between the in-place and the copying path (whole
// blocks waiting in the staging buffer before an in-place append, full
// buffers queued for the IO thread, an unaligned remainder, a Sync midway):
// the file holds exactly the bytes appended. The caller's memory is
// overwritten right after every Append returns, so an in-place write that
// had not finished by then would show up as wrong bytes.
TEST(PosixDirectFileTest, InPlaceAppendsWriteExactlyTheBytesAppended) {
  const std::string dir = testing::TempDir();
  if (!DirectIoWorks(dir)) GTEST_SKIP() << "no O_DIRECT on the file system of " << dir;
  struct Step {
    size_t n;
    size_t misalign;   // bytes past the aligned start of the memory
    bool in_place;     // AppendsWithoutCopy expected
    bool sync = false;
  };
  const std::vector<Step> steps = {
      {20 * kMiB, 0, true},             // offset 0, block multiple
      {3, 0, false},
      {4093, 0, false},                 // offset aligned again, 4096 B waiting in the buffer
      {9 * kMiB + 123, 0, true, true},  // writes the waiting block first; 123 B remain,
                                        // Sync writes them through the cache
      {4096 - 123, 0, false},
      {8 * kMiB, 0, true},              // rewrites that block directly first
      {19 * kMiB + 8, 8, false},        // unaligned memory: copied, two buffers queued
      {4096 - 8, 0, false},
      {16 * kMiB + 4096, 0, true},      // waits for the queued buffers first
      {8 * kMiB + 1, 0, true},          // ends mid-block: one byte in the buffer
  };
  AlignedBuffer buf(24 * kMiB);
  CKPT_ASSERT_OK_AND_ASSIGN(auto f, Env::Posix()->NewDirectWritableFile(dir + "/f"));
  std::string expected;
  uint32_t seed = 1;
  for (const Step& st : steps) {
    SCOPED_TRACE("append of " + std::to_string(st.n) + " at " + std::to_string(expected.size()));
    buf.Fill(seed++);
    const std::string_view data = buf.view(st.n, st.misalign);
    EXPECT_EQ(f->AppendsWithoutCopy(data), st.in_place);
    expected.append(data.data(), data.size());
    CKPT_ASSERT_OK(f->Append(data));
    std::memset(buf.data, 0xEE, buf.size);
    EXPECT_EQ(f->Tell(), expected.size());
    if (st.sync) {
      CKPT_ASSERT_OK(f->Sync());
      EXPECT_TRUE(ReadFileToString(Env::Posix(), dir + "/f").value() == expected);
    }
  }
  CKPT_ASSERT_OK(f->Close());
  CKPT_ASSERT_OK_AND_ASSIGN(std::string got, ReadFileToString(Env::Posix(), dir + "/f"));
  EXPECT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected) << "file differs from the bytes appended";
}

// A write error of an in-place append happens in the calling thread: that
// Append returns it (path and errno text), and it sticks for later calls.
TEST(PosixDirectFileTest, InPlaceWriteErrorIsReturnedAndSticks) {
  const std::string dir = testing::TempDir();
  if (!DirectIoWorks(dir)) GTEST_SKIP() << "no O_DIRECT on the file system of " << dir;
  const std::string p = dir + "/limited";
  AlignedBuffer buf(16 * kMiB);
  buf.Fill(9);
  Status appended, again, closed;
  bool in_place = false;
  {
    // Mid-way through the second pwrite.
    testing::ScopedFileSizeLimit limit((uint64_t{10} << 20) + 4096);
    ASSERT_TRUE(limit.ok());
    auto f = Env::Posix()->NewDirectWritableFile(p);
    if (f.ok()) {
      in_place = (*f)->AppendsWithoutCopy(buf.view(buf.size));
      appended = (*f)->Append(buf.view(buf.size));
      again = (*f)->Append("x");
      closed = (*f)->Close();
    } else {
      appended = f.status();
    }
  }
  EXPECT_TRUE(in_place);
  EXPECT_THAT(appended, StatusIs(StatusCode::kIoError, "Write failed on '" + p + "'"));
  EXPECT_NE(appended.message().find(std::strerror(EFBIG)), std::string::npos) << appended;
  EXPECT_EQ(again, appended);
  EXPECT_EQ(closed, appended);
}

// A ForwardingEnv subclass that wraps NewWritableFile sees direct files too
// (the default routes them through NewWritableFile); one that only changes
// other calls can forward them to its target.
TEST(ForwardingEnvTest, DirectFilesGoThroughNewWritableFileUnlessForwarded) {
  auto mem = NewMemEnv();
  CKPT_ASSERT_OK(mem->CreateDirs("/d"));
  struct Counting : ForwardingEnv {
    using ForwardingEnv::ForwardingEnv;
    int opened = 0;
    Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
      ++opened;
      return ForwardingEnv::NewWritableFile(path);
    }
  } counting(mem.get());
  CKPT_ASSERT_OK_AND_ASSIGN(auto f, counting.NewDirectWritableFile("/d/a"));
  EXPECT_EQ(counting.opened, 1);
  struct Forwarding : Counting {
    using Counting::Counting;
    Result<std::unique_ptr<WritableFile>> NewDirectWritableFile(const std::string& path) override {
      return ForwardDirectWritableFile(path);
    }
  } forwarding(mem.get());
  CKPT_ASSERT_OK_AND_ASSIGN(auto g, forwarding.NewDirectWritableFile("/d/b"));
  EXPECT_EQ(forwarding.opened, 0);
  CKPT_ASSERT_OK(g->Append("xy"));
  CKPT_ASSERT_OK(g->Close());
  EXPECT_EQ(ReadFileToString(mem.get(), "/d/b").value(), "xy");
}

// Files over bytes in memory share them: no copy, and the bytes live as long
// as some file does.
TEST(StringRandomAccessFileTest, ReadsViewsOfTheSharedBytes) {
  auto bytes = std::make_shared<const std::string>("0123456789");
  auto a = NewStringRandomAccessFile(bytes);
  auto b = NewStringRandomAccessFile(bytes);
  EXPECT_EQ(bytes.use_count(), 3);
  EXPECT_EQ(a->Size(), 10u);
  EXPECT_EQ(a->MappedData(), bytes->data());
  EXPECT_EQ(b->MappedData(), bytes->data());
  char scratch[16];
  CKPT_ASSERT_OK_AND_ASSIGN(std::string_view got, a->Read(3, 4, scratch));
  EXPECT_EQ(got, "3456");
  EXPECT_EQ(got.data(), bytes->data() + 3) << "a view, not a copy";
  CKPT_ASSERT_OK_AND_ASSIGN(got, a->Read(8, 16, scratch));
  EXPECT_EQ(got, "89");
  CKPT_ASSERT_OK_AND_ASSIGN(got, a->Read(10, 1, scratch));
  EXPECT_TRUE(got.empty());
  bytes.reset();
  CKPT_ASSERT_OK_AND_ASSIGN(got, b->Read(0, 2, scratch));
  EXPECT_EQ(got, "01");
}

// --- MemEnv crash semantics ------------------------------------------------

class MemEnvCrashTest : public ::testing::Test {
 protected:
  void SetUp() override { CKPT_ASSERT_OK(env_->CreateDirs("/d")); }
  std::unique_ptr<MemEnv> env_ = NewMemEnv();

  std::string ReadOr(const std::string& p) {
    auto r = ReadFileToString(env_.get(), p);
    return r.ok() ? *r : "<" + std::string(StatusCodeName(r.status().code())) + ">";
  }
};

TEST_F(MemEnvCrashTest, SyncedFileInSyncedDirSurvives) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto f, env_->NewWritableFile("/d/f"));
  CKPT_ASSERT_OK(f->Append("durable"));
  CKPT_ASSERT_OK(f->Sync());
  CKPT_ASSERT_OK(f->Close());
  CKPT_ASSERT_OK(env_->SyncDir("/d"));
  env_->DropUnsyncedData();
  EXPECT_EQ(ReadOr("/d/f"), "durable");
}

TEST_F(MemEnvCrashTest, UnsyncedTailIsDropped) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto f, env_->NewWritableFile("/d/f"));
  CKPT_ASSERT_OK(f->Append("synced|"));
  CKPT_ASSERT_OK(f->Sync());
  CKPT_ASSERT_OK(env_->SyncDir("/d"));
  CKPT_ASSERT_OK(f->Append("lost"));
  EXPECT_EQ(ReadOr("/d/f"), "synced|lost");
  env_->DropUnsyncedData();
  EXPECT_EQ(ReadOr("/d/f"), "synced|");
}

TEST_F(MemEnvCrashTest, NeverSyncedFileKeepsNoData) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto f, env_->NewWritableFile("/d/f"));
  CKPT_ASSERT_OK(f->Append("volatile"));
  CKPT_ASSERT_OK(f->Close());
  CKPT_ASSERT_OK(env_->SyncDir("/d"));
  env_->DropUnsyncedData();
  // The name was made durable, the data never was.
  EXPECT_EQ(ReadOr("/d/f"), "");
}

TEST_F(MemEnvCrashTest, FileInUnsyncedDirIsDropped) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto f, env_->NewWritableFile("/d/f"));
  CKPT_ASSERT_OK(f->Append("data"));
  CKPT_ASSERT_OK(f->Sync());
  CKPT_ASSERT_OK(f->Close());
  env_->DropUnsyncedData();
  EXPECT_FALSE(env_->FileExists("/d/f"));
  EXPECT_EQ(ReadOr("/d/f"), "<NOT_FOUND>");
}

TEST_F(MemEnvCrashTest, UnsyncedRenameIsUndone) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto f, env_->NewWritableFile("/d/tmp"));
  CKPT_ASSERT_OK(f->Append("v1"));
  CKPT_ASSERT_OK(f->Sync());
  CKPT_ASSERT_OK(f->Close());
  CKPT_ASSERT_OK(env_->SyncDir("/d"));
  CKPT_ASSERT_OK(env_->RenameFile("/d/tmp", "/d/final"));
  EXPECT_TRUE(env_->FileExists("/d/final"));
  env_->DropUnsyncedData();
  EXPECT_FALSE(env_->FileExists("/d/final"));
  EXPECT_EQ(ReadOr("/d/tmp"), "v1");
}

TEST_F(MemEnvCrashTest, SyncedRenameSurvives) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto f, env_->NewWritableFile("/d/tmp"));
  CKPT_ASSERT_OK(f->Append("v1"));
  CKPT_ASSERT_OK(f->Sync());
  CKPT_ASSERT_OK(f->Close());
  CKPT_ASSERT_OK(env_->RenameFile("/d/tmp", "/d/final"));
  CKPT_ASSERT_OK(env_->SyncDir("/d"));
  env_->DropUnsyncedData();
  EXPECT_FALSE(env_->FileExists("/d/tmp"));
  EXPECT_EQ(ReadOr("/d/final"), "v1");
}

TEST_F(MemEnvCrashTest, UnsyncedDeleteIsUndone) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto f, env_->NewWritableFile("/d/f"));
  CKPT_ASSERT_OK(f->Append("keep"));
  CKPT_ASSERT_OK(f->Sync());
  CKPT_ASSERT_OK(f->Close());
  CKPT_ASSERT_OK(env_->SyncDir("/d"));
  CKPT_ASSERT_OK(env_->DeleteFile("/d/f"));
  env_->DropUnsyncedData();
  EXPECT_EQ(ReadOr("/d/f"), "keep");
}

TEST_F(MemEnvCrashTest, SyncDirOnlyCoversThatDirectory) {
  CKPT_ASSERT_OK(env_->CreateDirs("/e"));
  for (const char* p : {"/d/f", "/e/g"}) {
    CKPT_ASSERT_OK_AND_ASSIGN(auto f, env_->NewWritableFile(p));
    CKPT_ASSERT_OK(f->Append("x"));
    CKPT_ASSERT_OK(f->Sync());
    CKPT_ASSERT_OK(f->Close());
  }
  CKPT_ASSERT_OK(env_->SyncDir("/d"));
  env_->DropUnsyncedData();
  EXPECT_TRUE(env_->FileExists("/d/f"));
  EXPECT_FALSE(env_->FileExists("/e/g"));
}

TEST_F(MemEnvCrashTest, AtomicWriteIsDurable) {
  CKPT_ASSERT_OK(WriteStringToFileAtomic(env_.get(), "/d/state", "committed"));
  env_->DropUnsyncedData();
  EXPECT_EQ(ReadOr("/d/state"), "committed");
  auto kids = env_->GetChildren("/d");
  ASSERT_TRUE(kids.ok());
  EXPECT_THAT(*kids, ElementsAre("state"));
}

TEST_F(MemEnvCrashTest, OpenReaderSeesSnapshot) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto w, env_->NewWritableFile("/d/f"));
  CKPT_ASSERT_OK(w->Append("abc"));
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, env_->NewRandomAccessFile("/d/f"));
  CKPT_ASSERT_OK(w->Append("def"));
  EXPECT_EQ(r->Size(), 3u);
  char buf[8];
  CKPT_ASSERT_OK_AND_ASSIGN(std::string_view got, r->Read(0, 8, buf));
  EXPECT_EQ(got, "abc");
}

}  // namespace
}  // namespace ckpt

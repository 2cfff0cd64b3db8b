#include "table/table.h"

#include <map>

#include "crc/crc32c.h"
#include "env/coding.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::StatusIs;
using ::ckpt::testing::TestDataPath;

std::string Hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    if (!out.empty()) out += ' ';
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

std::string Unhex(std::string_view h) {
  std::string out;
  int nib = -1;
  for (char c : h) {
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else continue;
    if (nib < 0) {
      nib = v;
    } else {
      out.push_back(static_cast<char>(nib * 16 + v));
      nib = -1;
    }
  }
  return out;
}

// --- An independent reader of the table layout (docs/format/table.md), used to check
// what TableWriter produced block by block. ---------------------------------

struct BlockHandle {
  uint64_t offset = 0, size = 0;
};

// Parses a block's entries; returns false if malformed.
bool ParseBlock(std::string_view block, std::vector<std::pair<std::string, std::string>>* out) {
  if (block.size() < 4) return false;
  uint32_t n = DecodeFixed32(block.data() + block.size() - 4);
  if (block.size() < 4 + 4 * size_t{n}) return false;
  std::string_view in = block.substr(0, block.size() - 4 - 4 * n);
  std::string key;
  while (!in.empty()) {
    uint64_t shared, non_shared, vlen;
    if (!GetVarint64(&in, &shared) || !GetVarint64(&in, &non_shared) || !GetVarint64(&in, &vlen)) {
      return false;
    }
    if (shared > key.size() || in.size() < non_shared + vlen) return false;
    key = key.substr(0, shared) + std::string(in.substr(0, non_shared));
    in.remove_prefix(non_shared);
    out->emplace_back(key, std::string(in.substr(0, vlen)));
    in.remove_prefix(vlen);
  }
  return true;
}

struct ParsedTable {
  std::vector<std::pair<std::string, std::string>> index;  // separator key -> handle
  std::vector<BlockHandle> blocks;
  std::vector<std::vector<std::pair<std::string, std::string>>> block_entries;
  BlockHandle metaindex, index_handle;
};

// Reads `file` as an uncompressed table, checking every block CRC.
void ParseTable(const std::string& file, ParsedTable* t) {
  ASSERT_GE(file.size(), 48u);
  std::string_view footer(file.data() + file.size() - 48, 48);
  EXPECT_EQ(Hex(footer.substr(40)), "57 fb 80 8b 24 75 47 db");
  std::string_view in = footer.substr(0, 40);
  ASSERT_TRUE(GetVarint64(&in, &t->metaindex.offset) && GetVarint64(&in, &t->metaindex.size) &&
              GetVarint64(&in, &t->index_handle.offset) && GetVarint64(&in, &t->index_handle.size));
  for (char c : in) ASSERT_EQ(c, 0) << "footer padding";
  auto read_block = [&](const BlockHandle& h, std::string* body) {
    ASSERT_LE(h.offset + h.size + 5, file.size());
    std::string_view raw(file.data() + h.offset, h.size + 1);
    ASSERT_EQ(raw.back(), 0) << "compressed block";
    uint32_t stored = DecodeFixed32(file.data() + h.offset + h.size + 1);
    ASSERT_EQ(crc32c::Unmask(stored), crc32c::Value(raw.data(), raw.size()));
    *body = std::string(raw.substr(0, h.size));
  };
  std::string meta, index;
  read_block(t->metaindex, &meta);
  EXPECT_EQ(Hex(meta), "00 00 00 00 01 00 00 00") << "metaindex must be empty";
  read_block(t->index_handle, &index);
  ASSERT_TRUE(ParseBlock(index, &t->index));
  uint64_t expect_offset = 0;
  for (const auto& [k, v] : t->index) {
    std::string_view hv = v;
    BlockHandle h;
    ASSERT_TRUE(GetVarint64(&hv, &h.offset) && GetVarint64(&hv, &h.size));
    EXPECT_EQ(h.offset, expect_offset) << "blocks are contiguous";
    expect_offset = h.offset + h.size + 5;
    t->blocks.push_back(h);
    std::string body;
    read_block(h, &body);
    t->block_entries.emplace_back();
    ASSERT_TRUE(ParseBlock(body, &t->block_entries.back()));
  }
  EXPECT_EQ(t->metaindex.offset, expect_offset);
}

// --- Fixture -------------------------------------------------------------------

class TableTest : public ::testing::Test {
 protected:
  void SetUp() override { CKPT_ASSERT_OK(env_->CreateDirs("/t")); }

  // Writes a table of `entries` and returns its bytes.
  std::string Build(const std::vector<std::pair<std::string, std::string>>& entries,
                    TableWriterOptions options = {}) {
    auto f = env_->NewWritableFile("/t/table");
    EXPECT_TRUE(f.ok());
    auto w = TableWriter::Create(f->get(), "/t/table", options);
    for (const auto& [k, v] : entries) {
      Status s = w->Add(k, v);
      EXPECT_TRUE(s.ok()) << s;
    }
    Status s = w->Finish();
    EXPECT_TRUE(s.ok()) << s;
    EXPECT_TRUE((*f)->Close().ok());
    return ReadFileToString(env_.get(), "/t/table").value();
  }

  Result<std::unique_ptr<TableReader>> Open(const std::string& bytes) {
    auto f = env_->NewWritableFile("/t/read");
    EXPECT_TRUE(f.ok());
    EXPECT_TRUE((*f)->Append(bytes).ok());
    EXPECT_TRUE((*f)->Close().ok());
    auto r = env_->NewRandomAccessFile("/t/read");
    if (!r.ok()) return r.status();
    return TableReader::Open(std::move(r).value(), "/t/read");
  }

  Result<std::vector<std::pair<std::string, std::string>>> ReadAll(const std::string& bytes) {
    CKPT_ASSIGN_OR_RETURN(auto reader, Open(bytes));
    std::vector<std::pair<std::string, std::string>> out;
    CKPT_RETURN_IF_ERROR(reader->ForEach([&](std::string_view k, std::string_view v) {
      out.emplace_back(std::string(k), std::string(v));
      return Status::OK();
    }));
    return out;
  }

  std::unique_ptr<MemEnv> env_ = NewMemEnv();
};

// The four entries of a small TensorFlow-written index (the golden file below).
std::vector<std::pair<std::string, std::string>> SpecEntries() {
  return {{"", Unhex("08 01 1a 02 08 01")},
          {"a", Unhex("08 01 12 00 28 04 35 06 38 27 1f")},
          {"b", Unhex("08 01 12 00 20 04 28 04 35 10 fd 78 4f")},
          {"c", Unhex("08 01 12 00 20 08 28 04 35 ef d6 82 c3")}};
}

TEST_F(TableTest, ReproducesSpecExampleByteForByte) {
  std::string bytes = Build(SpecEntries());
  // The TensorFlow-written file the spec walks through.
  auto golden = ReadFileToString(
      Env::Posix(), TestDataPath("java/tensorflow-core/tensorflow-core-api/src/test/resources/"
                                 "saved_model/variables/variables.index"));
  ASSERT_TRUE(golden.ok()) << golden.status();
  ASSERT_EQ(golden->size(), 151u);
  EXPECT_EQ(Hex(bytes), Hex(*golden));
  // And landmarks of that file.
  ASSERT_EQ(bytes.size(), 151u);
  EXPECT_EQ(Hex(bytes.substr(66, 5)), "00 e4 15 b6 bc");
  EXPECT_EQ(Hex(bytes.substr(71, 13)), "00 00 00 00 01 00 00 00 00 c0 f2 a1 b0");
  EXPECT_EQ(Hex(bytes.substr(84, 19)),
            "00 01 02 64 00 42 00 00 00 00 01 00 00 00 00 58 b2 e9 f7");
  EXPECT_EQ(Hex(bytes.substr(103, 4)), "47 08 54 0e");
  EXPECT_EQ(bytes.substr(107, 36), std::string(36, '\0'));
  EXPECT_EQ(Hex(bytes.substr(143)), "57 fb 80 8b 24 75 47 db");
}

TEST_F(TableTest, RoundTrip) {
  std::vector<std::pair<std::string, std::string>> entries;
  for (int i = 0; i < 1000; ++i) {
    char key[32];
    std::snprintf(key, sizeof(key), "key%06d", i);
    entries.emplace_back(key, std::string(i % 50, static_cast<char>('a' + i % 26)));
  }
  entries.insert(entries.begin(), {"", "header"});
  entries.emplace_back(std::string("zz\0\xff", 4), std::string("\0\0", 2));
  std::string bytes = Build(entries);
  CKPT_ASSERT_OK_AND_ASSIGN(auto got, ReadAll(bytes));
  EXPECT_EQ(got, entries);
}

TEST_F(TableTest, EmptyTable) {
  std::string bytes = Build({});
  // data block (empty) + metaindex + index + footer.
  ParsedTable t;
  ParseTable(bytes, &t);
  CKPT_ASSERT_OK_AND_ASSIGN(auto got, ReadAll(bytes));
  EXPECT_TRUE(got.empty());
}

TEST_F(TableTest, KeysMustIncrease) {
  auto f = env_->NewWritableFile("/t/x");
  ASSERT_TRUE(f.ok());
  auto w = TableWriter::Create(f->get(), "/t/x");
  CKPT_ASSERT_OK(w->Add("b", "1"));
  EXPECT_THAT(w->Add("a", "2"), StatusIs(StatusCode::kInvalidArgument, "increasing order"));
  EXPECT_THAT(w->Add("b", "3"), StatusIs(StatusCode::kInvalidArgument, "increasing order"));
  // Unsigned bytewise order: 0xff sorts after 'z'.
  CKPT_ASSERT_OK(w->Add("z", "4"));
  CKPT_ASSERT_OK(w->Add("\xff", "5"));
  EXPECT_THAT(w->Add("\x7f", "6"), StatusIs(StatusCode::kInvalidArgument, ""));
  CKPT_ASSERT_OK(w->Finish());
  CKPT_ASSERT_OK((*f)->Close());
  CKPT_ASSERT_OK_AND_ASSIGN(auto got, ReadAll(ReadFileToString(env_.get(), "/t/x").value()));
  std::vector<std::pair<std::string, std::string>> want = {{"b", "1"}, {"z", "4"}, {"\xff", "5"}};
  EXPECT_EQ(got, want);
}

TEST_F(TableTest, ManyBlocksWithShortSeparators) {
  TableWriterOptions opt;
  opt.block_size = 1024;
  std::vector<std::pair<std::string, std::string>> entries;
  for (int i = 0; i < 500; ++i) {
    char key[32];
    std::snprintf(key, sizeof(key), "k%05d", i);
    entries.emplace_back(key, std::string(100, static_cast<char>(i)));
  }
  std::string bytes = Build(entries, opt);
  ParsedTable t;
  ParseTable(bytes, &t);
  ASSERT_GT(t.blocks.size(), 20u);
  std::vector<std::pair<std::string, std::string>> flat;
  for (size_t b = 0; b < t.blocks.size(); ++b) {
    const auto& be = t.block_entries[b];
    ASSERT_FALSE(be.empty());
    // Each index key separates this block from the next: >= last key here,
    // < first key of the next block.
    EXPECT_GE(t.index[b].first, be.back().first);
    if (b + 1 < t.blocks.size()) EXPECT_LT(t.index[b].first, t.block_entries[b + 1].front().first);
    // A block is flushed once it reaches block_size (estimate incl. restarts).
    EXPECT_LT(t.blocks[b].size, 1024u + 200);
    flat.insert(flat.end(), be.begin(), be.end());
  }
  EXPECT_EQ(flat, entries);
  CKPT_ASSERT_OK_AND_ASSIGN(auto got, ReadAll(bytes));
  EXPECT_EQ(got, entries);
}

TEST_F(TableTest, LargeValuesSpanningBlocks) {
  // Values larger than the (default 256 KiB) block size.
  std::vector<std::pair<std::string, std::string>> entries;
  for (int i = 0; i < 4; ++i) {
    std::string v(300000 + i * 1000, '\0');
    for (size_t j = 0; j < v.size(); ++j) v[j] = static_cast<char>(j * (i + 3));
    entries.emplace_back(std::string(1, static_cast<char>('a' + i)), v);
  }
  std::string bytes = Build(entries);
  ParsedTable t;
  ParseTable(bytes, &t);
  EXPECT_EQ(t.blocks.size(), 4u);
  CKPT_ASSERT_OK_AND_ASSIGN(auto got, ReadAll(bytes));
  EXPECT_EQ(got, entries);
}

TEST_F(TableTest, OverlyLargeEntryStartsANewBlock) {
  // TensorFlow's rule (docs/format/table.md): before adding an entry with
  // key+value >= 2*block_size to a table that already has entries, the current
  // block is flushed.
  TableWriterOptions opt;
  opt.block_size = 100;
  const std::string big(199, 'v');  // key "b" + 199 = 200 = 2 * block_size
  std::string bytes = Build({{"a", "1"}, {"b", big}, {"c", "3"}}, opt);
  ParsedTable t;
  ParseTable(bytes, &t);
  ASSERT_EQ(t.blocks.size(), 3u);
  ASSERT_EQ(t.block_entries[0].size(), 1u);
  EXPECT_EQ(t.block_entries[0][0].first, "a");
  ASSERT_EQ(t.block_entries[1].size(), 1u);
  EXPECT_EQ(t.block_entries[1][0].first, "b");
  EXPECT_EQ(t.block_entries[2][0].first, "c");
}

TEST_F(TableTest, EntryJustBelowTheLimitSharesTheBlock) {
  TableWriterOptions opt;
  opt.block_size = 100;
  const std::string big(198, 'v');  // 1 + 198 = 199 < 200: no early flush
  std::string bytes = Build({{"a", "1"}, {"b", big}, {"c", "3"}}, opt);
  ParsedTable t;
  ParseTable(bytes, &t);
  ASSERT_EQ(t.blocks.size(), 2u);
  ASSERT_EQ(t.block_entries[0].size(), 2u);
  EXPECT_EQ(t.block_entries[0][0].first, "a");
  EXPECT_EQ(t.block_entries[0][1].first, "b");
  EXPECT_EQ(t.block_entries[1][0].first, "c");
}

TEST_F(TableTest, OverlyLargeFirstEntryDoesNotFlushAnEmptyBlock) {
  TableWriterOptions opt;
  opt.block_size = 100;
  std::string bytes = Build({{"a", std::string(500, 'x')}, {"b", std::string(500, 'y')}}, opt);
  ParsedTable t;
  ParseTable(bytes, &t);
  ASSERT_EQ(t.blocks.size(), 2u);
  for (const auto& be : t.block_entries) EXPECT_EQ(be.size(), 1u);
}

TEST_F(TableTest, RestartInterval) {
  // Sixteen entries share prefixes, then a restart point.
  std::vector<std::pair<std::string, std::string>> entries;
  for (int i = 0; i < 40; ++i) entries.emplace_back("prefix/" + std::to_string(100 + i), "v");
  std::string bytes = Build(entries);
  ParsedTable t;
  ParseTable(bytes, &t);
  ASSERT_EQ(t.blocks.size(), 1u);
  std::string_view block(bytes.data() + t.blocks[0].offset, t.blocks[0].size);
  uint32_t restarts = DecodeFixed32(block.data() + block.size() - 4);
  EXPECT_EQ(restarts, 3u);  // entries 0, 16, 32
}

TEST_F(TableTest, SnappyTablesAreReadable) {
  TableWriterOptions opt;
  opt.snappy = true;
  std::vector<std::pair<std::string, std::string>> entries;
  for (int i = 0; i < 100; ++i) {
    entries.emplace_back("key" + std::to_string(1000 + i), std::string(200, 'r'));
  }
  std::string bytes = Build(entries, opt);
  std::string plain = Build(entries);
  EXPECT_LT(bytes.size(), plain.size());
  CKPT_ASSERT_OK_AND_ASSIGN(auto got, ReadAll(bytes));
  EXPECT_EQ(got, entries);
}

TEST_F(TableTest, ReadsTensorFlowSnappyIndex) {
  // README A4: Snappy-compressed data block; 6 entries incl. the header.
  auto golden = ReadFileToString(
      Env::Posix(), TestDataPath("serving/tensorflow_serving/servables/tensorflow/testdata/"
                                 "saved_model_half_plus_two_cpu/00000123/variables/"
                                 "variables.index"));
  ASSERT_TRUE(golden.ok()) << golden.status();
  EXPECT_EQ(golden->size(), 172u);
  CKPT_ASSERT_OK_AND_ASSIGN(auto got, ReadAll(*golden));
  std::vector<std::string> keys;
  for (const auto& [k, v] : got) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"", "a", "a2", "b", "c", "c2"}));
  EXPECT_EQ(Hex(got[0].second), "08 01 1a 02 08 01");
}

TEST_F(TableTest, ForEachStopsAtCallbackError) {
  std::string bytes = Build(SpecEntries());
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, Open(bytes));
  int calls = 0;
  Status s = reader->ForEach([&](std::string_view k, std::string_view) -> Status {
    ++calls;
    if (k == "a") return NotFoundError("stop here");
    return Status::OK();
  });
  EXPECT_THAT(s, StatusIs(StatusCode::kNotFound, "stop here"));
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(reader->path(), "/t/read");
}

TEST_F(TableTest, CorruptTablesAreDataLoss) {
  const std::string good = Build(SpecEntries());
  EXPECT_THAT(ReadAll(""), StatusIs(StatusCode::kDataLoss, "too short"));
  EXPECT_THAT(ReadAll(std::string(47, 'x')), StatusIs(StatusCode::kDataLoss, "too short"));
  EXPECT_THAT(ReadAll(std::string(200, '\0')), StatusIs(StatusCode::kDataLoss, "magic"));
  std::string bad_magic = good;
  bad_magic[150] ^= 1;
  EXPECT_THAT(ReadAll(bad_magic), StatusIs(StatusCode::kDataLoss, "magic"));
  std::string bad_data = good;
  bad_data[20] ^= 0x10;  // inside the data block
  EXPECT_THAT(ReadAll(bad_data), StatusIs(StatusCode::kDataLoss, "checksum"));
  std::string bad_index = good;
  bad_index[88] ^= 0x01;  // index block handle
  EXPECT_THAT(ReadAll(bad_index), StatusIs(StatusCode::kDataLoss, ""));
  std::string bad_footer = good;
  bad_footer[105] = '\x7f';  // index handle offset
  EXPECT_THAT(ReadAll(bad_footer), StatusIs(StatusCode::kDataLoss, ""));
  // Every truncation fails cleanly.
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(ReadAll(good.substr(0, n)).ok()) << n;
  }
}

TEST_F(TableTest, EveryByteFlipIsDetectedOrHarmless) {
  const std::string good = Build(SpecEntries());
  const auto want = SpecEntries();
  for (size_t i = 0; i < good.size(); ++i) {
    for (uint8_t mask : {0x01, 0x80, 0xff}) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      auto got = ReadAll(bad);
      // Unused footer padding may change freely; anything else must be
      // detected or leave the entries intact.
      if (got.ok()) {
        EXPECT_EQ(*got, want) << "flip at " << i;
      } else {
        EXPECT_EQ(got.status().code(), StatusCode::kDataLoss) << i << ": " << got.status();
      }
    }
  }
}

// A file whose Append fails after `ok_appends` calls.
class FailingFile : public WritableFile {
 public:
  explicit FailingFile(int ok_appends) : left_(ok_appends) {}
  Status Append(std::string_view d) override {
    if (left_-- <= 0) return IoError("disk on fire");
    size_ += d.size();
    return Status::OK();
  }
  Status Flush() override { return Status::OK(); }
  Status Sync() override { return Status::OK(); }
  Status Close() override { return Status::OK(); }
  uint64_t Tell() const override { return size_; }

 private:
  int left_;
  uint64_t size_ = 0;
};

TEST(TableWriterErrorTest, WriteErrorsPropagate) {
  for (int ok_appends = 0; ok_appends < 8; ++ok_appends) {
    FailingFile f(ok_appends);
    TableWriterOptions opt;
    opt.block_size = 64;
    auto w = TableWriter::Create(&f, "x", opt);
    Status s;
    for (int i = 0; i < 20 && s.ok(); ++i) s = w->Add("k" + std::to_string(100 + i), std::string(30, 'v'));
    if (s.ok()) s = w->Finish();
    EXPECT_THAT(s, StatusIs(StatusCode::kIoError, "disk on fire")) << ok_appends;
  }
}

}  // namespace
}  // namespace ckpt

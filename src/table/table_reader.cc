// TableReader: leveldb::Table over a ckpt RandomAccessFile.
//
// LevelDB allocates a buffer of the size a block handle claims before it
// reads the block, so handles from an untrusted file are checked first: the
// footer's two handles, then (after verifying its checksum) every data-block
// handle in the index block must lie inside the file.
#include <leveldb/comparator.h>
#include <leveldb/env.h>
#include <leveldb/iterator.h>
#include <leveldb/options.h>
#include <leveldb/table.h>


#include "crc/crc32c.h"
#include "env/coding.h"
#include "table/table.h"

namespace ckpt {
namespace {

constexpr size_t kFooterSize = 48;
constexpr size_t kBlockTrailerSize = 5;
constexpr uint64_t kTableMagic = 0xdb4775248b80fb57ull;

class LevelDbRandomAccessAdapter : public leveldb::RandomAccessFile {
 public:
  explicit LevelDbRandomAccessAdapter(std::unique_ptr<ckpt::RandomAccessFile> file)
      : file_(std::move(file)) {}
  leveldb::Status Read(uint64_t offset, size_t n, leveldb::Slice* result,
                       char* scratch) const override {
    if (offset > file_->Size() || n > file_->Size() - offset) {
      return leveldb::Status::Corruption("block extends past the end of the file");
    }
    auto got = file_->Read(offset, n, scratch);
    if (!got.ok()) return leveldb::Status::IOError(got.status().message());
    *result = leveldb::Slice(got->data(), got->size());
    return leveldb::Status::OK();
  }
  ckpt::RandomAccessFile* file() const { return file_.get(); }

 private:
  std::unique_ptr<ckpt::RandomAccessFile> file_;
};

struct Handle {
  uint64_t offset = 0;
  uint64_t size = 0;
};

bool DecodeHandle(std::string_view* in, Handle* h) {
  return GetVarint64(in, &h->offset) && GetVarint64(in, &h->size);
}

bool HandleFits(const Handle& h, uint64_t limit) {
  return h.offset <= limit && h.size <= limit - h.offset &&
         kBlockTrailerSize <= limit - h.offset - h.size;
}

}  // namespace

struct TableReader::Impl {
  std::string path;
  std::unique_ptr<LevelDbRandomAccessAdapter> file;
  std::unique_ptr<leveldb::Table> table;

  Status Corrupt(const std::string& what) const {
    return DataLossError("Table file '" + path + "' is corrupt: " + what);
  }

  // Checks the footer and every block handle before LevelDB trusts them.
  Status Validate() const {
    ckpt::RandomAccessFile* f = file->file();
    const uint64_t size = f->Size();
    if (size < kFooterSize) {
      return Corrupt("file is too short to be a table (" + std::to_string(size) +
                     " bytes, a footer alone is 48)");
    }
    char footer_buf[kFooterSize];
    CKPT_ASSIGN_OR_RETURN(std::string_view footer,
                          f->Read(size - kFooterSize, kFooterSize, footer_buf));
    if (footer.size() != kFooterSize) return Corrupt("short read of the footer");
    uint64_t magic = static_cast<uint64_t>(DecodeFixed32(footer.data() + 40)) |
                     (static_cast<uint64_t>(DecodeFixed32(footer.data() + 44)) << 32);
    if (magic != kTableMagic) return Corrupt("not an sstable (bad magic number)");
    Handle metaindex, index;
    std::string_view in = footer.substr(0, 40);
    if (!DecodeHandle(&in, &metaindex) || !DecodeHandle(&in, &index)) {
      return Corrupt("bad block handle in the footer");
    }
    const uint64_t limit = size - kFooterSize;
    if (!HandleFits(metaindex, limit) || !HandleFits(index, limit)) {
      return Corrupt("footer points past the end of the file (index block at offset " +
                     std::to_string(index.offset) + ", size " + std::to_string(index.size) +
                     "; file size " + std::to_string(size) + ")");
    }
    // Read and verify the index block, then check the handles it holds.
    std::string block(index.size + kBlockTrailerSize, '\0');
    CKPT_ASSIGN_OR_RETURN(std::string_view got,
                          f->Read(index.offset, block.size(), block.data()));
    if (got.size() != block.size()) return Corrupt("short read of the index block");
    uint32_t stored = crc32c::Unmask(DecodeFixed32(got.data() + index.size + 1));
    uint32_t actual = crc32c::Value(got.data(), index.size + 1);
    if (stored != actual) return Corrupt("block checksum mismatch in the index block");
    if (got[index.size] != 0) return Status::OK();  // compressed index: LevelDB checks it
    std::string_view body = got.substr(0, index.size);
    if (body.size() < 4) return Corrupt("index block too short");
    uint32_t num_restarts = DecodeFixed32(body.data() + body.size() - 4);
    if (num_restarts > (body.size() - 4) / 4) return Corrupt("bad restart count in index block");
    std::string_view entries = body.substr(0, body.size() - 4 - 4 * size_t{num_restarts});
    while (!entries.empty()) {
      uint64_t shared, non_shared, value_len;
      if (!GetVarint64(&entries, &shared) || !GetVarint64(&entries, &non_shared) ||
          !GetVarint64(&entries, &value_len) || non_shared > entries.size() ||
          value_len > entries.size() - non_shared) {
        return Corrupt("bad entry in index block");
      }
      entries.remove_prefix(non_shared);
      std::string_view value = entries.substr(0, value_len);
      entries.remove_prefix(value_len);
      Handle h;
      if (!DecodeHandle(&value, &h) || !HandleFits(h, limit)) {
        return Corrupt("index block points past the end of the file (block at offset " +
                       std::to_string(h.offset) + ", size " + std::to_string(h.size) +
                       "; file size " + std::to_string(size) + ")");
      }
    }
    return Status::OK();
  }
};

Result<std::unique_ptr<TableReader>> TableReader::Open(std::unique_ptr<RandomAccessFile> file,
                                                       std::string path) {
  auto impl = std::make_unique<Impl>();
  impl->path = std::move(path);
  const uint64_t size = file->Size();
  impl->file = std::make_unique<LevelDbRandomAccessAdapter>(std::move(file));
  CKPT_RETURN_IF_ERROR(impl->Validate());
  leveldb::Options options;
  options.comparator = leveldb::BytewiseComparator();
  options.paranoid_checks = true;
  leveldb::Table* table = nullptr;
  leveldb::Status s = leveldb::Table::Open(options, impl->file.get(), size, &table);
  if (!s.ok()) return impl->Corrupt(s.ToString());
  impl->table.reset(table);
  return std::unique_ptr<TableReader>(new TableReader(std::move(impl)));
}

TableReader::TableReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TableReader::~TableReader() = default;

const std::string& TableReader::path() const { return impl_->path; }

Status TableReader::ForEach(
    const std::function<Status(std::string_view, std::string_view)>& fn) const {
  leveldb::ReadOptions ro;
  ro.verify_checksums = true;
  ro.fill_cache = false;
  std::unique_ptr<leveldb::Iterator> it(impl_->table->NewIterator(ro));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    leveldb::Slice k = it->key(), v = it->value();
    CKPT_RETURN_IF_ERROR(fn(std::string_view(k.data(), k.size()),
                            std::string_view(v.data(), v.size())));
  }
  if (!it->status().ok()) {
    if (it->status().IsIOError()) {
      return IoError("Reading table '" + impl_->path + "': " + it->status().ToString());
    }
    return impl_->Corrupt(it->status().ToString());
  }
  return Status::OK();
}

}  // namespace ckpt

// TableWriter: leveldb::TableBuilder over a ckpt WritableFile, configured as
// TensorFlow configures its table writer (256 KiB blocks, restart interval
// 16, no compression, no filter), plus TensorFlow's one extra rule: an entry
// of at least twice the block size starts a new data block.
#include <leveldb/comparator.h>
#include <leveldb/env.h>
#include <leveldb/options.h>
#include <leveldb/table_builder.h>

#include "table/table.h"

namespace ckpt {
namespace {

class LevelDbWritableAdapter : public leveldb::WritableFile {
 public:
  explicit LevelDbWritableAdapter(ckpt::WritableFile* file) : file_(file) {}
  leveldb::Status Append(const leveldb::Slice& data) override {
    return Convert(file_->Append(std::string_view(data.data(), data.size())));
  }
  leveldb::Status Close() override { return leveldb::Status::OK(); }
  leveldb::Status Flush() override { return Convert(file_->Flush()); }
  leveldb::Status Sync() override { return Convert(file_->Sync()); }
  const Status& last_error() const { return last_error_; }

 private:
  leveldb::Status Convert(const Status& s) {
    if (s.ok()) return leveldb::Status::OK();
    last_error_ = s;
    return leveldb::Status::IOError(s.message());
  }
  ckpt::WritableFile* file_;
  Status last_error_;
};

}  // namespace

struct TableWriter::Impl {
  std::string path;
  TableWriterOptions options;
  LevelDbWritableAdapter adapter;
  leveldb::Options ldb_options;
  std::unique_ptr<leveldb::TableBuilder> builder;
  std::string last_key;
  bool has_entries = false;

  Impl(WritableFile* file, std::string p, TableWriterOptions o)
      : path(std::move(p)), options(o), adapter(file) {
    ldb_options.block_size = options.block_size;
    ldb_options.block_restart_interval = options.block_restart_interval;
    ldb_options.compression =
        options.snappy ? leveldb::kSnappyCompression : leveldb::kNoCompression;
    ldb_options.comparator = leveldb::BytewiseComparator();
    ldb_options.filter_policy = nullptr;
    builder = std::make_unique<leveldb::TableBuilder>(ldb_options, &adapter);
  }

  Status Check() {
    leveldb::Status s = builder->status();
    if (s.ok()) return Status::OK();
    if (!adapter.last_error().ok()) return adapter.last_error();
    return IoError("Writing table '" + path + "' failed: " + s.ToString());
  }
};

std::unique_ptr<TableWriter> TableWriter::Create(WritableFile* file, std::string path,
                                                 TableWriterOptions options) {
  return std::unique_ptr<TableWriter>(
      new TableWriter(std::make_unique<Impl>(file, std::move(path), options)));
}

TableWriter::TableWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TableWriter::~TableWriter() {
  if (impl_->builder) impl_->builder->Abandon();
}

Status TableWriter::Add(std::string_view key, std::string_view value) {
  Impl& r = *impl_;
  if (r.has_entries && key <= std::string_view(r.last_key)) {
    return InvalidArgumentError("Table keys must be added in increasing order; got \"" +
                                std::string(key) + "\" after \"" + r.last_key + "\"");
  }
  if (r.has_entries && key.size() + value.size() >= 2 * r.options.block_size) {
    r.builder->Flush();
  }
  r.builder->Add(leveldb::Slice(key.data(), key.size()),
                 leveldb::Slice(value.data(), value.size()));
  r.last_key.assign(key.data(), key.size());
  r.has_entries = true;
  return r.Check();
}

Status TableWriter::Finish() {
  leveldb::Status s = impl_->builder->Finish();
  Status st = impl_->Check();
  impl_->builder.reset();
  return st;
}

}  // namespace ckpt

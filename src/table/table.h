// The sorted string table used by `.index` files and V1 checkpoints: LevelDB's
// table format (TensorFlow's table format is LevelDB's, without filter
// blocks). Writing and reading go through LevelDB's table API; this module
// adapts it to ckpt's Env and Status, applies TensorFlow's writer options and
// validates untrusted files before LevelDB sees them.
//
// Thread safety: a TableWriter is used from one thread; TableReader's const
// methods may be called concurrently.
#ifndef CKPT_SRC_TABLE_TABLE_H_
#define CKPT_SRC_TABLE_TABLE_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "ckpt/env.h"
#include "ckpt/status.h"

namespace ckpt {

struct TableWriterOptions {
  // TensorFlow's values for checkpoint tables.
  size_t block_size = 262144;
  int block_restart_interval = 16;
  bool snappy = false;  // checkpoint writers never compress
};

class TableWriter {
 public:
  // Writes to `file`, which the caller owns and must keep open until Finish.
  static std::unique_ptr<TableWriter> Create(WritableFile* file, std::string path,
                                             TableWriterOptions options = {});
  ~TableWriter();

  // REQUIRES: keys strictly increasing (bytewise); InvalidArgument otherwise.
  Status Add(std::string_view key, std::string_view value);
  // Writes the index block and footer. Does not sync or close the file.
  Status Finish();

 private:
  struct Impl;
  explicit TableWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class TableReader {
 public:
  // Validates the footer and the block handles against the file size, so a
  // corrupt or lying file yields DataLoss and never a large allocation.
  static Result<std::unique_ptr<TableReader>> Open(std::unique_ptr<RandomAccessFile> file,
                                                   std::string path);
  ~TableReader();

  // Calls fn for every entry in key order, verifying block checksums; stops
  // at the first error fn returns.
  Status ForEach(const std::function<Status(std::string_view key,
                                            std::string_view value)>& fn) const;

  const std::string& path() const;

 private:
  struct Impl;
  explicit TableReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ckpt

#endif  // CKPT_SRC_TABLE_TABLE_H_

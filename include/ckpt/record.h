// TFRecord files: the framing of TensorBoard event files (and tf.data's
// TFRecordDataset), uncompressed.
//
// Every record is
//   uint64 LE  length of the payload
//   uint32 LE  masked CRC-32C of the 8 length bytes
//   bytes      payload
//   uint32 LE  masked CRC-32C of the payload
// with TensorFlow's CRC mask (see src/crc/crc32c.h).
//
// RecordWriter appends records to a WritableFile the caller owns.
// RecordReader reads them back through an Env. In strict mode (the default)
// anything but a whole number of valid records is DataLoss; in follow mode a
// truncated last record (a file still being written) is "no more yet": the
// read returns false, keeps its offset and, when called again, re-opens the
// file to see what was appended since. Corruption inside a complete record
// is DataLoss in both modes; every DataLoss names the file and the offset of
// the bad record.
//
// Thread safety: neither class is thread-safe; use each object from one
// thread at a time. Different readers of one file are independent.
#ifndef CKPT_RECORD_H_
#define CKPT_RECORD_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ckpt/env.h"
#include "ckpt/status.h"

namespace ckpt {

inline constexpr size_t kRecordHeaderSize = 12;  // length + length CRC
inline constexpr size_t kRecordFooterSize = 4;   // payload CRC

// The framed bytes of one record holding `payload`.
std::string EncodeRecord(std::string_view payload);

class RecordWriter {
 public:
  // `file` is not owned and must outlive the writer. `path` only names the
  // file in error messages.
  RecordWriter(WritableFile* file, std::string path);

  // Appends one framed record. After an error the file's tail is unknown;
  // further writes fail with the same error.
  Status WriteRecord(std::string_view payload);
  // Forwards to the file.
  Status Flush();
  Status Sync();

  // Bytes of records written by this writer.
  uint64_t bytes_written() const { return bytes_written_; }

 private:
  WritableFile* file_;
  std::string path_;
  Status status_;
  uint64_t bytes_written_ = 0;
};

class RecordReader {
 public:
  enum class Mode {
    kStrict,  // a truncated tail is DataLoss
    kFollow,  // a truncated tail is "no more yet"; the file may grow
  };
  struct Options {
    Mode mode = Mode::kStrict;
    // Start reading at this offset (the start of a record), e.g. one
    // returned by offset() earlier.
    uint64_t start_offset = 0;
  };

  // Opens `path` through `env` (not owned; must outlive the reader).
  // NotFound if the file does not exist.
  static Result<std::unique_ptr<RecordReader>> Open(Env* env, const std::string& path,
                                                    Options options);
  static Result<std::unique_ptr<RecordReader>> Open(Env* env, const std::string& path) {
    return Open(env, path, Options());
  }

  // Reads the next record into *record and returns true; returns false at
  // the end of the file (strict: the file ends exactly after a record;
  // follow: no complete record is available yet). DataLoss for a corrupt
  // record (either mode) or a truncated one (strict mode), and then the
  // offset stays at the bad record.
  Result<bool> ReadRecord(std::string* record);

  // Offset of the next record to read.
  uint64_t offset() const { return offset_; }
  const std::string& path() const { return path_; }

 private:
  RecordReader(Env* env, std::string path, Options options);
  // Re-opens the file to see bytes appended since it was opened.
  Status Reopen();
  Status Corrupt(uint64_t at, const std::string& what) const;

  Env* env_;
  std::string path_;
  Options options_;
  std::unique_ptr<RandomAccessFile> file_;
  uint64_t size_ = 0;
  uint64_t offset_ = 0;
  std::string scratch_;
};

}  // namespace ckpt

#endif  // CKPT_RECORD_H_

// TFRecord framing: writer and (strict or following) reader.
#include "ckpt/record.h"

#include <cstring>
#include <utility>

#include "crc/crc32c.h"
#include "env/coding.h"

namespace ckpt {

std::string EncodeRecord(std::string_view payload) {
  std::string out(kRecordHeaderSize + payload.size() + kRecordFooterSize, '\0');
  EncodeFixed64(out.data(), payload.size());
  EncodeFixed32(out.data() + 8, crc32c::Mask(crc32c::Value(out.data(), 8)));
  if (!payload.empty()) std::memcpy(out.data() + kRecordHeaderSize, payload.data(), payload.size());
  EncodeFixed32(out.data() + kRecordHeaderSize + payload.size(),
                crc32c::Mask(crc32c::Value(payload)));
  return out;
}

// ---------------------------------------------------------------------------

RecordWriter::RecordWriter(WritableFile* file, std::string path)
    : file_(file), path_(std::move(path)) {}

Status RecordWriter::WriteRecord(std::string_view payload) {
  if (!status_.ok()) return status_;
  std::string framed = EncodeRecord(payload);
  Status s = file_->Append(framed);
  if (!s.ok()) {
    status_ = s.WithContext("writing record at offset " + std::to_string(bytes_written_) +
                            " of " + path_);
    return status_;
  }
  bytes_written_ += framed.size();
  return Status::OK();
}

Status RecordWriter::Flush() {
  if (!status_.ok()) return status_;
  Status s = file_->Flush();
  if (!s.ok()) status_ = s.WithContext("flushing " + path_);
  return status_;
}

Status RecordWriter::Sync() {
  if (!status_.ok()) return status_;
  Status s = file_->Sync();
  if (!s.ok()) status_ = s.WithContext("syncing " + path_);
  return status_;
}

// ---------------------------------------------------------------------------

RecordReader::RecordReader(Env* env, std::string path, Options options)
    : env_(env), path_(std::move(path)), options_(options), offset_(options.start_offset) {}

Result<std::unique_ptr<RecordReader>> RecordReader::Open(Env* env, const std::string& path,
                                                         Options options) {
  std::unique_ptr<RecordReader> reader(new RecordReader(env, path, options));
  CKPT_RETURN_IF_ERROR(reader->Reopen());
  return reader;
}

Status RecordReader::Reopen() {
  auto file = env_->NewRandomAccessFile(path_);
  if (!file.ok()) return file.status();
  file_ = std::move(file).value();
  size_ = file_->Size();
  return Status::OK();
}

Status RecordReader::Corrupt(uint64_t at, const std::string& what) const {
  return DataLossError("corrupted record at offset " + std::to_string(at) + " in '" + path_ +
                       "': " + what);
}

Result<bool> RecordReader::ReadRecord(std::string* record) {
  const bool follow = options_.mode == Mode::kFollow;
  // Header.
  if (size_ < offset_ + kRecordHeaderSize && follow) CKPT_RETURN_IF_ERROR(Reopen());
  if (size_ <= offset_) {
    if (size_ < offset_) {
      return OutOfRangeError("offset " + std::to_string(offset_) + " is past the end of '" +
                             path_ + "' (" + std::to_string(size_) + " bytes)");
    }
    return false;
  }
  if (size_ - offset_ < kRecordHeaderSize) {
    if (follow) return false;
    return DataLossError("truncated record at offset " + std::to_string(offset_) + " in '" +
                         path_ + "': " + std::to_string(size_ - offset_) +
                         " bytes of a 12-byte header");
  }
  char header[kRecordHeaderSize];
  CKPT_ASSIGN_OR_RETURN(std::string_view h, file_->Read(offset_, kRecordHeaderSize, header));
  if (h.size() != kRecordHeaderSize) {
    return DataLossError("short read at offset " + std::to_string(offset_) + " in '" + path_ +
                         "'");
  }
  const uint64_t length = DecodeFixed64(h.data());
  if (crc32c::Unmask(DecodeFixed32(h.data() + 8)) != crc32c::Value(h.data(), 8)) {
    return Corrupt(offset_, "length checksum mismatch");
  }
  // Payload and footer. (Compare without overflow: length may be huge.)
  auto available = [&] { return size_ - offset_ - kRecordHeaderSize; };
  if (available() < kRecordFooterSize || available() - kRecordFooterSize < length) {
    if (follow) {
      CKPT_RETURN_IF_ERROR(Reopen());
      if (size_ < offset_ + kRecordHeaderSize || available() < kRecordFooterSize ||
          available() - kRecordFooterSize < length) {
        return false;
      }
    } else {
      return DataLossError("truncated record at offset " + std::to_string(offset_) + " in '" +
                           path_ + "': needs " + std::to_string(length) +
                           " payload bytes + 4 checksum bytes, " + std::to_string(available()) +
                           " remain");
    }
  }
  const size_t n = static_cast<size_t>(length) + kRecordFooterSize;
  if (scratch_.size() < n) scratch_.resize(n);
  CKPT_ASSIGN_OR_RETURN(std::string_view body,
                        file_->Read(offset_ + kRecordHeaderSize, n, scratch_.data()));
  if (body.size() != n) {
    return DataLossError("short read at offset " + std::to_string(offset_) + " in '" + path_ +
                         "'");
  }
  const uint32_t expected = crc32c::Unmask(DecodeFixed32(body.data() + length));
  if (expected != crc32c::Value(body.data(), static_cast<size_t>(length))) {
    return Corrupt(offset_, "payload checksum mismatch (" + std::to_string(length) + " bytes)");
  }
  record->assign(body.data(), static_cast<size_t>(length));
  offset_ += kRecordHeaderSize + n;
  return true;
}

}  // namespace ckpt

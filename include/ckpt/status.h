// Status and Result<T>: how every ckpt operation reports success or failure.
//
// ckpt never throws across its public API and never aborts on caller input.
// Each error code has one meaning:
//   kInvalidArgument     the caller asked for something wrong (bad shape, bad name)
//   kNotFound            a file or a key does not exist
//   kPermissionDenied    a file exists but the OS refuses access (EACCES, EPERM)
//   kDataLoss            stored bytes are corrupt (checksum, size, truncation)
//   kFailedPrecondition  the object is in the wrong state for the call
//   kOutOfRange          read past the end of the input
//   kAlreadyExists       the target exists and would be overwritten
//   kUnimplemented       a valid request ckpt does not support
//   kResourceExhausted   a limit was hit (memory, disk)
//   kInternal            a bug in ckpt
//   kIoError             an error from the operating system (the message carries errno text)
//   kDeadlineExceeded    another process did not answer in time (a collective of
//                        ckpt/communicator.h: a rank died, hangs or called something else)
//   kAborted             the operation was abandoned because another process failed it
//                        (the message names that process and its error)
//
// Thread safety: Status and Result are values; const access is thread-safe.
#ifndef CKPT_STATUS_H_
#define CKPT_STATUS_H_

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace ckpt {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kDataLoss = 15,
  kIoError = 100,  // the operating system refused (message carries errno text)
};

// Name of a code as TensorFlow spells it, e.g. "INVALID_ARGUMENT".
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message);

  static Status OK() { return Status(); }

  bool ok() const { return rep_ == nullptr; }
  StatusCode code() const { return rep_ ? rep_->code : StatusCode::kOk; }
  // Empty for OK; never empty for an error.
  const std::string& message() const;

  // "OK" or "<CODE_NAME>: <message>".
  std::string ToString() const;

  // Returns a copy whose message is `context` + ": " + message (errors only).
  Status WithContext(std::string_view context) const;

  // Explicitly ignores the status (for best-effort cleanup paths).
  void IgnoreError() const {}

  friend bool operator==(const Status& a, const Status& b) {
    return a.code() == b.code() && a.message() == b.message();
  }

 private:
  struct Rep {
    StatusCode code;
    std::string message;
  };
  std::shared_ptr<const Rep> rep_;
};

std::ostream& operator<<(std::ostream& os, const Status& s);

// Factories, one per code.
Status InvalidArgumentError(std::string message);
Status NotFoundError(std::string message);
Status AlreadyExistsError(std::string message);
Status PermissionDeniedError(std::string message);
Status DataLossError(std::string message);
Status FailedPreconditionError(std::string message);
Status OutOfRangeError(std::string message);
Status UnimplementedError(std::string message);
Status ResourceExhaustedError(std::string message);
Status InternalError(std::string message);
Status IoError(std::string message);
Status DeadlineExceededError(std::string message);
Status AbortedError(std::string message);

// Result<T> holds either a T or an error Status.
// REQUIRES: a Result is constructed from an OK status never (that is a bug and
// becomes kInternal).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    if (status_.ok()) status_ = InternalError("Result constructed from OK status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  // REQUIRES: ok().
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace ckpt

// Returns from the enclosing function if `expr` (a Status) is an error.
#define CKPT_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::ckpt::Status ckpt_status_ = (expr);        \
    if (!ckpt_status_.ok()) return ckpt_status_; \
  } while (0)

#define CKPT_CONCAT_INNER_(a, b) a##b
#define CKPT_CONCAT_(a, b) CKPT_CONCAT_INNER_(a, b)

// `CKPT_ASSIGN_OR_RETURN(auto x, MakeX());` declares x from a Result or
// returns its error.
#define CKPT_ASSIGN_OR_RETURN(lhs, expr) \
  CKPT_ASSIGN_OR_RETURN_IMPL_(CKPT_CONCAT_(ckpt_result_, __LINE__), lhs, expr)
#define CKPT_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()

#endif  // CKPT_STATUS_H_

"""Exceptions: one class per ckpt status code (include/ckpt/status.h).

Every class derives from ckpt.Error (attributes .code, the TensorFlow code
name such as "NOT_FOUND", and .message). Where a Python built-in means the
same, the class derives from it too, so ordinary ``except`` clauses work:
NotFoundError is a FileNotFoundError (also for a missing tensor key, as in
TensorFlow, where both are NOT_FOUND), InvalidArgumentError a ValueError,
PermissionDeniedError a PermissionError, AlreadyExistsError a
FileExistsError, UnimplementedError a NotImplementedError,
DeadlineExceededError a TimeoutError and IoError an OSError.
"""


class Error(Exception):
    """Base of every ckpt error."""

    __module__ = "ckpt"
    code = "UNKNOWN"
    code_value = 2

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def _make(name, code, value, *bases):
    cls = type(name, (Error,) + bases, {"code": code, "code_value": value,
                                        "__module__": "ckpt"})
    cls.__doc__ = "ckpt status %s (%d)." % (code, value)
    return cls


InvalidArgumentError = _make("InvalidArgumentError", "INVALID_ARGUMENT", 3, ValueError)
DeadlineExceededError = _make("DeadlineExceededError", "DEADLINE_EXCEEDED", 4, TimeoutError)
NotFoundError = _make("NotFoundError", "NOT_FOUND", 5, FileNotFoundError)
AlreadyExistsError = _make("AlreadyExistsError", "ALREADY_EXISTS", 6, FileExistsError)
PermissionDeniedError = _make("PermissionDeniedError", "PERMISSION_DENIED", 7, PermissionError)
ResourceExhaustedError = _make("ResourceExhaustedError", "RESOURCE_EXHAUSTED", 8)
FailedPreconditionError = _make("FailedPreconditionError", "FAILED_PRECONDITION", 9)
AbortedError = _make("AbortedError", "ABORTED", 10)
OutOfRangeError = _make("OutOfRangeError", "OUT_OF_RANGE", 11)
UnimplementedError = _make("UnimplementedError", "UNIMPLEMENTED", 12, NotImplementedError)
InternalError = _make("InternalError", "INTERNAL", 13)
DataLossError = _make("DataLossError", "DATA_LOSS", 15)
IoError = _make("IoError", "IO_ERROR", 100, OSError)

_BY_VALUE = {cls.code_value: cls for cls in (
    InvalidArgumentError, DeadlineExceededError, NotFoundError, AlreadyExistsError,
    PermissionDeniedError, ResourceExhaustedError, FailedPreconditionError, AbortedError,
    OutOfRangeError, UnimplementedError, InternalError, DataLossError, IoError)}

__all__ = ["Error"] + sorted(cls.__name__ for cls in _BY_VALUE.values())


def from_status(code_value: int, message: str) -> Error:
    """The exception for a ckpt Status (called by the C++ module)."""
    cls = _BY_VALUE.get(code_value, Error)
    return cls(message)

"""Checkpoint dtypes <-> numpy dtypes.

A DType names a checkpoint element type as TensorFlow does (DType("float"),
.name, .enum = TensorFlow's DataType value) and gives its numpy dtype
(.numpy_dtype). bfloat16, the float8/float4 types and the 4- and 2-bit
integers come from ml_dtypes, if importable; without it their .numpy_dtype
raises ckpt.UnimplementedError naming the dtype and ml_dtypes. The quantized
types (qint8, quint8, qint16, quint16, qint32) read as their plain integer
type. Strings read as object arrays of bytes.
"""

import numpy as np

from . import _errors

# (enum value, TensorFlow's name, numpy type name, module: "numpy"/"ml_dtypes").
_TABLE = [
    (1, "float", "float32", "numpy"),
    (2, "double", "float64", "numpy"),
    (3, "int32", "int32", "numpy"),
    (4, "uint8", "uint8", "numpy"),
    (5, "int16", "int16", "numpy"),
    (6, "int8", "int8", "numpy"),
    (7, "string", "object", "numpy"),
    (8, "complex64", "complex64", "numpy"),
    (9, "int64", "int64", "numpy"),
    (10, "bool", "bool", "numpy"),
    (11, "qint8", "int8", "numpy"),
    (12, "quint8", "uint8", "numpy"),
    (13, "qint32", "int32", "numpy"),
    (14, "bfloat16", "bfloat16", "ml_dtypes"),
    (15, "qint16", "int16", "numpy"),
    (16, "quint16", "uint16", "numpy"),
    (17, "uint16", "uint16", "numpy"),
    (18, "complex128", "complex128", "numpy"),
    (19, "half", "float16", "numpy"),
    (22, "uint32", "uint32", "numpy"),
    (23, "uint64", "uint64", "numpy"),
    (24, "float8_e5m2", "float8_e5m2", "ml_dtypes"),
    (25, "float8_e4m3fn", "float8_e4m3fn", "ml_dtypes"),
    (26, "float8_e4m3fnuz", "float8_e4m3fnuz", "ml_dtypes"),
    (27, "float8_e4m3b11fnuz", "float8_e4m3b11fnuz", "ml_dtypes"),
    (28, "float8_e5m2fnuz", "float8_e5m2fnuz", "ml_dtypes"),
    (29, "int4", "int4", "ml_dtypes"),
    (30, "uint4", "uint4", "ml_dtypes"),
    (31, "int2", "int2", "ml_dtypes"),
    (32, "uint2", "uint2", "ml_dtypes"),
    (33, "float4_e2m1fn", "float4_e2m1fn", "ml_dtypes"),
]

# ml_dtypes is optional (only the types above marked ml_dtypes need it) and
# imported on first use: it takes longer to import than the rest of ckpt.
_UNLOADED = object()
_ml_dtypes = _UNLOADED


def _ml():
    global _ml_dtypes
    if _ml_dtypes is _UNLOADED:
        try:
            import ml_dtypes
            _ml_dtypes = ml_dtypes
        except ImportError:
            _ml_dtypes = None
    return _ml_dtypes


class DType:
    """A checkpoint element type: .name ("float"), .enum (1), .numpy_dtype."""

    __slots__ = ("enum", "name", "_numpy_name", "_module")
    __module__ = "ckpt"

    def __init__(self, enum, name, numpy_name, module):
        self.enum = enum
        self.name = name
        self._numpy_name = numpy_name
        self._module = module

    @property
    def numpy_dtype(self) -> np.dtype:
        if self._module == "numpy":
            return np.dtype(self._numpy_name)
        ml = _ml()
        if ml is None or not hasattr(ml, self._numpy_name):
            raise _errors.UnimplementedError(
                "dtype %s needs the package ml_dtypes (pip install ml_dtypes)" % self.name)
        return np.dtype(getattr(ml, self._numpy_name))

    def __eq__(self, other):
        if isinstance(other, DType):
            return self.enum == other.enum
        if isinstance(other, str):
            return other in (self.name, "DT_" + self.name.upper())
        return NotImplemented

    def __hash__(self):
        return hash(self.enum)

    def __repr__(self):
        return "ckpt.%s" % self.name

    def __str__(self):
        return self.name


_QUANTIZED = (11, 12, 13, 15, 16)
_BY_ENUM = {e: DType(e, n, np_name, mod) for e, n, np_name, mod in _TABLE}
_BY_NAME = {d.name: d for d in _BY_ENUM.values()}


def from_enum(value: int) -> DType:
    d = _BY_ENUM.get(value)
    if d is None:
        return DType(value, "unknown(%d)" % value, None, "none")
    return d


def from_numpy(dtype: np.dtype) -> DType:
    """The checkpoint dtype for a numpy dtype (object/str/bytes: string)."""
    dtype = np.dtype(dtype)
    if dtype.kind in "OSU":
        return _BY_NAME["string"]
    # Only an ml_dtypes array needs ml_dtypes (already imported, then).
    ml = _ml() if dtype.type.__module__.startswith("ml_dtypes") else None
    for e, name, np_name, mod in _TABLE:
        if e in _QUANTIZED:  # never chosen for a numpy dtype
            continue
        if mod == "numpy":
            if np.dtype(np_name) == dtype:
                return _BY_ENUM[e]
        elif ml is not None and getattr(ml, np_name, None) is not None:
            if np.dtype(getattr(ml, np_name)) == dtype:
                return _BY_ENUM[e]
    raise _errors.InvalidArgumentError("numpy dtype %s has no checkpoint dtype" % dtype)

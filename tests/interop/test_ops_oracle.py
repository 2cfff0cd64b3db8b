"""Every op kernel of ckpt checked against TensorFlow's own (the per-op oracle).

For each case, TensorFlow (tf.compat.v1, graph mode) builds a small graph from
placeholders, writes it as a binary GraphDef (graph.pb) with the feeds as
.npy files, and runs it with session.run. ckpt runs the same graph on the
same feeds (`ckpt run --graph graph.pb --feed x:0=x.npy --fetch y:0 ...
--output DIR`) and must give the same outputs:

* integers, bools and strings exactly (dtype, shape and every element);
* float32 within 1e-5 relative, with an absolute floor of 1e-6 near zero
  (|ckpt - tf| <= 1e-6 + 1e-5 * |tf|); float64 within 1e-12 relative with a
  1e-12 floor. Ops that accumulate (matmul, conv, reductions, softmax) state
  a larger absolute floor in their case, scaled to the size of their terms.
  NaN must be NaN where TF's is, and infinities must match in sign.

Where TF's session.run raises (an index out of range, incompatible shapes),
ckpt must fail too: a non-zero exit whose message names the failing node
(every case names its ops "target*" so the name can be checked).

Placeholders have unknown shapes, so TF defers every shape check to run time,
as ckpt's kernels do. Each case asserts that the op type it is about is in
the graph TF wrote (a Python wrapper that rewrites to other ops would
otherwise test the wrong kernel), and test_every_registered_op_has_a_case
keeps the table complete: every op in src/ops/registry.cc and every op
src/exec/session.cc runs itself needs a case here.
"""

import json
import pathlib
import re
import subprocess
import zlib
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import numpy as np
import pytest

from conftest import CLI, REPO, tf

raw = tf.raw_ops
v1 = tf.compat.v1

F32_RTOL, F32_ATOL = 1e-5, 1e-6
F64_RTOL, F64_ATOL = 1e-12, 1e-12

inf, nan = np.inf, np.nan


# ------------------------------------------------------------------ cases

@dataclass
class Case:
    op: str                     # the op type the case is about
    variant: str
    build: Callable             # build(**placeholders) -> tensor or list of tensors
    feeds: Dict[str, np.ndarray]
    atol: Optional[float] = None  # absolute floor for floats (default by dtype)
    rtol: Optional[float] = None
    # Feeds whose placeholder gets its static shape (a few wrappers need it).
    static: tuple = ()
    # Maps the outputs (TF's and ckpt's alike) to a canonical form before the
    # comparison, where TF leaves something unspecified (TopKV2's unsorted order).
    canon: Optional[Callable] = None
    # A known, documented difference from TF: the case runs as a strict xfail.
    known_difference: Optional[str] = None

    @property
    def id(self) -> str:
        return f"{self.op}-{self.variant}"


CASES: List[Case] = []


def case(op, variant, build, atol=None, rtol=None, static=(), canon=None, known_difference=None,
         **feeds):
    CASES.append(Case(op, variant, build, feeds, atol, rtol, tuple(static), canon,
                      known_difference))


def _rng(key: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(key.encode()))


_R = _rng("ops-oracle")


def f32(*shape, scale=1.0):
    return (_R.standard_normal(shape) * scale).astype(np.float32)


def f64(*shape, scale=1.0):
    return (_R.standard_normal(shape) * scale).astype(np.float64)


def i32(*shape, lo=-10, hi=10):
    return _R.integers(lo, hi, size=shape).astype(np.int32)


def i64(*shape, lo=-10, hi=10):
    return _R.integers(lo, hi, size=shape).astype(np.int64)


def bools(*shape):
    return _R.integers(0, 2, size=shape).astype(bool)


# Edge values for elementwise float ops.
EDGE = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, 2.5, -2.5, 3.5, 1e-30, -1e-30, 1e-5,
                 -1e-5, 7.0, -7.0, 20.0, -20.0, 88.0, -88.0, 100.0, -100.0, 1e30, -1e30,
                 inf, -inf, nan])
EDGE32 = EDGE.astype(np.float32)
EDGE64 = EDGE.astype(np.float64)
EMPTY32 = np.zeros((0, 3), np.float32)

FLOATS = {"f32": f32, "f64": f64}
NUMERIC = {"f32": f32, "f64": f64, "i32": i32, "i64": i64}


def numeric(kind, *shape):
    return NUMERIC[kind](*shape)


# ---- unary elementwise (edge values; every dtype the kernel claims)

REAL_UNARY = ["Sqrt", "Rsqrt", "Exp", "Log", "Log1p", "Floor", "Ceil", "Reciprocal", "Sigmoid",
              "Tanh", "Elu", "Selu", "Softplus", "Softsign"]
NUMERIC_UNARY = ["Abs", "Neg", "Sign", "Square", "Round", "Relu", "Relu6"]

# The activations name their input "features", the math ops "x".
FEATURES = {"Elu", "Selu", "Softplus", "Softsign", "Relu", "Relu6", "LeakyRelu"}


def _unary(op):
    arg = "features" if op in FEATURES else "x"
    return lambda x: getattr(raw, op)(**{arg: x}, name="target")


for _op in REAL_UNARY:
    for _k, _edge in (("f32", EDGE32), ("f64", EDGE64)):
        case(_op, f"edge-{_k}", _unary(_op), x=_edge)
        case(_op, f"random-{_k}", _unary(_op), x=FLOATS[_k](4, 5, scale=3.0))
    case(_op, "empty", _unary(_op), x=EMPTY32)

ROUND_INT = ("TF 2.21's CPU Round kernel returns 0 for every int32/int64 input; tf.round never "
             "emits it (its Python wrapper returns an integer x unchanged). ckpt returns x.")

for _op in NUMERIC_UNARY:
    for _k, _edge in (("f32", EDGE32), ("f64", EDGE64)):
        case(_op, f"edge-{_k}", _unary(_op), x=_edge)
    for _k in ("i32", "i64"):
        case(_op, f"random-{_k}", _unary(_op), x=numeric(_k, 3, 7),
             known_difference=ROUND_INT if _op == "Round" else None)
    case(_op, "scalar", _unary(_op), x=np.float32(-2.5))

# Round: halves go to even.
case("Round", "halves", lambda x: raw.Round(x=x, name="target"),
     x=np.arange(-6.5, 7.0, 0.5, dtype=np.float32))

# Activations with their own arg names, extreme inputs.
case("Relu6", "range", lambda x: raw.Relu6(features=x, name="target"),
     x=np.linspace(-10, 10, 41, dtype=np.float32))
for _k, _edge in (("f32", EDGE32), ("f64", EDGE64)):
    for _alpha in (0.2, 0.01, 0.5, 1.5, -0.3):
        case("LeakyRelu", f"alpha{_alpha}-{_k}",
             lambda x, _alpha=_alpha: raw.LeakyRelu(features=x, alpha=_alpha, name="target"),
             x=_edge)
case("Softplus", "thresholds",
     lambda x: raw.Softplus(features=x, name="target"),
     x=np.array([-30, -17, -16, -15.9, -10, -1, 0, 1, 10, 15, 15.9, 16, 17, 30, 40, 90],
                np.float32))
case("Sigmoid", "extremes", lambda x: raw.Sigmoid(x=x, name="target"),
     x=np.array([-1000, -100, -89, -88, -20, -1e-8, 0, 1e-8, 20, 88, 89, 100, 1000], np.float32))
case("Tanh", "extremes", lambda x: raw.Tanh(x=x, name="target"),
     x=np.array([-1000, -20, -9, -1e-4, 0, 1e-4, 0.3, 9, 20, 1000], np.float32))


# ---- binary elementwise: dtypes, broadcasting, edge values

def _bin(op, **kw):
    return lambda x, y: getattr(raw, op)(x=x, y=y, name="target", **kw)


ARITH_NUMERIC = ["Add", "AddV2", "Sub", "Mul", "Maximum", "Minimum", "SquaredDifference"]
ARITH_REAL = ["RealDiv", "Div", "Pow"]
COMPARE = ["Equal", "NotEqual", "Greater", "GreaterEqual", "Less", "LessEqual"]

SHAPES = [("same", (3, 4), (3, 4)), ("row", (3, 4), (4,)), ("col-row", (3, 1), (1, 4)),
          ("scalar-left", (), (2, 3)), ("scalar-right", (2, 3), ()), ("rank3", (2, 1, 3), (4, 1)),
          ("empty", (0, 4), (4,)), ("empty-bcast", (0, 1), (1, 5))]

for _op in ARITH_NUMERIC + COMPARE:
    for _k in ("f32", "f64", "i32", "i64"):
        case(_op, f"same-{_k}", _bin(_op), x=numeric(_k, 3, 4), y=numeric(_k, 3, 4))
    for _name, _sa, _sb in SHAPES:
        case(_op, f"bcast-{_name}", _bin(_op), x=f32(*_sa), y=f32(*_sb))
    case(_op, "edge-f32", _bin(_op), x=EDGE32, y=EDGE32[::-1].copy())
    case(_op, "bad-shapes", _bin(_op), x=f32(2, 3), y=f32(4))

# Integer overflow wraps (two's complement) in TF.
_I32X = np.array([2**31 - 1, -2**31, 2**30, -2**31 + 1, 46341], np.int32)
_I64X = np.array([2**63 - 1, -2**63, 2**62, -2**63 + 1, 3037000500], np.int64)
for _k, _x in (("i32", _I32X), ("i64", _I64X)):
    for _op in ("Add", "Sub", "Mul", "SquaredDifference"):
        case(_op, f"overflow-{_k}", _bin(_op), x=_x, y=_x[::-1].copy())
    for _op in ("Abs", "Neg", "Square"):
        case(_op, f"overflow-{_k}", _unary(_op), x=_x)

# Equal ties: identical values must compare equal in every dtype.
case("Equal", "ties-i32", _bin("Equal"), x=i32(20, lo=0, hi=3), y=i32(20, lo=0, hi=3))

for _op in ARITH_REAL:
    for _k in ("f32", "f64"):
        case(_op, f"same-{_k}", _bin(_op), x=FLOATS[_k](3, 4), y=FLOATS[_k](3, 4))
        _t = _k.replace("f", "float")
        case(_op, f"edge-{_k}", _bin(_op), x=np.resize(EDGE, (27, 27)).astype(_t),
             y=np.resize(EDGE, (27, 27)).T.copy().astype(_t))
    for _name, _sa, _sb in SHAPES:
        case(_op, f"bcast-{_name}", _bin(_op), x=f32(*_sa), y=f32(*_sb))
case("Pow", "positive-base", _bin("Pow"), x=np.abs(f32(3, 4)) + 0.1, y=f32(3, 4))
case("Pow", "integer-exponents", _bin("Pow"), x=f32(3, 5), y=np.array([0, 1, 2, 3, -1], np.float32))

# Integer Div truncates toward zero; integer Pow is exact and wraps.
for _k in ("i32", "i64"):
    _t = _k.replace("i", "int")
    _x = np.array([7, -7, 7, -7, 0, 1, -1, 6, -6, 13], dtype=_t)
    _y = np.array([2, 2, -2, -2, 3, 5, 5, -3, 3, -4], dtype=_t)
    case("Div", f"signs-{_k}", _bin("Div"), x=_x, y=_y)
    case("Div", f"random-{_k}", _bin("Div"), x=numeric(_k, 4, 5), y=numeric(_k, 4, 5) * 2 + 1)
    case("Div", f"by-zero-{_k}", _bin("Div"), x=_x, y=np.zeros_like(_y))
    case("Pow", f"small-{_k}", _bin("Pow"), x=np.array([0, 0, 1, -1, 2, -2, 3, -3, 10, 7], _t),
         y=np.array([0, 3, 9, 5, 10, 7, 4, 3, 5, 0], _t))
    case("Pow", f"wraps-{_k}", _bin("Pow"), x=np.array([3, -3, 7, 2], _t),
         y=np.array([40, 41, 50, 70], _t))
    case("Pow", f"negative-exponent-{_k}", _bin("Pow"), x=np.array([2, 3], _t),
         y=np.array([1, -1], _t))

for _op in ("FloorDiv", "FloorMod"):
    for _k in ("i32", "i64"):
        _x = np.array([7, -7, 7, -7, 0, 1, -1, 6, -6, 13], dtype=_k.replace("i", "int"))
        _y = np.array([2, 2, -2, -2, 3, 5, 5, -3, 3, -4], dtype=_k.replace("i", "int"))
        case(_op, f"signs-{_k}", _bin(_op), x=_x, y=_y)
        case(_op, f"random-{_k}", _bin(_op), x=numeric(_k, 4, 5), y=numeric(_k, 4, 5) * 2 + 1)
        case(_op, f"by-zero-{_k}", _bin(_op), x=_x, y=np.zeros_like(_y))
    for _k in ("f32", "f64"):
        _t = _k.replace("f", "float")
        _x = np.array([7.5, -7.5, 7.5, -7.5, 0, 1, -1, 6, -6, 13, 1, -1, 5], dtype=_t)
        _y = np.array([2, 2, -2, -2, 3, 0.3, 0.3, -3, 3, -4, 0, 0, inf], dtype=_t)
        case(_op, f"signs-{_k}", _bin(_op), x=_x, y=_y)
        case(_op, f"random-{_k}", _bin(_op), x=FLOATS[_k](4, 5, scale=5), y=FLOATS[_k](5))

for _op in ("LogicalAnd", "LogicalOr"):
    case(_op, "same", _bin(_op), x=bools(3, 4), y=bools(3, 4))
    case(_op, "bcast", _bin(_op), x=bools(3, 1), y=bools(1, 4))
    case(_op, "empty", _bin(_op), x=bools(0, 4), y=bools(4))
case("LogicalNot", "random", lambda x: raw.LogicalNot(x=x, name="target"), x=bools(3, 5))


# ---- Select / SelectV2

for _k in ("f32", "i32", "i64", "f64"):
    case("SelectV2", f"same-{_k}",
         lambda c, x, y: raw.SelectV2(condition=c, t=x, e=y, name="target"),
         c=bools(3, 4), x=numeric(_k, 3, 4), y=numeric(_k, 3, 4))
case("SelectV2", "bcast3", lambda c, x, y: raw.SelectV2(condition=c, t=x, e=y, name="target"),
     c=bools(3, 1, 1), x=f32(1, 4, 1), y=f32(5))
case("SelectV2", "scalar-cond", lambda c, x, y: raw.SelectV2(condition=c, t=x, e=y, name="target"),
     c=np.array(True), x=f32(2, 3), y=f32(2, 3))
case("SelectV2", "bad-shapes", lambda c, x, y: raw.SelectV2(condition=c, t=x, e=y, name="target"),
     c=bools(3), x=f32(2, 4), y=f32(2, 4))
case("Select", "same", lambda c, x, y: raw.Select(condition=c, x=x, y=y, name="target"),
     c=bools(3, 4), x=f32(3, 4), y=f32(3, 4))
case("Select", "rows", lambda c, x, y: raw.Select(condition=c, x=x, y=y, name="target"),
     c=bools(3), x=f32(3, 2, 2), y=f32(3, 2, 2))
case("Select", "scalar", lambda c, x, y: raw.Select(condition=c, x=x, y=y, name="target"),
     c=np.array(False), x=i64(3, 2), y=i64(3, 2))
case("Select", "bad-rows", lambda c, x, y: raw.Select(condition=c, x=x, y=y, name="target"),
     c=bools(2), x=f32(3, 2), y=f32(3, 2))


# ---- MatMul / BatchMatMul

for _k in ("f32", "f64", "i32", "i64"):
    for _ta in (False, True):
        for _tb in (False, True):
            _a = numeric(_k, *((5, 3) if _ta else (3, 5)))
            _b = numeric(_k, *((4, 5) if _tb else (5, 4)))
            case("MatMul", f"{_k}-ta{int(_ta)}-tb{int(_tb)}",
                 lambda a, b, _ta=_ta, _tb=_tb: raw.MatMul(a=a, b=b, transpose_a=_ta,
                                                           transpose_b=_tb, name="target"),
                 atol=1e-5, a=_a, b=_b)
case("MatMul", "large-f32", lambda a, b: raw.MatMul(a=a, b=b, name="target"), atol=1e-4,
     a=f32(33, 70), b=f32(70, 17))
case("MatMul", "empty-k", lambda a, b: raw.MatMul(a=a, b=b, name="target"),
     a=f32(3, 0), b=f32(0, 4))
case("MatMul", "empty-m", lambda a, b: raw.MatMul(a=a, b=b, name="target"),
     a=f32(0, 3), b=f32(3, 4))
case("MatMul", "inf-nan", lambda a, b: raw.MatMul(a=a, b=b, name="target"),
     a=np.array([[1, inf], [nan, 1], [0, 1]], np.float32), b=np.array([[1, 2], [3, 4]], np.float32))
case("MatMul", "bad-shapes", lambda a, b: raw.MatMul(a=a, b=b, name="target"),
     a=f32(2, 3), b=f32(4, 5))

for _op in ("BatchMatMul", "BatchMatMulV2", "BatchMatMulV3"):
    def _bmm(_op, ax, ay):
        def build(x, y):
            kw = dict(x=x, y=y, adj_x=ax, adj_y=ay, name="target")
            if _op == "BatchMatMulV3":
                kw["Tout"] = x.dtype
            return getattr(raw, _op)(**kw)
        return build
    for _ax in (False, True):
        for _ay in (False, True):
            case(_op, f"adj{int(_ax)}{int(_ay)}", _bmm(_op, _ax, _ay), atol=1e-5,
                 x=f32(2, *((4, 3) if _ax else (3, 4))), y=f32(2, *((5, 4) if _ay else (4, 5))))
    case(_op, "f64", _bmm(_op, False, False), x=f64(3, 2, 4), y=f64(3, 4, 2))
    case(_op, "i32", _bmm(_op, False, True), x=i32(2, 2, 3), y=i32(2, 4, 3))
    case(_op, "rank2", _bmm(_op, False, False), atol=1e-5, x=f32(3, 4), y=f32(4, 2))
    case(_op, "rank4", _bmm(_op, True, False), atol=1e-5, x=f32(2, 3, 4, 5), y=f32(2, 3, 4, 2))
    case(_op, "empty-batch", _bmm(_op, False, False), x=f32(0, 2, 3), y=f32(0, 3, 4))
    case(_op, "bad-inner", _bmm(_op, False, False), x=f32(2, 2, 3), y=f32(2, 4, 3))
    if _op != "BatchMatMul":
        case(_op, "bcast", _bmm(_op, False, False), atol=1e-5, x=f32(2, 1, 3, 4), y=f32(5, 4, 2))
        case(_op, "bcast-rank2", _bmm(_op, False, False), atol=1e-5, x=f32(4, 3, 4), y=f32(4, 2))
        case(_op, "bad-batch", _bmm(_op, False, False), x=f32(2, 3, 4), y=f32(3, 4, 2))
    else:
        case(_op, "batch-mismatch", _bmm(_op, False, False), x=f32(2, 3, 4), y=f32(3, 4, 2))

for _k in ("f32", "f64", "i32", "i64"):
    case("BiasAdd", f"rank2-{_k}", lambda x, b: raw.BiasAdd(value=x, bias=b, name="target"),
         x=numeric(_k, 4, 3), b=numeric(_k, 3))
case("BiasAdd", "rank4", lambda x, b: raw.BiasAdd(value=x, bias=b, name="target"),
     x=f32(2, 3, 3, 5), b=f32(5))
case("BiasAdd", "bad-bias", lambda x, b: raw.BiasAdd(value=x, bias=b, name="target"),
     x=f32(2, 3), b=f32(4))
case("BiasAdd", "rank1", lambda x, b: raw.BiasAdd(value=x, bias=b, name="target"),
     x=f32(3), b=f32(3))


# ---- Conv2D / DepthwiseConv2dNative / pools

def _conv(strides, padding, dilations):
    return lambda x, w: raw.Conv2D(input=x, filter=w, strides=[1, *strides, 1], padding=padding,
                                   dilations=[1, *dilations, 1], name="target")


for _pad in ("SAME", "VALID"):
    for _hw, _k, _s, _d in (((5, 5), (3, 3), (1, 1), (1, 1)), ((7, 6), (3, 2), (2, 2), (1, 1)),
                            ((8, 9), (2, 3), (3, 2), (1, 1)), ((9, 9), (3, 3), (1, 1), (2, 2)),
                            ((10, 7), (2, 2), (1, 1), (3, 2)), ((4, 4), (1, 1), (2, 2), (1, 1)),
                            ((3, 3), (5, 5), (1, 1), (1, 1)), ((6, 6), (4, 4), (2, 2), (1, 1))):
        if _pad == "VALID" and (_hw[0] < (_k[0] - 1) * _d[0] + 1 or
                                _hw[1] < (_k[1] - 1) * _d[1] + 1):
            continue
        _v = f"{_pad}-{_hw[0]}x{_hw[1]}-k{_k[0]}x{_k[1]}-s{_s[0]}{_s[1]}-d{_d[0]}{_d[1]}"
        case("Conv2D", _v, _conv(_s, _pad, _d), atol=1e-5,
             x=f32(2, *_hw, 3), w=f32(*_k, 3, 4))
        if _s[0] != _s[1] or _d != (1, 1):
            continue  # TF's CPU kernel refuses these (no oracle): see the status file
        case("DepthwiseConv2dNative", _v,
             lambda x, w, _s=_s, _pad=_pad, _d=_d: raw.DepthwiseConv2dNative(
                 input=x, filter=w, strides=[1, *_s, 1], padding=_pad, dilations=[1, *_d, 1],
                 name="target"),
             atol=1e-5, x=f32(2, *_hw, 3), w=f32(*_k, 3, 2))
case("Conv2D", "f64", _conv((1, 1), "SAME", (1, 1)), x=f64(1, 4, 4, 2), w=f64(3, 3, 2, 3))
case("Conv2D", "SAME-stride2-dilation2", _conv((2, 2), "SAME", (2, 2)), atol=1e-5,
     x=f32(1, 9, 8, 2), w=f32(3, 3, 2, 2))
case("Conv2D", "VALID-stride3-dilation2", _conv((3, 3), "VALID", (2, 2)), atol=1e-5,
     x=f32(1, 11, 12, 2), w=f32(2, 3, 2, 2))
case("Conv2D", "VALID-too-small", _conv((1, 1), "VALID", (1, 1)), x=f32(1, 2, 2, 1),
     w=f32(3, 3, 1, 1))
case("Conv2D", "bad-channels", _conv((1, 1), "SAME", (1, 1)), x=f32(1, 4, 4, 2),
     w=f32(3, 3, 3, 1))
case("DepthwiseConv2dNative", "f64",
     lambda x, w: raw.DepthwiseConv2dNative(input=x, filter=w, strides=[1, 1, 1, 1],
                                            padding="SAME", name="target"),
     x=f64(1, 5, 5, 2), w=f64(3, 3, 2, 3))

for _pool in ("MaxPool", "AvgPool"):
    for _pad in ("SAME", "VALID"):
        for _hw, _k, _s in (((5, 5), (2, 2), (2, 2)), ((6, 7), (3, 3), (2, 2)),
                            ((4, 4), (3, 3), (1, 1)), ((7, 5), (2, 3), (3, 1)),
                            ((1, 1), (1, 1), (1, 1)), ((3, 3), (3, 3), (3, 3)),
                            ((2, 2), (3, 3), (2, 2))):
            if _pad == "VALID" and (_hw[0] < _k[0] or _hw[1] < _k[1]):
                continue
            _arg = "input" if _pool == "MaxPool" else "value"
            case(_pool, f"{_pad}-{_hw[0]}x{_hw[1]}-k{_k[0]}x{_k[1]}-s{_s[0]}{_s[1]}",
                 lambda x, _pool=_pool, _arg=_arg, _pad=_pad, _k=_k, _s=_s: getattr(raw, _pool)(
                     **{_arg: x}, ksize=[1, *_k, 1], strides=[1, *_s, 1], padding=_pad,
                     name="target"),
                 x=f32(2, *_hw, 3) - 2.0)
    _arg = "input" if _pool == "MaxPool" else "value"
    case(_pool, "f64", lambda x, _pool=_pool, _arg=_arg: getattr(raw, _pool)(
        **{_arg: x}, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME", name="target"),
        x=f64(1, 5, 5, 2))
case("MaxPool", "neg-inf-nan", lambda x: raw.MaxPool(
    input=x, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME", name="target"),
    x=np.array([-inf, -1, nan, 2, -inf, -inf, -inf, -3, 1], np.float32).reshape(1, 3, 3, 1))


# ---- FusedBatchNorm (inference)

for _op in ("FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3"):
    for _eps in (1e-3, 1e-5):
        case(_op, f"eps{_eps}",
             lambda x, s, o, m, v, _op=_op, _eps=_eps: getattr(raw, _op)(
                 x=x, scale=s, offset=o, mean=m, variance=v, epsilon=_eps, is_training=False,
                 name="target")[0],
             x=f32(2, 3, 3, 4), s=f32(4), o=f32(4), m=f32(4), v=np.abs(f32(4)) + 0.1)
    case(_op, "rank2-zero-var",
         lambda x, s, o, m, v, _op=_op: getattr(raw, _op)(
             x=x, scale=s, offset=o, mean=m, variance=v, is_training=False, name="target")[0],
         x=f32(1, 1, 5, 3), s=f32(3), o=f32(3), m=f32(3), v=np.zeros(3, np.float32))
    case(_op, "pass-through-mean-var",
         lambda x, s, o, m, v, _op=_op: list(getattr(raw, _op)(
             x=x, scale=s, offset=o, mean=m, variance=v, is_training=False, name="target"))[1:3],
         x=f32(1, 2, 2, 2), s=f32(2), o=f32(2), m=f32(2), v=np.abs(f32(2)))
    case(_op, "bad-scale",
         lambda x, s, o, m, v, _op=_op: getattr(raw, _op)(
             x=x, scale=s, offset=o, mean=m, variance=v, is_training=False, name="target")[0],
         x=f32(1, 2, 2, 3), s=f32(2), o=f32(3), m=f32(3), v=np.abs(f32(3)))


# ---- Softmax / LogSoftmax

for _op in ("Softmax", "LogSoftmax"):
    for _k in ("f32", "f64"):
        case(_op, f"random-{_k}", lambda x, _op=_op: getattr(raw, _op)(logits=x, name="target"),
             x=FLOATS[_k](4, 6, scale=3))
    case(_op, "large-logits", lambda x, _op=_op: getattr(raw, _op)(logits=x, name="target"),
         x=np.array([[1000, 0, -1000], [88, 89, 90], [-1e30, 0, 1e30], [5, 5, 5]], np.float32))
    case(_op, "rank3", lambda x, _op=_op: getattr(raw, _op)(logits=x, name="target"),
         x=f32(2, 3, 5, scale=10))
    case(_op, "rank1", lambda x, _op=_op: getattr(raw, _op)(logits=x, name="target"), x=f32(7))
    case(_op, "inf", lambda x, _op=_op: getattr(raw, _op)(logits=x, name="target"),
         x=np.array([[inf, 0, 1], [-inf, 0, 1], [-inf, -inf, 1]], np.float32))
    case(_op, "empty", lambda x, _op=_op: getattr(raw, _op)(logits=x, name="target"),
         x=np.zeros((0, 4), np.float32))
    case(_op, "scalar", lambda x, _op=_op: getattr(raw, _op)(logits=x, name="target"),
         x=np.float32(1))


# ---- reductions

for _op in ("Sum", "Mean", "Max", "Min", "Prod"):
    _f = lambda x, a, _op=_op: getattr(raw, _op)(input=x, axis=a, name="target")  # noqa: E731
    for _k in ("f32", "f64", "i32", "i64"):
        _x = numeric(_k, 3, 4, 5) if _op != "Prod" else numeric(_k, 3, 4, 2)
        case(_op, f"axis1-{_k}", _f, atol=1e-5, x=_x, a=np.array(1, np.int32))
        case(_op, f"all-{_k}", _f, atol=1e-5, x=_x, a=np.array([0, 1, 2], np.int32))
    for _kd in (False, True):
        for _axes, _name in ((np.array([-1], np.int32), "neg"),
                             (np.array([0, 2], np.int64), "multi"),
                             (np.array([], np.int32), "none"),
                             (np.array([2, -3], np.int32), "mixed")):
            case(_op, f"{_name}-kd{int(_kd)}",
                 lambda x, a, _op=_op, _kd=_kd: getattr(raw, _op)(input=x, axis=a, keep_dims=_kd,
                                                                  name="target"),
                 atol=1e-5, x=f32(2, 3, 4), a=_axes)
    case(_op, "empty-input", _f, x=np.zeros((0, 3), np.float32), a=np.array([0], np.int32))
    case(_op, "empty-input-i32", _f, x=np.zeros((2, 0), np.int32), a=np.array([1], np.int32))
    case(_op, "scalar", _f, x=np.float32(3), a=np.array([], np.int32))
    case(_op, "nan-inf", _f, x=np.array([[1, nan, 2], [inf, 1, -inf], [inf, 1, 2]], np.float32),
         a=np.array(1, np.int32))
    case(_op, "bad-axis", _f, x=f32(2, 3), a=np.array([2], np.int32))
case("Mean", "ints-truncate", lambda x, a: raw.Mean(input=x, axis=a, name="target"),
     x=np.array([[1, 2], [-1, -2], [3, 4], [-7, 0]], np.int32), a=np.array(1, np.int32))
case("Sum", "int-overflow", lambda x, a: raw.Sum(input=x, axis=a, name="target"),
     x=np.array([2**31 - 1, 1], np.int32), a=np.array(0, np.int32))


# ---- shape ops

case("Reshape", "infer", lambda x, s: raw.Reshape(tensor=x, shape=s, name="target"),
     x=f32(2, 3, 4), s=np.array([4, -1], np.int32))
case("Reshape", "i64-shape", lambda x, s: raw.Reshape(tensor=x, shape=s, name="target"),
     x=i64(6), s=np.array([3, 2], np.int64))
case("Reshape", "scalar", lambda x, s: raw.Reshape(tensor=x, shape=s, name="target"),
     x=f32(1, 1), s=np.array([], np.int32))
case("Reshape", "empty", lambda x, s: raw.Reshape(tensor=x, shape=s, name="target"),
     x=f32(0, 3), s=np.array([3, -1, 2], np.int32))
case("Reshape", "bool", lambda x, s: raw.Reshape(tensor=x, shape=s, name="target"),
     x=bools(4), s=np.array([2, 2], np.int32))
case("Reshape", "bad-count", lambda x, s: raw.Reshape(tensor=x, shape=s, name="target"),
     x=f32(6), s=np.array([4, 2], np.int32))
case("Reshape", "two-minus-one", lambda x, s: raw.Reshape(tensor=x, shape=s, name="target"),
     x=f32(6), s=np.array([-1, -1], np.int32))
for _t in (tf.int32, tf.int64):
    case("Shape", f"{_t.name}", lambda x, _t=_t: raw.Shape(input=x, out_type=_t, name="target"),
         x=f32(2, 0, 3))
case("Shape", "scalar", lambda x: raw.Shape(input=x, name="target"), x=np.int64(3))
case("Shape", "bool", lambda x: raw.Shape(input=x, name="target"), x=bools(3, 1))
for _ax in (0, 1, 2, -1, -3):
    case("ExpandDims", f"axis{_ax}", lambda x, a: raw.ExpandDims(input=x, axis=a, name="target"),
         x=f32(2, 3), a=np.array(_ax, np.int32))
case("ExpandDims", "i64-axis", lambda x, a: raw.ExpandDims(input=x, axis=a, name="target"),
     x=i32(2), a=np.array([0], np.int64))
case("ExpandDims", "bad-axis", lambda x, a: raw.ExpandDims(input=x, axis=a, name="target"),
     x=f32(2, 3), a=np.array(3, np.int32))
for _dims, _n in (([], "all"), ([1], "one"), ([-1, 0], "neg")):
    case("Squeeze", _n, lambda x, _dims=_dims: raw.Squeeze(input=x, axis=_dims, name="target"),
         x=f32(1, 1, 3, 1) if _n != "one" else f32(2, 1, 3))
case("Squeeze", "not-one", lambda x: raw.Squeeze(input=x, axis=[1], name="target"), x=f32(2, 3))
for _perm, _n in (([1, 0], "2d"), ([2, 0, 1], "3d"), ([0, 1, 2], "identity"), ([3, 1, 0, 2], "4d")):
    case("Transpose", _n, lambda x, p: raw.Transpose(x=x, perm=p, name="target"),
         x=f32(*[2, 3, 4, 5][:len(_perm)]), p=np.array(_perm, np.int32))
case("Transpose", "i64-perm-bool", lambda x, p: raw.Transpose(x=x, perm=p, name="target"),
     x=bools(2, 3), p=np.array([1, 0], np.int64))
case("Transpose", "bad-perm", lambda x, p: raw.Transpose(x=x, perm=p, name="target"),
     x=f32(2, 3), p=np.array([0, 0], np.int32))
for _ax in (0, 1, -1):
    case("ConcatV2", f"axis{_ax}",
         lambda a, b, c, _ax=_ax: raw.ConcatV2(values=[a, b, c], axis=_ax, name="target"),
         a=f32(2, 3), b=f32(2, 3), c=f32(2, 3))
case("ConcatV2", "uneven", lambda a, b: raw.ConcatV2(values=[a, b], axis=1, name="target"),
     a=i64(2, 1), b=i64(2, 4))
case("ConcatV2", "empty-part", lambda a, b: raw.ConcatV2(values=[a, b], axis=0, name="target"),
     a=f32(0, 3), b=f32(2, 3))
case("ConcatV2", "bool", lambda a, b: raw.ConcatV2(values=[a, b], axis=0, name="target"),
     a=bools(2), b=bools(3))
case("ConcatV2", "mismatch", lambda a, b: raw.ConcatV2(values=[a, b], axis=0, name="target"),
     a=f32(2, 3), b=f32(2, 4))
for _ax in (0, 1, -1, 2):
    case("Pack", f"axis{_ax}",
         lambda a, b, _ax=_ax: raw.Pack(values=[a, b], axis=_ax, name="target"),
         a=f32(2, 3), b=f32(2, 3))
case("Pack", "scalars-i32", lambda a, b: raw.Pack(values=[a, b], name="target"),
     a=np.int32(1), b=np.int32(2))
case("Pack", "mismatch", lambda a, b: raw.Pack(values=[a, b], name="target"), a=f32(2), b=f32(3))
for _ax in (0, 1, -1):
    case("Unpack", f"axis{_ax}",
         lambda x, _ax=_ax: list(raw.Unpack(value=x, num=[3, 3, 3][_ax], axis=_ax, name="target")),
         x=f32(3, 3, 3)[:, :, :])
case("Unpack", "i64", lambda x: list(raw.Unpack(value=x, num=2, name="target")), x=i64(2, 4))
case("Unpack", "bad-num", lambda x: list(raw.Unpack(value=x, num=3, name="target")), x=f32(2, 4))

for _src, _arr in (("f32", np.array([1.9, -1.9, 0.5, -0.5, 2.5, 1e9, -1e9, 0, 7], np.float32)),
                   ("f64", np.array([1.9, -1.9, 0.5, -0.5, 2.5, 1e18, -1e18, 0, 1e-300])),
                   ("i32", np.array([0, 1, -1, 2**31 - 1, -2**31, 16777217], np.int32)),
                   ("i64", np.array([0, 1, -1, 2**40 + 1, -2**40, 2**62, 2**53 + 1], np.int64)),
                   ("bool", np.array([True, False, True]))):
    for _dst in (tf.float32, tf.float64, tf.int32, tf.int64, tf.bool):
        case("Cast", f"{_src}-to-{_dst.name}",
             lambda x, _dst=_dst: raw.Cast(x=x, DstT=_dst, name="target"), x=_arr)
case("Cast", "f32-inf-nan-to-bool", lambda x: raw.Cast(x=x, DstT=tf.bool, name="target"),
     x=np.array([inf, -inf, nan, -0.0, 1.2e-38], np.float32))
case("Cast", "f32-denormal-to-bool", lambda x: raw.Cast(x=x, DstT=tf.bool, name="target"),
     x=np.array([1e-45, -1e-40], np.float32),
     known_difference="TF runs its CPU kernels with denormals flushed to zero (FTZ/DAZ), so a "
                      "denormal casts to false; ckpt computes with denormals (true).")
for _dst in (tf.int32, tf.int64):
    case("Cast", f"f32-out-of-range-to-{_dst.name}",
         lambda x, _dst=_dst: raw.Cast(x=x, DstT=_dst, name="target"),
         x=np.array([3e9, -3e9, 1e19, -1e19, inf, -inf, nan, 2147483520.0], np.float32))
    case("Cast", f"f64-out-of-range-to-{_dst.name}",
         lambda x, _dst=_dst: raw.Cast(x=x, DstT=_dst, name="target"),
         x=np.array([2147483647.9, -2147483648.9, 3e9, 1e300, -1e300, inf, nan], np.float64))
case("Cast", "i64-to-i32-wraps", lambda x: raw.Cast(x=x, DstT=tf.int32, name="target"),
     x=np.array([2**31, 2**32 + 5, -(2**31) - 1, 2**63 - 1], np.int64))
case("Cast", "truncate-attr",
     lambda x: raw.Cast(x=x, DstT=tf.float32, Truncate=True, name="target"),
     x=np.array([0.1, 1 / 3, 1e-40], np.float64))
case("Cast", "f64-to-f32-rounding", lambda x: raw.Cast(x=x, DstT=tf.float32, name="target"),
     x=np.array([1e-50, 1e50, -1e50, 0.1, 1 / 3, 16777217.0, nan], np.float64))

for _ot in (tf.int64, tf.int32):
    case("ArgMax", f"axis0-{_ot.name}",
         lambda x, a, _ot=_ot: raw.ArgMax(input=x, dimension=a, output_type=_ot, name="target"),
         x=f32(4, 5), a=np.array(0, np.int32))
case("ArgMax", "axis-last-neg", lambda x, a: raw.ArgMax(input=x, dimension=a, name="target"),
     x=f32(2, 3, 4), a=np.array(-1, np.int64))
case("ArgMax", "ties", lambda x, a: raw.ArgMax(input=x, dimension=a, name="target"),
     x=np.array([[1, 3, 3, 0], [2, 2, 2, 2], [-inf, -inf, -5, -5]], np.float32),
     a=np.array(1, np.int32))
case("ArgMax", "ints", lambda x, a: raw.ArgMax(input=x, dimension=a, name="target"),
     x=i32(6, 3, lo=0, hi=3), a=np.array(0, np.int32))
case("ArgMax", "i64", lambda x, a: raw.ArgMax(input=x, dimension=a, name="target"),
     x=i64(6, 3, lo=0, hi=3), a=np.array(1, np.int32))
case("ArgMax", "f64", lambda x, a: raw.ArgMax(input=x, dimension=a, name="target"),
     x=f64(6, 3), a=np.array(1, np.int32))
case("ArgMax", "inf", lambda x, a: raw.ArgMax(input=x, dimension=a, name="target"),
     x=np.array([[1, inf, 2], [-inf, -inf, -inf]], np.float32), a=np.array(1, np.int32))
case("ArgMax", "empty-axis", lambda x, a: raw.ArgMax(input=x, dimension=a, name="target"),
     x=np.zeros((3, 0), np.float32), a=np.array(1, np.int32))
case("ArgMax", "bad-axis", lambda x, a: raw.ArgMax(input=x, dimension=a, name="target"),
     x=f32(3, 4), a=np.array(2, np.int32))

for _kw in (dict(), dict(precision=3), dict(scientific=True), dict(shortest=True),
            dict(width=8), dict(width=8, fill="0"), dict(precision=2, scientific=True),
            dict(width=12, precision=4)):
    _n = "-".join(f"{k}{v}" for k, v in _kw.items()) or "default"
    case("AsString", f"f32-{_n}", lambda x, _kw=_kw: raw.AsString(input=x, name="target", **_kw),
         x=np.array([0, -0.0, 1.5, -2.25, 1e10, 1.23456789e-7, 3.14159265, 100], np.float32))
for _kw in (dict(), dict(width=5), dict(width=5, fill="0"), dict(width=3, fill=" ")):
    _n = "-".join(f"{k}{v}" for k, v in _kw.items()) or "default"
    case("AsString", f"i64-{_n}", lambda x, _kw=_kw: raw.AsString(input=x, name="target", **_kw),
         x=np.array([0, -7, 42, 123456789012, -2**63], np.int64))
for _fill in ("+", "-", "#", " "):
    case("AsString", f"f32-fill{_fill}", lambda x, _fill=_fill: raw.AsString(
        input=x, width=9, fill=_fill, precision=2, name="target"),
        x=np.array([1.5, -2.25, 0, 12345678.0], np.float32))
    case("AsString", f"i32-fill{_fill}", lambda x, _fill=_fill: raw.AsString(
        input=x, width=4, fill=_fill, name="target"), x=np.array([5, -5, 0, 123456], np.int32))
for _n, _kw in (("bad-fill", dict(fill="x")), ("long-fill", dict(fill="00")),
                ("scientific-and-shortest", dict(scientific=True, shortest=True)),
                ("int-precision", dict(precision=2)), ("int-scientific", dict(scientific=True))):
    case("AsString", _n, lambda x, _kw=_kw: raw.AsString(input=x, name="target", **_kw),
         x=np.array([1, 2], np.int32) if _n.startswith("int") else np.array([1.5], np.float32))
    case("AsString", f"bool-{_n}", lambda x, _kw=_kw: raw.AsString(input=x, name="target", **_kw),
         x=np.array([True]))
case("AsString", "i32", lambda x: raw.AsString(input=x, name="target"),
     x=np.array([[0, -1], [2**31 - 1, -2**31]], np.int32))
case("AsString", "bool", lambda x: raw.AsString(input=x, name="target"), x=np.array([True, False]))
case("AsString", "f64", lambda x: raw.AsString(input=x, name="target"),
     x=np.array([0.1, -1e300, 2.5, 1 / 3], np.float64))
case("AsString", "f32-inf-nan", lambda x: raw.AsString(input=x, name="target"),
     x=np.array([inf, -inf, nan], np.float32))

for _k in ("f32", "i32", "i64", "bool"):
    _x = bools(2, 3) if _k == "bool" else numeric(_k, 2, 3)
    case("ZerosLike", _k, lambda x: raw.ZerosLike(x=x, name="target"), x=_x)
    case("OnesLike", _k, lambda x: raw.OnesLike(x=x, name="target"), x=_x)
case("ZerosLike", "f64-empty", lambda x: raw.ZerosLike(x=x, name="target"),
     x=np.zeros((0,), np.float64))
case("OnesLike", "f64-scalar", lambda x: raw.OnesLike(x=x, name="target"), x=np.float64(5))
case("Fill", "f32", lambda d, v: raw.Fill(dims=d, value=v, name="target"),
     d=np.array([2, 3], np.int32), v=np.float32(1.5))
case("Fill", "i64-dims", lambda d, v: raw.Fill(dims=d, value=v, name="target"),
     d=np.array([3], np.int64), v=np.int64(-4))
case("Fill", "bool-empty", lambda d, v: raw.Fill(dims=d, value=v, name="target"),
     d=np.array([0, 2], np.int32), v=np.array(True))
case("Fill", "scalar", lambda d, v: raw.Fill(dims=d, value=v, name="target"),
     d=np.array([], np.int32), v=np.float64(2))
case("Fill", "negative-dim", lambda d, v: raw.Fill(dims=d, value=v, name="target"),
     d=np.array([2, -1], np.int32), v=np.float32(1))
case("Fill", "nonscalar-value", lambda d, v: raw.Fill(dims=d, value=v, name="target"),
     d=np.array([2], np.int32), v=np.array([1, 2], np.float32))


# ---- indexing

case("Slice", "basic", lambda x, b, s: raw.Slice(input=x, begin=b, size=s, name="target"),
     x=f32(4, 5, 3), b=np.array([1, 0, 1], np.int32), s=np.array([2, -1, 2], np.int32))
case("Slice", "i64", lambda x, b, s: raw.Slice(input=x, begin=b, size=s, name="target"),
     x=i64(4, 5), b=np.array([0, 2], np.int64), s=np.array([4, 0], np.int64))
case("Slice", "out-of-bounds", lambda x, b, s: raw.Slice(input=x, begin=b, size=s, name="target"),
     x=f32(4, 5), b=np.array([3, 0], np.int32), s=np.array([2, 1], np.int32))


def _ss(b, e, s, **masks):
    return lambda x: raw.StridedSlice(input=x, begin=b, end=e, strides=s, name="target", **masks)


_X345 = f32(3, 4, 5)
for _n, _f in (
        ("basic", _ss([0, 1, 1], [2, 3, 4], [1, 1, 1])),
        ("strides", _ss([0, 0, 0], [3, 4, 5], [2, 3, 2])),
        ("negative-stride", _ss([2, -1, 4], [0, 0, 0], [-1, -1, -2])),
        ("negative-stride-full", _ss([-1], [-4], [-1])),
        ("negative-indices", _ss([-2, -3, -4], [-1, -1, -1], [1, 1, 1])),
        ("begin-mask", _ss([2, 2, 2], [3, 4, 5], [1, 1, 1], begin_mask=0b101)),
        ("end-mask", _ss([1, 1, 1], [2, 2, 2], [1, 1, 1], end_mask=0b110)),
        ("end-mask-neg", _ss([2, 3, 4], [0, 0, 0], [-1, -1, -1], end_mask=0b111)),
        ("begin-mask-neg", _ss([0, 0, 0], [0, 1, 2], [-1, -1, -1], begin_mask=0b111)),
        ("shrink", _ss([1, 0, -1], [2, 4, 0], [1, 1, 1], shrink_axis_mask=0b101)),
        ("shrink-all", _ss([0, 1, 2], [1, 2, 3], [1, 1, 1], shrink_axis_mask=0b111)),
        ("new-axis", _ss([0, 0, 1], [0, 2, 3], [1, 1, 1], new_axis_mask=0b001)),
        ("new-axis-middle", _ss([1, 0, 0], [2, 0, 3], [1, 1, 1], new_axis_mask=0b010)),
        ("ellipsis", _ss([0, 1], [0, 3], [1, 1], ellipsis_mask=0b01)),
        ("ellipsis-middle", _ss([1, 0, 2], [2, 0, 4], [1, 1, 1], ellipsis_mask=0b010)),
        ("ellipsis-new-shrink", _ss([0, 0, 1], [0, 0, 2], [1, 1, 1], ellipsis_mask=0b001,
                                    new_axis_mask=0b010, shrink_axis_mask=0b100)),
        ("clamp", _ss([-10, 1, 2], [10, 100, 3], [1, 1, 1])),
        ("clamp-neg-stride", _ss([10, 100, 3], [-10, -100, -10], [-1, -2, -1])),
        ("empty-result", _ss([2, 0, 0], [1, 4, 5], [1, 1, 1])),
        ("fewer-dims", _ss([1], [3], [1])),
        ("zero-stride", _ss([0], [1], [0])),
        ("shrink-out-of-range", _ss([5], [6], [1], shrink_axis_mask=1)),
):
    case("StridedSlice", _n, _f, x=_X345)
case("StridedSlice", "i64-indices",
     lambda x, b, e, s: raw.StridedSlice(input=x, begin=b, end=e, strides=s, name="target"),
     x=i32(6, 4), b=np.array([5, 0], np.int64), e=np.array([0, 4], np.int64),
     s=np.array([-2, 1], np.int64))
case("StridedSlice", "bool", _ss([1], [3], [1]), x=bools(4))

def _gv2(p, i, a):
    return raw.GatherV2(params=p, indices=i, axis=a, name="target")


for _ax in (0, 1, -1, 2):
    case("GatherV2", f"axis{_ax}",
         _gv2,
         p=f32(4, 5, 3), i=np.array([[3, 0], [1, 1], [2, 0]], np.int32)[:, :] % 3,
         a=np.array(_ax, np.int32))
case("GatherV2", "i64-indices-axis", _gv2,
     p=i64(5, 2), i=np.array([4, 0, 4], np.int64), a=np.array(0, np.int64))
case("GatherV2", "scalar-index", _gv2,
     p=f32(5, 2), i=np.array(3, np.int32), a=np.array(1, np.int32) * 0)
case("GatherV2", "empty-indices", _gv2,
     p=f32(5, 2), i=np.zeros((0, 2), np.int32), a=np.array(0, np.int32))
case("GatherV2", "bool-params", _gv2,
     p=bools(5), i=np.array([1, 2, 1], np.int32), a=np.array(0, np.int32))
case("GatherV2", "out-of-range", _gv2,
     p=f32(5, 2), i=np.array([1, 5], np.int32), a=np.array(0, np.int32))
case("GatherV2", "negative-index", _gv2,
     p=f32(5, 2), i=np.array([-1], np.int32), a=np.array(0, np.int32))
for _bd, _ax in ((1, 1), (1, 2), (1, -1), (2, 2), (-1, 1)):
    case("GatherV2", f"batch-dims{_bd}-axis{_ax}",
         lambda p, i, a, _bd=_bd: raw.GatherV2(params=p, indices=i, axis=a, batch_dims=_bd,
                                               name="target"),
         p=f32(2, 3, 4), i=_R.integers(0, 3, size=(2, 3, 2)).astype(np.int32),
         a=np.array(_ax, np.int32))
case("Gather", "basic", lambda p, i: raw.Gather(params=p, indices=i, name="target"),
     p=f32(5, 3), i=np.array([[4, 0], [2, 2]], np.int32))
case("Gather", "out-of-range", lambda p, i: raw.Gather(params=p, indices=i, name="target"),
     p=f32(5, 3), i=np.array([7], np.int64))

for _m, _n in (([2, 3], "2d"), ([1, 1], "ones"), ([0, 2], "zero"), ([3], "1d")):
    case("Tile", _n, lambda x, m: raw.Tile(input=x, multiples=m, name="target"),
         x=f32(*[2, 3][:len(_m)]), m=np.array(_m, np.int32))
case("Tile", "i64-bool", lambda x, m: raw.Tile(input=x, multiples=m, name="target"),
     x=bools(2, 1), m=np.array([2, 3], np.int64))
case("Tile", "negative", lambda x, m: raw.Tile(input=x, multiples=m, name="target"),
     x=f32(2), m=np.array([-1], np.int32))

for _ax in (-1, 0, 1):
    case("OneHot", f"axis{_ax}",
         lambda i, d, on, off, _ax=_ax: raw.OneHot(indices=i, depth=d, on_value=on,
                                                   off_value=off, axis=_ax, name="target"),
         i=np.array([[0, 2], [-1, 5]], np.int32), d=np.array(4, np.int32),
         on=np.float32(1.5), off=np.float32(-0.5))
case("OneHot", "i64-indices-i32-values",
     lambda i, d, on, off: raw.OneHot(indices=i, depth=d, on_value=on, off_value=off,
                                      name="target"),
     i=np.array([3, 0, 1], np.int64), d=np.array(3, np.int32), on=np.int32(7), off=np.int32(0))
case("OneHot", "scalar-index",
     lambda i, d, on, off: raw.OneHot(indices=i, depth=d, on_value=on, off_value=off,
                                      name="target"),
     i=np.array(2, np.int32), d=np.array(3, np.int32), on=np.float64(1), off=np.float64(0))
case("OneHot", "negative-depth",
     lambda i, d, on, off: raw.OneHot(indices=i, depth=d, on_value=on, off_value=off,
                                      name="target"),
     i=np.array([1], np.int32), d=np.array(-1, np.int32), on=np.float32(1), off=np.float32(0))

for _n, (_s, _l, _d, _t) in {
        "int": (0, 10, 3, np.int32), "negative-delta": (10, -3, -4, np.int32),
        "float": (0.5, 2.0, 0.3, np.float32), "float-neg": (1.0, -1.0, -0.25, np.float32),
        "empty": (5, 5, 1, np.int32), "empty-wrong-dir": (5, 0, 1, np.int64),
        "f64": (-1.0, 1.0, 0.1, np.float64), "i64": (-(2**40), 2**40, 2**38, np.int64),
        "zero-delta": (0, 5, 0, np.int32)}.items():
    case("Range", _n, lambda s, l, d: raw.Range(start=s, limit=l, delta=d, name="target"),
         s=_t(_s), l=_t(_l), d=_t(_d))

case("Pad", "2d", lambda x, p: raw.Pad(input=x, paddings=p, name="target"),
     x=f32(2, 3), p=np.array([[1, 2], [0, 1]], np.int32))
case("Pad", "i64-paddings-int", lambda x, p: raw.Pad(input=x, paddings=p, name="target"),
     x=i64(2, 1, 2), p=np.array([[0, 0], [2, 1], [1, 0]], np.int64))
case("Pad", "empty", lambda x, p: raw.Pad(input=x, paddings=p, name="target"),
     x=f32(0, 2), p=np.array([[1, 1], [0, 0]], np.int32))
case("Pad", "scalar", lambda x, p: raw.Pad(input=x, paddings=p, name="target"),
     x=np.float32(2), p=np.zeros((0, 2), np.int32))
case("Pad", "negative", lambda x, p: raw.Pad(input=x, paddings=p, name="target"),
     x=f32(2, 3), p=np.array([[-1, 0], [0, 0]], np.int32))
case("Pad", "bad-paddings-shape", lambda x, p: raw.Pad(input=x, paddings=p, name="target"),
     x=f32(2, 3), p=np.array([[1, 0]], np.int32))
case("PadV2", "value",
     lambda x, p, c: raw.PadV2(input=x, paddings=p, constant_values=c, name="target"),
     x=f32(2, 2), p=np.array([[1, 0], [1, 2]], np.int32), c=np.float32(-9.5))
case("PadV2", "bool",
     lambda x, p, c: raw.PadV2(input=x, paddings=p, constant_values=c, name="target"),
     x=bools(3), p=np.array([[2, 1]], np.int32), c=np.array(True))

for _ax, _num in ((0, 2), (1, 3), (-1, 2), (2, 1)):
    case("Split", f"axis{_ax}-n{_num}",
         lambda x, a, _num=_num: list(raw.Split(axis=a, value=x, num_split=_num, name="target")),
         x=f32(4, 6, 2), a=np.array(_ax, np.int32))
case("Split", "uneven", lambda x, a: list(raw.Split(axis=a, value=x, num_split=4, name="target")),
     x=f32(6, 2), a=np.array(0, np.int32))
case("Split", "i64-bool", lambda x, a: list(raw.Split(axis=a, value=x, num_split=2, name="target")),
     x=bools(2, 4), a=np.array(1, np.int32))
for _sz, _n in (([1, 2, 3], "exact"), ([2, -1, 1], "infer"), ([0, 6, 0], "zeros")):
    case("SplitV", _n,
         lambda x, s, a: list(raw.SplitV(value=x, size_splits=s, axis=a, num_split=3,
                                         name="target")),
         x=f32(2, 6), s=np.array(_sz, np.int32), a=np.array(1, np.int32))
case("SplitV", "i64-sizes-neg-axis",
     lambda x, s, a: list(raw.SplitV(value=x, size_splits=s, axis=a, num_split=2, name="target")),
     x=i32(3, 5), s=np.array([4, 1], np.int64), a=np.array(-1, np.int32))
case("SplitV", "bad-sum",
     lambda x, s, a: list(raw.SplitV(value=x, size_splits=s, axis=a, num_split=2, name="target")),
     x=f32(6), s=np.array([2, 3], np.int32), a=np.array(0, np.int32))

def _by_index(values, indices):
    """TopKV2 with sorted=False: TF leaves the order unspecified (its heap's
    order); compare each row's (index, value) pairs ordered by index."""
    order = np.argsort(indices, axis=-1, kind="stable")
    return [np.take_along_axis(values, order, -1), np.take_along_axis(indices, order, -1)]


for _k, _x in (("f32", f32(3, 8)),
               ("ties", np.array([[1, 3, 3, 2, 3, 1], [5, 5, 5, 5, 5, 5]], np.float32)),
               ("i32", i32(4, 10, lo=0, hi=4)), ("i64", i64(2, 7, lo=0, hi=3)), ("f64", f64(5, 4)),
               ("rank1", f32(9)), ("inf", np.array([1, -inf, inf, 0, inf], np.float32))):
    for _sorted in (True, False):
        for _kk in (1, 3):
            case("TopKV2", f"{_k}-k{_kk}-sorted{int(_sorted)}",
                 lambda x, k, _sorted=_sorted: list(raw.TopKV2(input=x, k=k, sorted=_sorted,
                                                               name="target")),
                 canon=None if _sorted else _by_index, x=_x, k=np.array(_kk, np.int32))
case("TopKV2", "k0", lambda x, k: list(raw.TopKV2(input=x, k=k, name="target")),
     x=f32(2, 3), k=np.array(0, np.int32))
case("TopKV2", "k-too-big", lambda x, k: list(raw.TopKV2(input=x, k=k, name="target")),
     x=f32(2, 3), k=np.array(4, np.int32))


# ---- ops that move elements, in the dtypes only they support (bytes moved as is)

def _odd(dtype, *shape):
    n = int(np.prod(shape))
    if dtype == "string":
        arr = np.empty(n, dtype=object)
        arr[:] = [f"s{i}".encode() * (i % 3) for i in range(n)]
        return arr.reshape(shape)
    if dtype == "complex64":
        z = _R.standard_normal(n) + 1j * _R.standard_normal(n)
        return z.astype(np.complex64).reshape(shape)
    if dtype == "float16":
        return _R.standard_normal(n).astype(np.float16).reshape(shape)
    info = np.iinfo(dtype)
    return _R.integers(info.min, info.max, size=n, endpoint=True).astype(dtype).reshape(shape)


_I = lambda *v: np.array(v, np.int32)  # noqa: E731
MOVERS = {
    "Identity": (lambda x: raw.Identity(input=x, name="target"), {}),
    "Reshape": (lambda x: raw.Reshape(tensor=x, shape=[3, -1], name="target"), {}),
    "Transpose": (lambda x: raw.Transpose(x=x, perm=[1, 0], name="target"), {}),
    "ExpandDims": (lambda x: raw.ExpandDims(input=x, axis=1, name="target"), {}),
    "Squeeze": (lambda x: raw.Squeeze(input=raw.ExpandDims(input=x, axis=0), name="target"), {}),
    "ConcatV2": (lambda x: raw.ConcatV2(values=[x, x], axis=1, name="target"), {}),
    "Pack": (lambda x: raw.Pack(values=[x, x], axis=1, name="target"), {}),
    "Unpack": (lambda x: list(raw.Unpack(value=x, num=2, axis=0, name="target")), {}),
    "Slice": (lambda x: raw.Slice(input=x, begin=[0, 1], size=[-1, 2], name="target"), {}),
    "StridedSlice": (lambda x: raw.StridedSlice(input=x, begin=[1, 2], end=[0, 0], strides=[-1, -1],
                                                name="target"), {}),
    "GatherV2": (lambda x: raw.GatherV2(params=x, indices=[2, 0, 2], axis=1, name="target"), {}),
    "Tile": (lambda x: raw.Tile(input=x, multiples=[2, 1], name="target"), {}),
    "Pad": (lambda x: raw.Pad(input=x, paddings=[[1, 0], [0, 2]], name="target"), {}),
    "Split": (lambda x: list(raw.Split(axis=1, value=x, num_split=3, name="target")), {}),
    "SplitV": (lambda x: list(raw.SplitV(value=x, size_splits=[1, 2], axis=0, num_split=2,
                                         name="target")), {}),
    "Fill": (lambda x: raw.Fill(dims=[2, 2], value=raw.Reshape(tensor=x, shape=[-1])[0],
                                name="target"), {}),
    "Shape": (lambda x: raw.Shape(input=x, name="target"), {}),
    "IdentityN": (lambda x: list(raw.IdentityN(input=[x, x], name="target")), {}),
}
for _dt in ("uint8", "int8", "int16", "uint16", "float16", "complex64", "string"):
    for _op, (_f, _) in MOVERS.items():
        case(_op, f"dtype-{_dt}", _f, x=_odd(_dt, 2, 3))


# ---- accumulation over many terms (absolute floor scaled to the terms' size)

case("MatMul", "k512", lambda a, b: raw.MatMul(a=a, b=b, name="target"), atol=2e-4,
     a=f32(64, 512), b=f32(512, 48))
case("BatchMatMulV2", "k300", lambda a, b: raw.BatchMatMulV2(x=a, y=b, name="target"), atol=2e-4,
     a=f32(3, 20, 300), b=f32(300, 10))
case("Conv2D", "c64-3x3", _conv((1, 1), "SAME", (1, 1)), atol=2e-4,
     x=f32(2, 12, 12, 64), w=f32(3, 3, 64, 16))
case("DepthwiseConv2dNative", "c32-5x5",
     lambda x, w: raw.DepthwiseConv2dNative(input=x, filter=w, strides=[1, 2, 2, 1],
                                            padding="SAME", name="target"),
     atol=2e-5, x=f32(2, 15, 15, 32), w=f32(5, 5, 32, 2))
for _op in ("Sum", "Mean"):
    case(_op, "100k-f32", lambda x, a, _op=_op: getattr(raw, _op)(input=x, axis=a, name="target"),
         atol=2e-3 if _op == "Sum" else 2e-8, rtol=1e-4, x=f32(100000) + 0.5,
         a=np.array([0], np.int32))
    case(_op, "rows-f32", lambda x, a, _op=_op: getattr(raw, _op)(input=x, axis=a, name="target"),
         atol=2e-4, x=f32(50, 2000), a=np.array([1], np.int32))
case("Softmax", "wide", lambda x: raw.Softmax(logits=x, name="target"), atol=1e-7,
     x=f32(4, 3000, scale=5))
case("LogSoftmax", "wide", lambda x: raw.LogSoftmax(logits=x, name="target"), atol=1e-5,
     x=f32(4, 3000, scale=5))
case("AvgPool", "k7", lambda x: raw.AvgPool(value=x, ksize=[1, 7, 7, 1], strides=[1, 1, 1, 1],
                                            padding="VALID", name="target"),
     x=f32(1, 9, 9, 8))


# ---- empty tensors through the heavier kernels

case("Conv2D", "empty-batch", _conv((1, 1), "SAME", (1, 1)), x=f32(0, 4, 4, 2), w=f32(3, 3, 2, 3))
case("Conv2D", "empty-out-channels", _conv((1, 1), "VALID", (1, 1)), x=f32(1, 4, 4, 2),
     w=f32(3, 3, 2, 0))
case("DepthwiseConv2dNative", "empty-batch",
     lambda x, w: raw.DepthwiseConv2dNative(input=x, filter=w, strides=[1, 1, 1, 1],
                                            padding="VALID", name="target"),
     x=f32(0, 4, 4, 2), w=f32(2, 2, 2, 1))
for _pool in ("MaxPool", "AvgPool"):
    _arg = "input" if _pool == "MaxPool" else "value"
    case(_pool, "empty-batch", lambda x, _pool=_pool, _arg=_arg: getattr(raw, _pool)(
        **{_arg: x}, ksize=[1, 2, 2, 1], strides=[1, 1, 1, 1], padding="SAME", name="target"),
        x=f32(0, 3, 3, 2))
case("FusedBatchNormV3", "empty-batch",
     lambda x, s, o, m, v: raw.FusedBatchNormV3(x=x, scale=s, offset=o, mean=m, variance=v,
                                                is_training=False, name="target")[0],
     x=f32(0, 2, 2, 3), s=f32(3), o=f32(3), m=f32(3), v=np.abs(f32(3)))
case("BiasAdd", "empty", lambda x, b: raw.BiasAdd(value=x, bias=b, name="target"),
     x=f32(0, 3), b=f32(3))
case("ArgMax", "empty-outer", lambda x, a: raw.ArgMax(input=x, dimension=a, name="target"),
     x=np.zeros((0, 4), np.float32), a=np.array(1, np.int32))
case("TopKV2", "empty-rows", lambda x, k: list(raw.TopKV2(input=x, k=k, name="target")),
     x=np.zeros((0, 4), np.float32), k=np.array(2, np.int32))
case("OneHot", "empty-indices",
     lambda i, d, on, off: raw.OneHot(indices=i, depth=d, on_value=on, off_value=off,
                                      name="target"),
     i=np.zeros((0,), np.int32), d=np.array(3, np.int32), on=np.float32(1), off=np.float32(0))
case("Transpose", "empty", lambda x, p: raw.Transpose(x=x, perm=p, name="target"),
     x=f32(2, 0, 3), p=np.array([2, 0, 1], np.int32))
case("Tile", "empty-input", lambda x, m: raw.Tile(input=x, multiples=m, name="target"),
     x=f32(0, 2), m=np.array([3, 2], np.int32))
case("Cast", "empty", lambda x: raw.Cast(x=x, DstT=tf.int64, name="target"), x=f32(0, 2))
case("Mean", "ints-i64-negative", lambda x, a: raw.Mean(input=x, axis=a, name="target"),
     x=np.array([[-3, -4], [5, -8], [-1, 0]], np.int64), a=np.array([0], np.int32))
case("Mean", "empty-i32", lambda x, a: raw.Mean(input=x, axis=a, name="target"),
     x=np.zeros((0, 2), np.int32), a=np.array([0], np.int32))
case("Mean", "empty-f32", lambda x, a: raw.Mean(input=x, axis=a, name="target"),
     x=np.zeros((0, 2), np.float32), a=np.array([0], np.int32))
case("Prod", "empty-i64", lambda x, a: raw.Prod(input=x, axis=a, name="target"),
     x=np.zeros((3, 0), np.int64), a=np.array([1], np.int32))
case("Max", "empty-i32", lambda x, a: raw.Max(input=x, axis=a, name="target"),
     x=np.zeros((3, 0), np.int32), a=np.array([1], np.int32))
case("Min", "empty-i64", lambda x, a: raw.Min(input=x, axis=a, name="target"),
     x=np.zeros((3, 0), np.int64), a=np.array([1], np.int32))


# ---- NaN through the kernels that compare or accumulate

_NANROWS = np.array([[1, nan, 2, 0], [nan, nan, nan, nan], [-inf, -inf, -inf, -inf],
                     [3, 3, nan, 3], [0, 1, 2, 3]], np.float32)
case("Softmax", "nan-rows", lambda x: raw.Softmax(logits=x, name="target"), x=_NANROWS)
case("LogSoftmax", "nan-rows", lambda x: raw.LogSoftmax(logits=x, name="target"), x=_NANROWS)
case("ArgMax", "nan", lambda x, a: raw.ArgMax(input=x, dimension=a, name="target"),
     x=_NANROWS, a=np.array(1, np.int32))
case("ArgMax", "nan-axis0", lambda x, a: raw.ArgMax(input=x, dimension=a, name="target"),
     x=_NANROWS, a=np.array(0, np.int32))
case("TopKV2", "nan", lambda x, k: list(raw.TopKV2(input=x, k=k, name="target")),
     x=_NANROWS, k=np.array(2, np.int32),
     known_difference="TF's TopKV2 places NaN by its sort's internals: ignored for k=1, first "
                      "or in place for k>1 depending on position; ckpt orders NaN consistently "
                      "(NaN never compares larger). No rule to match short of copying TF's code.")
case("AvgPool", "nan-inf", lambda x: raw.AvgPool(value=x, ksize=[1, 2, 2, 1],
                                                 strides=[1, 1, 1, 1], padding="SAME",
                                                 name="target"),
     x=_NANROWS.reshape(1, 5, 4, 1))
case("Conv2D", "nan-inf", _conv((1, 1), "SAME", (1, 1)), x=_NANROWS.reshape(1, 5, 4, 1),
     w=f32(2, 2, 1, 2))
case("MatMul", "nan-rows", lambda a, b: raw.MatMul(a=a, b=b, name="target"), a=_NANROWS,
     b=f32(4, 3))
for _op in ("Sum", "Mean", "Prod"):
    case(_op, "nan-rows", lambda x, a, _op=_op: getattr(raw, _op)(input=x, axis=a, name="target"),
         x=_NANROWS, a=np.array([1], np.int32))
case("FusedBatchNormV3", "nan",
     lambda x, s, o, m, v: raw.FusedBatchNormV3(x=x, scale=s, offset=o, mean=m, variance=v,
                                                is_training=False, name="target")[0],
     x=_NANROWS.reshape(1, 5, 1, 4), s=f32(4), o=f32(4), m=np.array([0, nan, 0, 0], np.float32),
     v=np.array([1, 1, -2, 0], np.float32))


# ---- hostile sizes: TF refuses them, ckpt must too (and not crash or allocate)

case("Fill", "shape-overflow", lambda d, v: raw.Fill(dims=d, value=v, name="target"),
     d=np.array([2**40, 2**40], np.int64), v=np.float32(1))
case("Reshape", "infer-from-empty", lambda x, s: raw.Reshape(tensor=x, shape=s, name="target"),
     x=f32(0, 3), s=np.array([-1, 0], np.int32))
case("Reshape", "shape-overflow", lambda x, s: raw.Reshape(tensor=x, shape=s, name="target"),
     x=f32(0), s=np.array([2**40, 2**40, 0], np.int64))
case("Tile", "overflow", lambda x, m: raw.Tile(input=x, multiples=m, name="target"),
     x=f32(2, 2), m=np.array([2**40, 2**40], np.int64))
case("Range", "huge-count", lambda s, l, d: raw.Range(start=s, limit=l, delta=d, name="target"),
     s=np.int64(0), l=np.int64(2**62), d=np.int64(1))
case("OneHot", "huge-depth",
     lambda i, d, on, off: raw.OneHot(indices=i, depth=d, on_value=on, off_value=off,
                                      name="target"),
     i=np.zeros((2**20,), np.int32), d=np.array(2**31 - 1, np.int32), on=np.float32(1),
     off=np.float32(0))
case("Pad", "huge", lambda x, p: raw.Pad(input=x, paddings=p, name="target"),
     x=f32(1, 1), p=np.array([[0, 2**40], [0, 2**40]], np.int64))


# ---- data_format NCHW (TF's CPU kernels run some of these)

case("BiasAdd", "NCHW", lambda x, b: raw.BiasAdd(value=x, bias=b, data_format="NCHW",
                                                 name="target"), x=f32(2, 3, 4, 5), b=f32(3))
case("BiasAdd", "NCHW-rank3", lambda x, b: raw.BiasAdd(value=x, bias=b, data_format="NCHW",
                                                       name="target"), x=f32(2, 3, 4), b=f32(3))
case("FusedBatchNormV3", "NCHW",
     lambda x, s, o, m, v: raw.FusedBatchNormV3(x=x, scale=s, offset=o, mean=m, variance=v,
                                                is_training=False, data_format="NCHW",
                                                name="target")[0],
     x=f32(2, 3, 4, 4), s=f32(3), o=f32(3), m=f32(3), v=np.abs(f32(3)))
case("Conv2D", "NCHW", lambda x, w: raw.Conv2D(input=x, filter=w, strides=[1, 1, 1, 1],
                                               padding="SAME", data_format="NCHW", name="target"),
     x=f32(1, 2, 5, 5), w=f32(3, 3, 2, 2))
for _pool in ("MaxPool", "AvgPool"):
    _arg = "input" if _pool == "MaxPool" else "value"
    case(_pool, "NCHW", lambda x, _pool=_pool, _arg=_arg: getattr(raw, _pool)(
        **{_arg: x}, ksize=[1, 1, 2, 2], strides=[1, 1, 2, 2], padding="VALID",
        data_format="NCHW", name="target"), x=f32(1, 2, 4, 4))



# ---- the split and fused float paths (src/ops/onednn.cc, src/exec/session.cc's
# epilogue fusion): one image split by output rows, several by images, GEMMs
# big enough for oneDNN and for a split; Conv2D/MatMul -> BiasAdd -> Relu chains
# run as one kernel call, NaN included (Relu keeps it).
def _with_nans(a, every=97):
    a = a.copy()
    a.reshape(-1)[::every] = nan
    return a


def _conv_chain(strides, padding, dilations, relu=True):
    def build(x, w, b):
        y = raw.BiasAdd(value=raw.Conv2D(input=x, filter=w, strides=[1, *strides, 1],
                                         padding=padding, dilations=[1, *dilations, 1]), bias=b)
        return raw.Relu(features=y, name="target") if relu else raw.Identity(input=y, name="target")
    return build


case("Conv2D", "rows-split-SAME", _conv((1, 1), "SAME", (1, 1)), atol=1e-4,
     x=f32(1, 30, 30, 32), w=f32(3, 3, 32, 32))
case("Conv2D", "rows-split-stride2-VALID-uneven", _conv((2, 2), "VALID", (1, 1)), atol=1e-4,
     x=f32(1, 41, 37, 16), w=f32(5, 3, 16, 24))
case("Conv2D", "rows-split-SAME-dilation2", _conv((1, 1), "SAME", (2, 2)), atol=1e-4,
     x=f32(1, 33, 31, 16), w=f32(3, 3, 16, 32))
case("Conv2D", "rows-split-SAME-stride3-padding", _conv((3, 3), "SAME", (1, 1)), atol=1e-4,
     x=f32(1, 64, 50, 8), w=f32(7, 7, 8, 32))
case("Conv2D", "images-split-bias-relu-nan", _conv_chain((1, 1), "SAME", (1, 1)), atol=1e-4,
     x=_with_nans(f32(3, 20, 20, 16)), w=f32(3, 3, 16, 32), b=f32(32))
case("Conv2D", "rows-split-bias-relu", _conv_chain((2, 2), "SAME", (1, 1)), atol=1e-4,
     x=f32(1, 48, 48, 16), w=f32(3, 3, 16, 32), b=f32(32))
case("Conv2D", "small-bias-no-relu", _conv_chain((1, 1), "VALID", (1, 1), relu=False),
     x=_with_nans(f32(1, 6, 5, 3), every=7), w=f32(2, 2, 3, 4), b=f32(4))
case("Conv2D", "bias-relu-f64", _conv_chain((1, 1), "SAME", (1, 1)),
     x=f64(2, 5, 5, 3), w=f64(3, 3, 3, 4), b=f64(4))
case("MatMul", "bias-relu-nan", lambda a, w, b: raw.Relu(
    features=raw.BiasAdd(value=raw.MatMul(a=a, b=w), bias=b), name="target"), atol=1e-5,
     a=_with_nans(f32(100, 64)), w=f32(64, 128), b=f32(128))
case("MatMul", "split-bias", lambda a, w, b: raw.BiasAdd(
    value=raw.MatMul(a=a, b=w), bias=b, name="target"), atol=1e-4,
     a=f32(300, 256), w=f32(256, 128), b=f32(128))
for _ta, _tb in ((True, False), (False, True), (True, True)):
    case("MatMul", f"large-ta{int(_ta)}-tb{int(_tb)}",
         lambda a, b, _ta=_ta, _tb=_tb: raw.MatMul(a=a, b=b, transpose_a=_ta, transpose_b=_tb,
                                                   name="target"), atol=1e-4,
         a=f32(*((256, 200) if _ta else (200, 256))), b=f32(*((96, 256) if _tb else (256, 96))))
for _tb in (False, True):
    case("MatMul", f"few-rows-wide-tb{int(_tb)}",
         lambda a, b, _tb=_tb: raw.MatMul(a=a, b=b, transpose_b=_tb, name="target"), atol=1e-4,
         a=f32(2, 3136), b=f32(*((128, 3136) if _tb else (3136, 128))))
case("MaxPool", "split-SAME-3x3-stride2", lambda x: raw.MaxPool(
    input=x, ksize=[1, 3, 3, 1], strides=[1, 2, 2, 1], padding="SAME", name="target"),
     x=_with_nans(f32(4, 33, 31, 32), every=101))
case("AvgPool", "split-SAME-3x3-stride2", lambda x: raw.AvgPool(
    value=x, ksize=[1, 3, 3, 1], strides=[1, 2, 2, 1], padding="SAME", name="target"),
     x=f32(4, 33, 31, 32))

# ---- what Session runs itself (src/exec/session.cc)

case("Identity", "f32", lambda x: raw.Identity(input=x, name="target"), x=f32(2, 3))
case("Identity", "bool-empty", lambda x: raw.Identity(input=x, name="target"), x=bools(0, 2))
case("IdentityN", "mixed", lambda x, y: list(raw.IdentityN(input=[x, y], name="target")),
     x=f32(3), y=i64(2, 2))
case("PlaceholderWithDefault", "fed",
     lambda x: raw.Identity(input=v1.placeholder_with_default(x, shape=None, name="target_pwd"),
                            name="target"), x=f32(3))
case("PlaceholderWithDefault", "default",
     lambda x: raw.Identity(input=v1.placeholder_with_default(
         tf.constant([1.5, -2.0]), shape=[2], name="target_pwd"), name="target") + x, x=f32(2))
case("Placeholder", "unfed",
     lambda x: raw.AddV2(x=x, y=v1.placeholder(tf.float32, name="target_unfed"), name="target"),
     x=f32(2))
for _dt, _val in ((tf.float32, [[1.5, -2.0]]), (tf.float64, [1e-300, -0.0]), (tf.int32, [1, -2, 3]),
                  (tf.int64, [[2**40]]), (tf.bool, [True, False]),
                  (tf.string, [b"a", b"", b"\x00z"]),
                  (tf.uint8, [0, 255]), (tf.int8, [-128, 127]), (tf.int16, [-3]),
                  (tf.uint16, [65535]), (tf.float16, [0.5, -2.0]), (tf.complex64, [1 + 2j])):
    case("Const", _dt.name,
         lambda x, _dt=_dt, _val=_val: [tf.constant(_val, dtype=_dt, name="target"),
                                        raw.Identity(input=x, name="target_id")],
         x=f32(1))
case("Const", "empty-and-scalar",
     lambda x: [tf.constant(np.zeros((0, 3), np.float32), name="target"),
                tf.constant(7, dtype=tf.int64, name="target_s")], x=f32(1))
case("NoOp", "control-dep", lambda x: _with_noop(x), x=f32(2))


def _with_noop(x):
    noop = raw.NoOp(name="target_noop")
    with tf.control_dependencies([noop]):
        return raw.Identity(input=x, name="target")


def _ref_variable(op):
    def build(x):
        var = getattr(raw, op)(shape=[2], dtype=tf.float32, name="target_var")
        return raw.Assign(ref=var, value=x, name="target_assign")
    return build


case("Assign", "value", _ref_variable("VariableV2"), x=f32(2))
case("Variable", "assign", _ref_variable("Variable"), x=f32(2))
case("VariableV2", "uninitialized",
     lambda x: raw.AddV2(x=raw.VariableV2(shape=[2], dtype=tf.float32, name="target_var"), y=x,
                         name="target"), x=f32(2))


def _resource_variable(x):
    h = raw.VarHandleOp(dtype=tf.float32, shape=[2], name="target_handle")
    assign = raw.AssignVariableOp(resource=h, value=x, name="target_assign")
    with tf.control_dependencies([assign]):
        return raw.ReadVariableOp(resource=h, dtype=tf.float32, name="target")


case("VarHandleOp", "assign-read", _resource_variable, x=f32(2))
case("ReadVariableOp", "uninitialized",
     lambda x: raw.AddV2(x=raw.ReadVariableOp(
         resource=raw.VarHandleOp(dtype=tf.float32, shape=[2], name="target_handle"),
         dtype=tf.float32, name="target_read"), y=x, name="target"), x=f32(2))
case("AssignVariableOp", "assign-read", _resource_variable, x=f32(2))


# ---- ops added on other branches (exec-models): skipped while this tree has no kernel

case("AddN", "three", lambda a, b, c: raw.AddN(inputs=[a, b, c], name="target"),
     a=f32(2, 3), b=f32(2, 3), c=f32(2, 3))
case("AddN", "one-i64", lambda a: raw.AddN(inputs=[a], name="target"), a=i64(4))
case("AddN", "mismatch", lambda a, b: raw.AddN(inputs=[a, b], name="target"), a=f32(2), b=f32(3))
case("Assert", "true",
     lambda x, c: _after(raw.Assert(condition=c, data=[x], name="target_assert"), x),
     x=f32(2), c=np.array(True))
case("Assert", "false",
     lambda x, c: _after(raw.Assert(condition=c, data=[x], name="target"), x),
     x=f32(2), c=np.array(False))
case("DynamicPartition", "basic",
     lambda x, p: list(raw.DynamicPartition(data=x, partitions=p, num_partitions=3,
                                            name="target")),
     x=f32(5, 2), p=np.array([2, 0, 2, 1, 0], np.int32))
case("DynamicPartition", "out-of-range",
     lambda x, p: list(raw.DynamicPartition(data=x, partitions=p, num_partitions=2,
                                            name="target")),
     x=f32(3), p=np.array([0, 2, 1], np.int32))
for _op in ("DynamicStitch", "ParallelDynamicStitch"):
    case(_op, "basic", lambda a, b, _op=_op: getattr(raw, _op)(
        indices=[np.array([0, 2], np.int32), np.array([[1], [3]], np.int32)], data=[a, b],
        name="target"), a=f32(2, 3), b=f32(2, 1, 3))
    case(_op, "overlap", lambda a, b, _op=_op: getattr(raw, _op)(
        indices=[np.array([0, 1], np.int32), np.array([1, 2], np.int32)], data=[a, b],
        name="target"), a=i32(2), b=i32(2))
for _op in ("PreventGradient", "StopGradient", "Snapshot"):
    case(_op, "f32", lambda x, _op=_op: getattr(raw, _op)(input=x, name="target"), x=f32(2, 2))
case("RandomUniform", "seeded",
     lambda x: [raw.RandomUniform(shape=[3, 4], dtype=tf.float32, seed=7, seed2=3,
                                  name="target"), raw.Identity(input=x)], x=f32(1))
case("RandomUniform", "seed2-only",
     lambda x: [raw.RandomUniform(shape=[5], dtype=tf.float32, seed=0, seed2=11,
                                  name="target"), raw.Identity(input=x)], x=f32(1))
case("Rank", "rank3", lambda x: raw.Rank(input=x, name="target"), x=f32(2, 0, 3))
case("Size", "i64", lambda x: raw.Size(input=x, out_type=tf.int64, name="target"), x=f32(2, 3))
case("Size", "scalar", lambda x: raw.Size(input=x, name="target"), x=np.int32(4))


for _k, _x in (("f32", np.array([-inf, -1, 0, 0.5, 1, 1.5, 2, 10, inf, nan], np.float32)),
               ("i32", np.array([[-3, 0, 1], [2, 5, 100]], np.int32)),
               ("i64", np.array([0, 1, 2, 3], np.int64)), ("f64", f64(3, 4))):
    case("Bucketize", _k, lambda x: raw.Bucketize(input=x, boundaries=[0.0, 1.0, 2.5],
                                                  name="target"), x=_x)
case("Bucketize", "no-boundaries", lambda x: raw.Bucketize(input=x, boundaries=[],
                                                           name="target"), x=f32(3))
# The hash of the categorical_column_with_hash_bucket feature column (Fingerprint64 mod n).
_WORDS = np.array([b"", b"a", b"setosa", b"versicolor", b"virginica", "h\u00e9".encode(),
                   b"\x00\xff", b"x" * 300], dtype=object)
for _n in (1, 7, 1000, 2**31 - 1):
    case("StringToHashBucketFast", f"buckets{_n}", lambda x, _n=_n: raw.StringToHashBucketFast(
        input=x, num_buckets=_n, name="target"), x=_WORDS)
case("StringToHashBucketFast", "matrix", lambda x: raw.StringToHashBucketFast(
    input=x, num_buckets=10, name="target"), x=_WORDS.reshape(2, 4))
# The tf.Example serving receiver's parse (dense features; see also
# test_parse_example.py). No example ends in a NUL byte: string feeds are
# numpy 'S' arrays.


def _example(**features):
    def feature(v):
        if isinstance(v[0], float):
            return tf.train.Feature(float_list=tf.train.FloatList(value=v))
        if isinstance(v[0], int):
            return tf.train.Feature(int64_list=tf.train.Int64List(value=v))
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=v))
    return tf.train.Example(features=tf.train.Features(
        feature={k: feature(v) for k, v in features.items()})).SerializeToString()


_EXAMPLES = np.array([_example(a=[1.5, -2.0], b=[7], c=[b"x"]), _example(a=[3.0, 4.0], b=[-9]),
                      _example(a=[0.5, 0.25], b=[2**40], c=[b"yz"])], dtype=object)
_DENSE = dict(dense_keys=["a", "b", "c"], dense_shapes=[[2], [1], []])


def _defaults(c_default):
    return [tf.constant([], tf.float32), tf.constant([], tf.int64),
            tf.constant(c_default, tf.string)]


for _v, _c in (("defaults", "none"), ("required", [])):
    case("ParseExampleV2", _v, lambda x, _c=_c: list(raw.ParseExampleV2(
        serialized=x, names=[], sparse_keys=[], ragged_keys=[], dense_defaults=_defaults(_c),
        num_sparse=0, sparse_types=[], ragged_value_types=[], ragged_split_types=[],
        name="target", **_DENSE).dense_values), x=_EXAMPLES)
case("ParseExampleV2", "wrong-type", lambda x: list(raw.ParseExampleV2(
    serialized=x, names=[], sparse_keys=[], ragged_keys=[],
    dense_defaults=[tf.constant([], tf.int64)], num_sparse=0, sparse_types=[],
    ragged_value_types=[], ragged_split_types=[], dense_keys=["a"], dense_shapes=[[2]],
    name="target").dense_values), x=_EXAMPLES)
case("ParseExample", "v1", lambda x: list(raw.ParseExample(
    serialized=x, names=[], sparse_keys=[], dense_keys=["a", "b", "c"],
    dense_defaults=_defaults("none"), sparse_types=[], dense_shapes=[[2], [1], []],
    name="target").dense_values), x=_EXAMPLES)
case("GatherNd", "elements", lambda p, i: raw.GatherNd(params=p, indices=i, name="target"),
     p=f32(3, 4), i=np.array([[0, 0], [2, 3], [1, 2]], np.int32))
case("GatherNd", "slices-i64", lambda p, i: raw.GatherNd(params=p, indices=i, name="target"),
     p=i64(3, 4, 2), i=np.array([[[2], [0]], [[1], [1]]], np.int64))
case("GatherNd", "string", lambda p, i: raw.GatherNd(params=p, indices=i, name="target"),
     p=_odd("string", 2, 3), i=np.array([[1, 2], [0, 0]], np.int32))
case("GatherNd", "out-of-range", lambda p, i: raw.GatherNd(params=p, indices=i, name="target"),
     p=f32(3, 4), i=np.array([[3, 0]], np.int32))
case("GatherNd", "empty-indices", lambda p, i: raw.GatherNd(params=p, indices=i, name="target"),
     p=f32(3, 4), i=np.zeros((0, 2), np.int32))
case("SparseFillEmptyRows", "basic",
     lambda i, v, d, dv: list(raw.SparseFillEmptyRows(indices=i, values=v, dense_shape=d,
                                                      default_value=dv, name="target")),
     i=np.array([[0, 1], [0, 3], [2, 0], [4, 2]], np.int64), v=np.array([1, 2, 3, 4], np.float32),
     d=np.array([6, 5], np.int64), dv=np.float32(-1))
case("SparseFillEmptyRows", "unordered-string",
     lambda i, v, d, dv: list(raw.SparseFillEmptyRows(indices=i, values=v, dense_shape=d,
                                                      default_value=dv, name="target")),
     i=np.array([[2, 0], [0, 1]], np.int64), v=np.array([b"b", b"a"], dtype=object),
     d=np.array([3, 2], np.int64), dv=np.array(b"", dtype=object))
case("SparseFillEmptyRows", "out-of-range",
     lambda i, v, d, dv: list(raw.SparseFillEmptyRows(indices=i, values=v, dense_shape=d,
                                                      default_value=dv, name="target")),
     i=np.array([[7, 0]], np.int64), v=np.array([1], np.int64), d=np.array([3, 2], np.int64),
     dv=np.int64(0))
case("SparseReshape", "infer",
     lambda i, s, n: list(raw.SparseReshape(input_indices=i, input_shape=s, new_shape=n,
                                            name="target")),
     i=np.array([[0, 1], [1, 3], [2, 0]], np.int64), s=np.array([3, 4], np.int64),
     n=np.array([2, -1], np.int64))
case("SparseReshape", "rank3",
     lambda i, s, n: list(raw.SparseReshape(input_indices=i, input_shape=s, new_shape=n,
                                            name="target")),
     i=np.array([[0, 1], [1, 3], [2, 0]], np.int64), s=np.array([3, 4], np.int64),
     n=np.array([2, 3, 2], np.int64))
case("SparseReshape", "bad-count",
     lambda i, s, n: list(raw.SparseReshape(input_indices=i, input_shape=s, new_shape=n,
                                            name="target")),
     i=np.array([[0, 1]], np.int64), s=np.array([3, 4], np.int64), n=np.array([5, 2], np.int64))
for _op in ("SparseSegmentSum", "SparseSegmentMean", "SparseSegmentSqrtN"):
    case(_op, "basic", lambda d, i, s, _op=_op: getattr(raw, _op)(data=d, indices=i,
                                                                  segment_ids=s, name="target"),
         d=f32(5, 3), i=np.array([0, 2, 2, 4, 1], np.int32), s=np.array([0, 0, 2, 2, 3], np.int32))
    case(_op, "i64-ids-f64", lambda d, i, s, _op=_op: getattr(raw, _op)(
        data=d, indices=i, segment_ids=s, name="target"),
        d=f64(4), i=np.array([3, 3, 0], np.int64), s=np.array([1, 1, 1], np.int64))
    case(_op, "unsorted-ids", lambda d, i, s, _op=_op: getattr(raw, _op)(
        data=d, indices=i, segment_ids=s, name="target"),
        d=f32(4, 2), i=np.array([0, 1, 2], np.int32), s=np.array([1, 0, 1], np.int32))
    case(_op, "index-out-of-range", lambda d, i, s, _op=_op: getattr(raw, _op)(
        data=d, indices=i, segment_ids=s, name="target"),
        d=f32(4, 2), i=np.array([0, 4], np.int32), s=np.array([0, 1], np.int32))
    case(_op, "empty", lambda d, i, s, _op=_op: getattr(raw, _op)(
        data=d, indices=i, segment_ids=s, name="target"),
        d=f32(4, 2), i=np.zeros((0,), np.int32), s=np.zeros((0,), np.int32))
case("SparseToDense", "basic",
     lambda i, s, v, d: raw.SparseToDense(sparse_indices=i, output_shape=s, sparse_values=v,
                                          default_value=d, name="target"),
     i=np.array([[0, 1], [2, 3]], np.int64), s=np.array([3, 4], np.int64),
     v=np.array([5.0, 6.0], np.float32), d=np.float32(-1))
case("SparseToDense", "scalar-value-1d",
     lambda i, s, v, d: raw.SparseToDense(sparse_indices=i, output_shape=s, sparse_values=v,
                                          default_value=d, name="target"),
     i=np.array([0, 2, 4], np.int32), s=np.array([6], np.int32), v=np.int32(1), d=np.int32(0))
case("SparseToDense", "unordered",
     lambda i, s, v, d: raw.SparseToDense(sparse_indices=i, output_shape=s, sparse_values=v,
                                          default_value=d, name="target"),
     i=np.array([[2, 0], [0, 1]], np.int64), s=np.array([3, 2], np.int64),
     v=np.array([1.0, 2.0], np.float32), d=np.float32(0))
case("SparseToDense", "out-of-range",
     lambda i, s, v, d: raw.SparseToDense(sparse_indices=i, output_shape=s, sparse_values=v,
                                          default_value=d, name="target"),
     i=np.array([[3, 0]], np.int64), s=np.array([3, 2], np.int64),
     v=np.array([1.0], np.float32), d=np.float32(0))
for _k, _x in (("bool", bools(3, 4)), ("f32", np.array([[0, 1.5], [-0.0, nan]], np.float32)),
               ("i64", np.array([0, 3, 0, -1], np.int64)), ("empty", bools(0, 2)),
               ("scalar", np.array(True))):
    case("Where", _k, lambda x: raw.Where(condition=x, name="target"), x=_x)


def _after(op, x):
    with tf.control_dependencies([op]):
        return raw.Identity(input=x, name="target_out")


def _resource_gather(p, i):
    h = raw.VarHandleOp(dtype=tf.float32, shape=[4, 2], name="target_handle")
    assign = raw.AssignVariableOp(resource=h, value=p)
    with tf.control_dependencies([assign]):
        return raw.ResourceGather(resource=h, indices=i, dtype=tf.float32, name="target")


case("ResourceGather", "basic", _resource_gather, p=f32(4, 2), i=np.array([3, 0, 3], np.int32))
case("ResourceGather", "out-of-range", _resource_gather, p=f32(4, 2), i=np.array([4], np.int32))


def _switch_merge(x, p):
    f, t = raw.Switch(data=x, pred=p, name="target_switch")
    m = raw.Merge(inputs=[raw.Neg(x=f), raw.Square(x=t)], name="target")
    return [m.output, m.value_index]


case("Switch", "true", _switch_merge, x=f32(3), p=np.array(True))
case("Merge", "false", _switch_merge, x=f32(3), p=np.array(False))
case("Switch", "dead-fetch", lambda x, p: raw.Neg(x=raw.Switch(data=x, pred=p)[1], name="target"),
     x=f32(3), p=np.array(False))


# ------------------------------------------------------------------ running

# Op types a case may be about but that TF's graph spells differently.
OP_ALIASES = {}


def build_graph(c: Case):
    """TF graph of a case: (graph, fetch tensors, placeholder tensors)."""
    g = tf.Graph()
    with g.as_default():
        phs = {}
        for name, arr in c.feeds.items():
            arr = np.asarray(arr)
            shape = arr.shape if name in c.static else None
            phs[name] = v1.placeholder(tf.as_dtype(arr.dtype), shape=shape, name=name)
        outs = c.build(**phs)
        outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
    return g, outs, phs


@dataclass
class TfResult:
    values: Optional[List[np.ndarray]] = None
    error: Optional[str] = None


def run_tf(c: Case, g, outs, phs) -> TfResult:
    with v1.Session(graph=g) as sess:
        try:
            vals = sess.run(outs, {phs[n]: np.asarray(a) for n, a in c.feeds.items()})
        except tf.errors.OpError as e:
            return TfResult(error=f"{type(e).__name__}: {e.message}")
    return TfResult(values=[np.asarray(v) for v in vals])


def run_ckpt(graph_pb: pathlib.Path, feeds: Dict[str, pathlib.Path], fetches: List[str],
             outdir: pathlib.Path) -> subprocess.CompletedProcess:
    args = [str(CLI), "run", "--graph", str(graph_pb)]
    for name, path in feeds.items():
        args += ["--feed", f"{name}:0={path}"]
    for f in fetches:
        args += ["--fetch", f]
    args += ["--output", str(outdir)]
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


def fetched_paths(stdout: str) -> Dict[str, str]:
    out = {}
    for line in stdout.splitlines():
        if "\t" in line:
            tensor, path = line.split("\t", 1)
            out[tensor] = path
    return out


def as_bytes_array(a: np.ndarray) -> np.ndarray:
    """A string tensor as an object array of bytes, whatever numpy kind holds it."""
    flat = [x if isinstance(x, bytes) else str(x).encode() if a.dtype.kind == "U" else bytes(x)
            for x in a.reshape(-1)]
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(a.shape)


def assert_matches(actual: np.ndarray, expected: np.ndarray, c: Case, what: str):
    if expected.dtype == object or expected.dtype.kind in "SU":
        assert actual.dtype == object or actual.dtype.kind in "SU", \
            f"{what}: dtype {actual.dtype}, TF string"
        assert actual.shape == expected.shape, \
            f"{what}: shape {actual.shape} != TF {expected.shape}"
        a, e = as_bytes_array(actual), as_bytes_array(expected)
        bad = [(i, x, y) for i, (x, y) in enumerate(zip(a.reshape(-1), e.reshape(-1))) if x != y]
        assert not bad, f"{what}: {len(bad)} strings differ, first (index, ckpt, tf): {bad[:5]}"
        return
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != TF {expected.dtype}"
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != TF {expected.shape}"
    if expected.dtype.kind == "c":
        assert_matches(actual.real.copy(), expected.real.copy(), c, what + " (real)")
        assert_matches(actual.imag.copy(), expected.imag.copy(), c, what + " (imag)")
        return
    if expected.dtype.kind != "f":
        bad = np.flatnonzero(actual.reshape(-1) != expected.reshape(-1))
        assert bad.size == 0, (f"{what}: {bad.size} elements differ, first at flat {bad[:5]}: "
                               f"ckpt {actual.reshape(-1)[bad[:5]]} "
                               f"tf {expected.reshape(-1)[bad[:5]]}")
        return
    if expected.dtype == np.float16:
        rtol, atol = 1e-3, 1e-4
    elif expected.dtype == np.float64:
        rtol, atol = c.rtol or F64_RTOL, F64_ATOL if c.atol is None else c.atol * 1e-6
    else:
        rtol, atol = c.rtol or F32_RTOL, c.atol if c.atol is not None else F32_ATOL
    a, e = actual.reshape(-1), expected.reshape(-1)
    nan_a, nan_e = np.isnan(a), np.isnan(e)
    bad_nan = np.flatnonzero(nan_a != nan_e)
    assert bad_nan.size == 0, (f"{what}: NaN differs at flat {bad_nan[:5]}: ckpt "
                               f"{a[bad_nan[:5]]} tf {e[bad_nan[:5]]}")
    inf_e = np.isinf(e)
    bad_inf = np.flatnonzero(inf_e & (a != e))
    assert bad_inf.size == 0, f"{what}: inf differs at {bad_inf[:5]}: ckpt {a[bad_inf[:5]]}"
    fin = ~nan_e & ~inf_e
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(a[fin].astype(np.float64) - e[fin].astype(np.float64))
        lim = atol + rtol * np.abs(e[fin].astype(np.float64))
    bad = np.flatnonzero(~(err <= lim))
    if bad.size:
        idx = np.flatnonzero(fin)[bad[:5]]
        pytest.fail(f"{what}: {bad.size} of {e.size} elements outside {rtol} rel + {atol} abs; "
                    f"first at flat {idx}: ckpt {a[idx]} tf {e[idx]} (max err {err.max():.3g})")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def check_case(c: Case, tmp_path: pathlib.Path):
    g, outs, phs = build_graph(c)
    ops_in_graph = {n.op for n in g.as_graph_def().node}
    want = OP_ALIASES.get(c.op, c.op)
    assert want in ops_in_graph, f"case {c.id} builds no {want} node: {sorted(ops_in_graph)}"
    expected = run_tf(c, g, outs, phs)
    if expected.error is not None and expected.error.startswith(("UnimplementedError",
                                                                 "NotFoundError")):
        pytest.skip(f"TF has no kernel for this case, so no oracle: {expected.error[-300:]}")

    graph_pb = tmp_path / "graph.pb"
    graph_pb.write_bytes(g.as_graph_def().SerializeToString())
    feeds = {}
    for name, arr in c.feeds.items():
        feeds[name] = tmp_path / f"{name}.npy"
        arr = np.asarray(arr)
        if arr.dtype == object:  # strings: numpy's fixed-width bytes ('S<n>')
            arr = arr.astype(bytes)
        np.save(feeds[name], arr, allow_pickle=False)
    fetches = [t.name for t in outs]
    outdir = tmp_path / "out"
    proc = run_ckpt(graph_pb, feeds, fetches, outdir)

    if expected.error is not None:
        assert proc.returncode != 0, (f"TF fails ({expected.error}) but ckpt ran: "
                                      f"{proc.stdout[:500]}")
        assert "target" in proc.stderr, \
            f"ckpt's error does not name the node ('target...'): {proc.stderr[:500]}"
        return
    assert proc.returncode == 0, f"ckpt run failed (rc {proc.returncode}): {proc.stderr[:2000]}"
    paths = fetched_paths(proc.stdout)
    actuals = []
    for t in fetches:
        assert t in paths, f"ckpt listed no file for fetch {t}: {proc.stdout[:500]}"
        actuals.append(np.load(paths[t], allow_pickle=False))
    wanted = expected.values
    if c.canon is not None:
        actuals, wanted = c.canon(*actuals), c.canon(*wanted)
    for t, a, e in zip(fetches, actuals, wanted):
        assert_matches(a, e, c, f"{c.id} fetch {t}")


@pytest.fixture(scope="module")
def ckpt_cli():
    if not CLI.exists():
        pytest.skip(f"ckpt CLI not built at {CLI}")
    return CLI


def registered_ops() -> set:
    """Op types in ckpt's op table and the ones Session runs itself."""
    table = (REPO / "src" / "ops" / "registry.cc").read_text()
    ops = set(re.findall(r'\{"([A-Za-z0-9_]+)",\s*ops::', table))
    session = (REPO / "src" / "exec" / "session.cc").read_text()
    m = re.search(r"kOps\s*=\s*\{([^}]*)\}", session)
    assert m, "session.cc's op set (kOps) not found"
    ops |= set(re.findall(r'"([A-Za-z0-9_]+)"', m.group(1)))
    return ops


REGISTERED = registered_ops()
_IDS = [c.id for c in CASES]
assert len(_IDS) == len(set(_IDS)), sorted({i for i in _IDS if _IDS.count(i) > 1})


def _param(c: Case):
    marks = []
    if c.known_difference:
        marks.append(pytest.mark.xfail(reason=c.known_difference, strict=True))
    if OP_ALIASES.get(c.op, c.op) not in REGISTERED:
        marks.append(pytest.mark.skip(reason=f"{c.op} is not in this tree's op table"))
    return pytest.param(c, id=c.id, marks=marks)


@pytest.mark.parametrize("c", [_param(c) for c in CASES])
def test_op(c, tmp_path, ckpt_cli):
    check_case(c, tmp_path)


# ------------------------------------------------------------------ coverage

def test_every_registered_op_has_a_case():
    ops = REGISTERED
    assert len(ops) > 90, ops
    covered = {c.op for c in CASES}
    missing = sorted(ops - covered)
    assert not missing, f"ops in ckpt's table with no oracle case: {missing}"

// Shared helpers of the nanobind module ckpt._ckpt (python/src/): Status ->
// Python exception, and tensors to and from the plain values the Python
// package (python/ckpt/) turns into numpy arrays. docs/python.md describes
// the Python API.
//
// Tensors cross the boundary as (dtype, shape, payload): dtype is the
// DataType enum value, shape a list of ints, payload a 1-D uint8 numpy array
// of the little-endian element bytes (fixed-size dtypes) or a list of bytes
// (strings). python/ckpt/_dtypes.py maps dtypes to numpy.
#ifndef CKPT_PYTHON_BINDING_H_
#define CKPT_PYTHON_BINDING_H_

#include <nanobind/nanobind.h>

#include <string>
#include <utility>

#include "ckpt/status.h"
#include "ckpt/tensor.h"

namespace ckpt::python {

namespace nb = nanobind;

// Thrown by the helpers below; module.cc translates it into the ckpt.Error
// subclass for its code (python/ckpt/_errors.py).
struct StatusError {
  Status status;
};

inline void ThrowIfError(const Status& s) {
  if (!s.ok()) throw StatusError{s};
}

template <typename T>
T ValueOrThrow(Result<T> r) {
  if (!r.ok()) throw StatusError{r.status()};
  return std::move(r).value();
}

void RegisterErrors(nb::module_& m);

// (dtype, shape, payload) for `tensor`. Fixed-size payloads alias the
// tensor's memory without a copy: `owner`, if given, keeps that memory alive
// (a mapped file's reader) and the array is read-only; otherwise a copy of
// the Tensor handle (sharing its storage) does and the array is writable.
nb::tuple TensorToPython(const Tensor& tensor, nb::handle owner = nb::handle());

// The tensor described by (dtype, shape, payload). Fixed-size tensors are
// views of the payload's buffer: valid while `entry` is alive.
Tensor TensorFromPython(nb::handle entry);

void RegisterReader(nb::module_& m);
void RegisterWriter(nb::module_& m);
void RegisterEvents(nb::module_& m);
void RegisterConversions(nb::module_& m);

}  // namespace ckpt::python

#endif  // CKPT_PYTHON_BINDING_H_

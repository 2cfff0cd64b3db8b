// numpy's .npy format (numpy.lib.format): reading and writing one array per
// file, for `ckpt run`'s feeds and fetches.
//
// A file is the magic "\x93NUMPY", a version (1.0: 2-byte header length; 2.0
// and 3.0: 4-byte), a Python dict literal
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// padded with spaces and ended by '\n', then the elements.
//
// dtypes (descr, any byte order: '<' and '=' little-endian, '>' big-endian
// and byte-swapped on read, '|' for one-byte types):
//   f2 half   f4 float   f8 double   c8 complex64   c16 complex128
//   i1 int8   i2 int16   i4 int32    i8 int64
//   u1 uint8  u2 uint16  u4 uint32   u8 uint64      b1 bool
//   S<n> string: each element n bytes, trailing NULs stripped (as numpy does)
//   U<n> string (read only): UCS-4 code points, converted to UTF-8
// Anything else (structured and object arrays, datetimes, void) is
// Unimplemented. fortran_order True arrays are transposed into row-major
// order on read. bool bytes other than 0 read as true.
//
// Writing (SerializeNpy) produces version 1.0 (2.0 when the header needs it),
// little-endian, C order, padded to 64 bytes, which numpy.load reads back
// bit-exactly. A string tensor is written as 'S<longest element>' (at least
// S1): numpy strips trailing NULs, so an element ending in '\0' would not read
// back the same and is InvalidArgument. bfloat16, float8, int4 and quantized
// types have no numpy dtype: Unimplemented.
//
// Thread safety: the functions are reentrant; they share no state.
#ifndef CKPT_TOOLS_NPY_H_
#define CKPT_TOOLS_NPY_H_

#include <string>
#include <string_view>

#include "ckpt/env.h"
#include "ckpt/status.h"
#include "ckpt/tensor.h"

namespace ckpt::tools {

// Parses the bytes of a .npy file; `name` (a path) is used in messages.
// InvalidArgument for a malformed header (what was expected and what was
// found), DataLoss when the data is shorter or longer than the header says,
// Unimplemented for a dtype with no ckpt equivalent. Never crashes on any
// input (fuzzed).
Result<Tensor> ParseNpy(std::string_view bytes, std::string_view name = "<npy>");

// The .npy bytes of `tensor` (see above for the dtypes).
Result<std::string> SerializeNpy(const Tensor& tensor);

// The numpy descr of a ckpt dtype ("<f4", "|b1"); empty for a dtype numpy
// has no equivalent for (and for strings, whose descr depends on the data).
std::string NpyDescr(DataType dtype);

// File wrappers through `env`: ReadNpy adds NotFound for a missing file;
// WriteNpy writes atomically (WriteStringToFileAtomic).
Result<Tensor> ReadNpy(Env* env, const std::string& path);
Status WriteNpy(Env* env, const std::string& path, const Tensor& tensor);

}  // namespace ckpt::tools

#endif  // CKPT_TOOLS_NPY_H_

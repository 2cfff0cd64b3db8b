// The module ckpt._ckpt: one Register* per area (python/src/binding.h). A
// new area is one more source file and Register call.
#include <nanobind/nanobind.h>

#include "binding.h"

NB_MODULE(_ckpt, m) {
  m.doc() = "ckpt's C++ library; use the package `ckpt` (docs/python.md)";
  m.attr("__version__") = CKPT_VERSION;
  ckpt::python::RegisterErrors(m);
  ckpt::python::RegisterReader(m);
  ckpt::python::RegisterWriter(m);
  ckpt::python::RegisterEvents(m);
  ckpt::python::RegisterConversions(m);
}

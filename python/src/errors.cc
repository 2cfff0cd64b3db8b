// StatusError -> the Python exception class of its code. The classes live in
// python/ckpt/_errors.py; _errors.from_status(code, message) builds one.
#include <Python.h>

#include <nanobind/stl/string.h>

#include "binding.h"

namespace ckpt::python {

void RegisterErrors(nb::module_& m) {
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const StatusError& e) {
      nb::object errors = nb::module_::import_("ckpt._errors");
      nb::object exc = errors.attr("from_status")(static_cast<int>(e.status.code()),
                                                  e.status.message());
      PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
    }
  });
}

}  // namespace ckpt::python

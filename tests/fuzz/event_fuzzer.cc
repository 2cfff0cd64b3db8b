// Fuzzes the decoding of one serialized tensorflow.Event (the payload of an
// event-file record, which the record harness rarely reaches past the
// CRCs): DecodeEvent and every row's fields.
#include <string>

#include "ckpt/summary.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ckpt;  // NOLINT
  auto rows = DecodeEvent(std::string_view(reinterpret_cast<const char*>(data), size));
  if (rows.ok()) {
    volatile size_t n = 0;
    for (const EventValue& v : *rows) {
      n = n + v.tag.size() + v.text.size() + v.bytes.size() + v.histogram.bucket.size() +
          EventValueKindName(v.kind).size() + v.shape.dims().size();
    }
  }
  return 0;
}

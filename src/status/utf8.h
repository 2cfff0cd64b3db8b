// Decoding UTF-8 (internal to ckpt): the one decoder behind EscapeForDisplay
// and `ckpt inspect`'s JSON strings.
#ifndef CKPT_SRC_STATUS_UTF8_H_
#define CKPT_SRC_STATUS_UTF8_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ckpt {

// Length (1..4) of the well-formed UTF-8 sequence at text[i], with its code
// point in *cp; 0 if the bytes there are not one (a stray continuation byte,
// a truncated or overlong sequence, a surrogate, or beyond U+10FFFF).
// REQUIRES: i < text.size().
size_t DecodeUtf8(std::string_view text, size_t i, uint32_t* cp);

}  // namespace ckpt

#endif  // CKPT_SRC_STATUS_UTF8_H_

// EscapeForDisplay: makes a name, key or path read from a file safe to show
// on a terminal or in an error message.
//
// Names in checkpoints and event files are arbitrary bytes; printed raw, a
// name holding "\x1b[2J" clears the user's screen and one holding "\r" or
// "\n" forges output lines. Every place where such bytes reach text output
// or a Status message passes them through this one function.
//
// Thread safety: a pure function.
#ifndef CKPT_ESCAPE_H_
#define CKPT_ESCAPE_H_

#include <string>
#include <string_view>

namespace ckpt {

// Returns `text` with
//   * "\t", "\n", "\r" spelled as those two characters,
//   * other C0 controls (U+0000-U+001F) and DEL as "\xNN" (lowercase hex),
//   * C1 controls (U+0080-U+009F, well-formed UTF-8) as "\u0085",
//   * each byte that is not part of well-formed UTF-8 (stray continuation
//     bytes, truncated or overlong sequences, surrogates, > U+10FFFF) as
//     "\xNN".
// Everything else (printable ASCII including the backslash, and printable
// UTF-8 such as "é" or "名前") is copied unchanged, so an ordinary name is
// returned byte for byte (and prints exactly as TensorFlow prints it).
std::string EscapeForDisplay(std::string_view text);

}  // namespace ckpt

#endif  // CKPT_ESCAPE_H_

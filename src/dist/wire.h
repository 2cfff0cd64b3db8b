// How the dist module's messages are laid out (internal): a list of byte
// strings, each as a varint64 length and its bytes; a Status as its code
// (a field of decimal digits) and message.
#ifndef CKPT_SRC_DIST_WIRE_H_
#define CKPT_SRC_DIST_WIRE_H_

#include <string>
#include <string_view>
#include <vector>

#include "ckpt/status.h"

namespace ckpt::dist {

std::string EncodeFields(const std::vector<std::string>& fields);
// False when `bytes` is not a whole list of fields.
bool DecodeFields(std::string_view bytes, std::vector<std::string>* fields);

std::string EncodeStatus(const Status& status);
// A malformed message decodes as Internal.
Status DecodeStatus(std::string_view bytes);

}  // namespace ckpt::dist

#endif  // CKPT_SRC_DIST_WIRE_H_

// OrderedCode: TensorFlow's order-preserving binary encoding of numbers and
// strings, used to build the keys of partitioned-variable slices.
// Thread safety: pure functions.
#ifndef CKPT_SRC_TENSOR_ORDERED_CODE_H_
#define CKPT_SRC_TENSOR_ORDERED_CODE_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace ckpt::ordered_code {

void WriteNumIncreasing(std::string* dest, uint64_t value);
void WriteString(std::string* dest, std::string_view s);
void WriteSignedNumIncreasing(std::string* dest, int64_t value);

// Readers consume from the front of *src; false on malformed input.
bool ReadNumIncreasing(std::string_view* src, uint64_t* value);
bool ReadString(std::string_view* src, std::string* result);
bool ReadSignedNumIncreasing(std::string_view* src, int64_t* value);

}  // namespace ckpt::ordered_code

#endif  // CKPT_SRC_TENSOR_ORDERED_CODE_H_

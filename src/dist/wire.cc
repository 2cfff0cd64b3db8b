#include "dist/wire.h"


#include "env/coding.h"

namespace ckpt::dist {

std::string EncodeFields(const std::vector<std::string>& fields) {
  std::string out;
  for (const std::string& f : fields) PutLengthPrefixed(&out, f);
  return out;
}

bool DecodeFields(std::string_view bytes, std::vector<std::string>* fields) {
  fields->clear();
  while (!bytes.empty()) {
    std::string_view field;
    if (!GetLengthPrefixed(&bytes, &field)) return false;
    fields->emplace_back(field);
  }
  return true;
}

std::string EncodeStatus(const Status& status) {
  return EncodeFields({std::to_string(static_cast<int>(status.code())), status.message()});
}

Status DecodeStatus(std::string_view bytes) {
  std::vector<std::string> f;
  if (!DecodeFields(bytes, &f) || f.size() != 2 || f[0].empty() ||
      f[0].find_first_not_of("0123456789") != std::string::npos || f[0].size() > 4) {
    return InternalError("A status message from another rank is malformed");
  }
  return Status(static_cast<StatusCode>(std::stoi(f[0])), f[1]);
}

}  // namespace ckpt::dist

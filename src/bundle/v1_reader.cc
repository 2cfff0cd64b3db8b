// Placeholder until the V1 reader lands.
#include "bundle/v1_reader.h"

#include <fnmatch.h>

namespace ckpt {

struct V1Reader::Impl {
  std::vector<VariableInfo> vars;
};

Result<std::unique_ptr<V1Reader>> V1Reader::Open(Env*, const std::string& pattern) {
  return UnimplementedError("V1 checkpoints are not readable yet: " + pattern);
}
V1Reader::V1Reader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
V1Reader::~V1Reader() = default;
const std::vector<VariableInfo>& V1Reader::variables() const { return impl_->vars; }
bool V1Reader::Contains(std::string_view) const { return false; }
Result<Tensor> V1Reader::Read(std::string_view name) const {
  return NotFoundError(std::string(name) + " not found in checkpoint file");
}
std::string V1Reader::DebugString() const { return ""; }

bool GlobMatch(std::string_view pattern, std::string_view name) {
  return fnmatch(std::string(pattern).c_str(), std::string(name).c_str(), 0) == 0;
}

}  // namespace ckpt

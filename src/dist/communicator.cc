// Communicator's collectives built on Gather and Broadcast, and the group of
// one process.
#include "ckpt/communicator.h"

#include "dist/wire.h"

namespace ckpt {

Result<std::vector<std::string>> Communicator::AllGather(std::string_view mine) {
  CKPT_ASSIGN_OR_RETURN(std::vector<std::string> at_root, Gather(mine, 0));
  CKPT_ASSIGN_OR_RETURN(std::string all, Broadcast(dist::EncodeFields(at_root), 0));
  std::vector<std::string> out;
  if (!dist::DecodeFields(all, &out) || static_cast<int>(out.size()) != size()) {
    return InternalError("AllGather: rank " + std::to_string(rank()) +
                         " received a malformed message from rank 0");
  }
  return out;
}

Status Communicator::Barrier() { return AllGather({}).status(); }

namespace {

class LocalCommunicator : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  // Nothing is shared between local communicators.
  bool concurrent_with_other_communicators() const override { return true; }
  Result<std::vector<std::string>> Gather(std::string_view mine, int root) override {
    if (root != 0) return InvalidArgumentError("Gather: root " + std::to_string(root) +
                                               " is not a rank of a group of 1");
    return std::vector<std::string>{std::string(mine)};
  }
  Result<std::string> Broadcast(std::string_view value, int root) override {
    if (root != 0) return InvalidArgumentError("Broadcast: root " + std::to_string(root) +
                                               " is not a rank of a group of 1");
    return std::string(value);
  }
};

}  // namespace

std::unique_ptr<Communicator> NewLocalCommunicator() {
  return std::make_unique<LocalCommunicator>();
}

}  // namespace ckpt

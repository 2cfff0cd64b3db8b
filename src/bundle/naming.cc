#include <cstdio>

#include "ckpt/bundle.h"

namespace ckpt {

std::string MetaFilename(std::string_view prefix) {
  return std::string(prefix) + ".index";
}

std::string DataFilename(std::string_view prefix, int shard_id, int num_shards) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), ".data-%05d-of-%05d", shard_id, num_shards);
  return std::string(prefix) + buf;
}

}  // namespace ckpt

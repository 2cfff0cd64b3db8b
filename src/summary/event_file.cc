// Event file names (see ckpt/event_file.h).
#include "ckpt/event_file.h"

#include <cstdio>

namespace ckpt {

std::string EventFileName(int64_t seconds, std::string_view hostname, std::string_view suffix) {
  char t[32];
  std::snprintf(t, sizeof(t), "%010lld", static_cast<long long>(seconds));
  std::string name = "events.out.tfevents.";
  name += t;
  name += '.';
  name += hostname;
  name += suffix;
  return name;
}

bool IsEventFileName(std::string_view name) {
  return name.find("tfevents") != std::string_view::npos;
}

}  // namespace ckpt

#include "progress.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ckpt::tools {
namespace {

constexpr int kBarWidth = 30;
constexpr auto kRedrawInterval = std::chrono::milliseconds(100);

}  // namespace

ProgressBar::ProgressBar(std::ostream& out, bool enabled, std::string label)
    : out_(out), enabled_(enabled), label_(std::move(label)) {}

ProgressBar::~ProgressBar() { Finish(); }

bool ProgressBar::ShouldDraw() {
  if (std::getenv("CKPT_NO_PROGRESS") != nullptr) return false;
  const char* term = std::getenv("TERM");
  if (term != nullptr && std::strcmp(term, "dumb") == 0) return false;
  return isatty(STDERR_FILENO) == 1;
}

std::string ProgressBar::FormatBytes(uint64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1024 && unit < 5) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f %s", v, kUnits[unit]);
  return buf;
}

void ProgressBar::Update(uint64_t done, uint64_t total) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  const bool complete = total > 0 && done >= total;
  if (drawn_ && !complete && now - last_draw_ < kRedrawInterval) return;
  last_draw_ = now;
  std::string line = "\r" + label_ + " ";
  if (total > 0) {
    const double fraction = std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
    const int filled = static_cast<int>(fraction * kBarWidth);
    line += "[";
    for (int i = 0; i < kBarWidth; ++i) line += i < filled ? '=' : (i == filled ? '>' : ' ');
    char pct[16];
    std::snprintf(pct, sizeof(pct), "] %3d%%  ", static_cast<int>(fraction * 100));
    line += pct;
    line += FormatBytes(done) + " / " + FormatBytes(total);
  } else {
    line += FormatBytes(done);
  }
  line += "\033[K";  // erase what a longer previous line left
  out_ << line << std::flush;
  drawn_ = true;
}

void ProgressBar::Finish() {
  if (!enabled_ || !drawn_) return;
  out_ << "\r\033[K" << std::flush;
  drawn_ = false;
  enabled_ = false;
}

}  // namespace ckpt::tools

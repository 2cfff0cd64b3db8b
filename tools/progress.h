// A one-line progress bar for long `ckpt` commands (verify of a directory;
// convert and merge), drawn on stderr only when stderr is a terminal, so
// piped and redirected output stays clean.
//
//   ProgressBar bar(err, ProgressBar::ShouldDraw(), "verifying");
//   for (...) bar.Update(done_bytes, total_bytes);
//   bar.Finish();  // erases the line
//
// The line ("verifying [=========>          ]  45%  1.2 GiB / 2.6 GiB") is
// redrawn in place ('\r') at most ten times a second, and always when the
// work completes.
//
// Thread safety: not thread-safe; one thread updates a bar.
#ifndef CKPT_TOOLS_PROGRESS_H_
#define CKPT_TOOLS_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace ckpt::tools {

class ProgressBar {
 public:
  // Draws on `out` when `enabled`; otherwise every call does nothing.
  ProgressBar(std::ostream& out, bool enabled, std::string label);
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  ~ProgressBar();  // Finish()

  // True when stderr is a terminal and the environment does not ask for
  // quiet (CKPT_NO_PROGRESS set, or TERM=dumb).
  static bool ShouldDraw();

  // `done` of `total` bytes are through; total 0 means unknown.
  void Update(uint64_t done, uint64_t total);
  // Erases the bar's line (once; later calls do nothing).
  void Finish();

  // "512 B", "1.5 KiB", "2.0 GiB".
  static std::string FormatBytes(uint64_t bytes);

 private:
  std::ostream& out_;
  bool enabled_;
  bool drawn_ = false;
  std::string label_;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace ckpt::tools

#endif  // CKPT_TOOLS_PROGRESS_H_

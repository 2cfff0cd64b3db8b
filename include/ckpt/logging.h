// Logging: where ckpt's informational and warning messages go.
//
// The library reports progress and recoverable oddities (a checkpoint skipped,
// a moved directory resolved) as log lines; errors are always returned as
// Status, never only logged. By default lines go to stderr as
// "I1122 10:00:00.123456 ckpt] message"-style lines, TensorFlow's layout; a
// program may install its own sink.
//
// Thread safety: Log and SetLogSink may be called from any thread.
#ifndef CKPT_LOGGING_H_
#define CKPT_LOGGING_H_

#include <functional>
#include <string_view>

namespace ckpt {

enum class LogSeverity { kInfo, kWarning, kError };

using LogSink = std::function<void(LogSeverity severity, std::string_view message)>;

// Replaces the sink; returns the previous one. An empty sink discards lines.
LogSink SetLogSink(LogSink sink);

void Log(LogSeverity severity, std::string_view message);
inline void LogInfo(std::string_view message) { Log(LogSeverity::kInfo, message); }
inline void LogWarning(std::string_view message) { Log(LogSeverity::kWarning, message); }

}  // namespace ckpt

#endif  // CKPT_LOGGING_H_

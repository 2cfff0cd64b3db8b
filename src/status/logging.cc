#include "ckpt/logging.h"

#include <sys/time.h>

#include <cstdio>
#include <ctime>
#include <mutex>

namespace ckpt {
namespace {

void StderrSink(LogSeverity severity, std::string_view message) {
  char level = severity == LogSeverity::kInfo ? 'I' : severity == LogSeverity::kWarning ? 'W' : 'E';
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  struct tm tm;
  localtime_r(&tv.tv_sec, &tm);
  std::fprintf(stderr, "%c%02d%02d %02d:%02d:%02d.%06ld ckpt] %.*s\n", level, tm.tm_mon + 1,
               tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long>(tv.tv_usec),
               static_cast<int>(message.size()), message.data());
}

std::mutex& SinkMutex() {
  static std::mutex* mu = new std::mutex();
  return *mu;
}

LogSink& Sink() {
  static LogSink* sink = new LogSink(StderrSink);
  return *sink;
}

}  // namespace

LogSink SetLogSink(LogSink sink) {
  std::lock_guard<std::mutex> lock(SinkMutex());
  LogSink old = std::move(Sink());
  Sink() = std::move(sink);
  return old;
}

void Log(LogSeverity severity, std::string_view message) {
  std::lock_guard<std::mutex> lock(SinkMutex());
  if (Sink()) Sink()(severity, message);
}

}  // namespace ckpt

#include "vigil/engine/log.h"

#include <time.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "absl/strings/str_format.h"

namespace vigil::engine {
namespace {
std::atomic<LogLevel> g_level{LogLevel::kInfo};
constexpr const char* kNames[] = {"trace", "debug", "info", "warn", "error"};
}  // namespace

void SetLogLevel(LogLevel level) { g_level = level; }
LogLevel GetLogLevel() { return g_level; }

bool ParseLogLevel(absl::string_view text, LogLevel& out) {
  for (int i = 0; i < 5; ++i)
    if (text == kNames[i]) {
      out = static_cast<LogLevel>(i);
      return true;
    }
  return false;
}

void Log(LogLevel level, absl::string_view message) {
  if (level < g_level.load(std::memory_order_relaxed)) return;
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  // One write per line so lines from different threads never interleave.
  std::string line =
      absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %-5s vigil: %s\n", t.tm_year + 1900, t.tm_mon + 1,
                      t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, static_cast<int>(ts.tv_nsec / 1000000),
                      kNames[static_cast<int>(level)], message);
  (void)!write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace vigil::engine

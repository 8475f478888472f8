// Logs go to stderr, never into event output. (absl::string_view: Debian's
// Abseil has its own, so Status::message() passes through without a copy.)
#pragma once

#include "absl/strings/string_view.h"

namespace vigil::engine {

enum class LogLevel { kTrace = 0, kDebug = 1, kInfo = 2, kWarn = 3, kError = 4 };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
bool ParseLogLevel(absl::string_view text, LogLevel& out);

void Log(LogLevel level, absl::string_view message);
inline void LogTrace(absl::string_view m) { Log(LogLevel::kTrace, m); }
inline void LogDebug(absl::string_view m) { Log(LogLevel::kDebug, m); }
inline void LogInfo(absl::string_view m) { Log(LogLevel::kInfo, m); }
inline void LogWarn(absl::string_view m) { Log(LogLevel::kWarn, m); }
inline void LogError(absl::string_view m) { Log(LogLevel::kError, m); }

}  // namespace vigil::engine

#include "vigil/engine/sink.h"

#include <algorithm>

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "vigil/engine/json.h"

namespace vigil::engine {

absl::StatusOr<SinkSpec> ParseSinkSpec(std::string_view text) {
  SinkSpec spec;
  std::string_view format = text;
  if (size_t colon = text.find(':'); colon != std::string_view::npos) {
    format = text.substr(0, colon);
    spec.path = std::string(text.substr(colon + 1));
    if (spec.path.empty())
      return absl::InvalidArgumentError(
          absl::StrCat("--output ", std::string(text), ": empty path after ':'"));
  }
  if (format == "json")
    spec.format = SinkFormat::kJson;
  else if (format == "table")
    spec.format = SinkFormat::kTable;
  else
    return absl::InvalidArgumentError(absl::StrCat("--output ", std::string(text), ": unknown format '",
                                                   std::string(format),
                                                   "' (expected json or table, e.g. json:/tmp/events.json)"));
  return spec;
}

absl::StatusOr<std::unique_ptr<Sink>> Sink::Open(const SinkSpec& spec,
                                                 const std::vector<std::string>* policy_names) {
  if (spec.path.empty() || spec.path == "-" || spec.path == "stdout")
    return std::unique_ptr<Sink>(new Sink(spec, STDOUT_FILENO, false, policy_names));
  int fd = open(spec.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return absl::InvalidArgumentError(absl::StrCat("open output file ", spec.path, ": ", strerror(errno)));
  // An existing file keeps its mode on O_CREAT; events may be sensitive.
  fchmod(fd, 0600);
  return std::unique_ptr<Sink>(new Sink(spec, fd, true, policy_names));
}

Sink::Sink(SinkSpec spec, int fd, bool owned, const std::vector<std::string>* policy_names)
    : spec_(std::move(spec)), fd_(fd), owned_(owned), policy_names_(policy_names) {
  buffer_.reserve(1 << 16);
}

Sink::~Sink() {
  (void)Flush();
  if (owned_) close(fd_);
}

void Sink::WriteTableHeader() {
  absl::StrAppendFormat(&buffer_, "%-12s %-6s %-16s %-7s %-7s %-6s %-22s %s\n", "TIME", "UID", "COMM", "PID",
                        "TID", "RET", "EVENT", "ARGS");
  header_done_ = true;
}

void Sink::Write(const events::Event& e) {
  static const std::vector<std::string> kNoNames;
  if (spec_.format == SinkFormat::kJson) {
    AppendEventJson(buffer_, e, policy_names_ ? *policy_names_ : kNoNames);
  } else {
    if (!header_done_) WriteTableHeader();
    time_t secs = static_cast<time_t>(e.timestamp_ns / 1000000000);
    tm t{};
    gmtime_r(&secs, &t);
    absl::StrAppendFormat(&buffer_, "%02d:%02d:%02d.%03d %-6u %-16s %-7u %-7u %-6d %-22s ", t.tm_hour,
                          t.tm_min, t.tm_sec, static_cast<int>(e.timestamp_ns / 1000000 % 1000), e.uid,
                          e.comm, e.pid, e.tid, e.retval, e.def->name);
    if (e.def->detection) {
      // A detection stands out: its severity and what triggered it first.
      static constexpr const char* kSeverity[] = {"INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"};
      const int sev = std::clamp(e.def->detection->severity, 0, 4);
      absl::StrAppend(&buffer_, "DETECTION ", kSeverity[sev],
                      e.def->detection->signature_id.empty() ? "" : " ", e.def->detection->signature_id,
                      e.triggered_by ? absl::StrCat(" from ", e.triggered_by->def->name) : "",
                      e.args.empty() ? "" : ": ");
    }
    for (size_t i = 0; i < e.args.size(); ++i) {
      if (i) buffer_ += ", ";
      absl::StrAppend(&buffer_, e.args[i].def->name, ": ");
      std::string plain;
      AppendPlainValue(plain, e.args[i].value);
      // One event per line: control characters would break the table.
      for (char& c : plain)
        if (static_cast<unsigned char>(c) < 0x20) c = '?';
      buffer_ += plain;
    }
    buffer_ += '\n';
  }
  ++written_;
  if (buffer_.size() > (1 << 20)) (void)Flush();
}

absl::Status Sink::Flush() {
  size_t done = 0;
  while (done < buffer_.size()) {
    ssize_t n = write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string err = strerror(errno);
      buffer_.erase(0, done);
      return absl::UnavailableError(
          absl::StrCat("write to ", spec_.path.empty() ? "stdout" : spec_.path, ": ", err));
    }
    done += static_cast<size_t>(n);
  }
  buffer_.clear();
  return absl::OkStatus();
}

}  // namespace vigil::engine

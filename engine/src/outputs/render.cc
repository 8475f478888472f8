#include "vigil/engine/outputs/render.h"

#include <sys/random.h>
#include <time.h>

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "vigil/engine/json.h"
#include "vigil/events/format.h"

namespace vigil::engine {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void AppendHexEscape(std::string& out, unsigned char c) {
  out += "\\x";
  out += kHex[c >> 4];
  out += kHex[c & 0xF];
}

void AppendTime(std::string& out, uint64_t timestamp_ns, const char* format) {
  time_t secs = static_cast<time_t>(timestamp_ns / 1000000000);
  tm t{};
  gmtime_r(&secs, &t);
  char buf[64];
  size_t n = strftime(buf, sizeof(buf), format, &t);
  out.append(buf, n);
}

}  // namespace

void AppendTerminalSafe(std::string& out, std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7F) {
      if (c == '\\')
        out += "\\\\";
      else
        out += static_cast<char>(c);
      ++i;
      continue;
    }
    if (c < 0x80) {  // C0 and DEL
      AppendHexEscape(out, c);
      ++i;
      continue;
    }
    uint32_t cp = 0;
    size_t len = DecodeUtf8(s, i, cp);
    if (len == 0) {  // invalid UTF-8, including raw 8-bit C1 bytes
      AppendHexEscape(out, c);
      ++i;
    } else if (cp < 0xA0) {  // U+0080-U+009F: C1 controls encoded in UTF-8
      absl::StrAppend(&out, "\\u00", std::string(1, kHex[cp >> 4]), std::string(1, kHex[cp & 0xF]));
      i += len;
    } else {
      out.append(s.data() + i, len);
      i += len;
    }
  }
}

void AppendTableHeader(std::string& out) {
  absl::StrAppendFormat(&out, "%-12s %-6s %-16s %-7s %-7s %-6s %-22s %s\n", "TIME", "UID", "COMM", "PID",
                        "TID", "RET", "EVENT", "ARGS");
}

void AppendTableLine(std::string& out, const events::Event& e) {
  time_t secs = static_cast<time_t>(e.timestamp_ns / 1000000000);
  tm t{};
  gmtime_r(&secs, &t);
  std::string comm;
  AppendTerminalSafe(comm, e.comm);
  absl::StrAppendFormat(&out, "%02d:%02d:%02d.%03d %-6u %-16s %-7u %-7u %-6d %-22s ", t.tm_hour, t.tm_min,
                        t.tm_sec, static_cast<int>(e.timestamp_ns / 1000000 % 1000), e.uid, comm, e.pid,
                        e.tid, e.retval, e.def->name);
  if (e.def->detection) {
    // A detection stands out: its severity and what triggered it first.
    static constexpr const char* kSeverity[] = {"INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"};
    const int sev = std::clamp(e.def->detection->severity, 0, 4);
    absl::StrAppend(&out, "DETECTION ", kSeverity[sev], e.def->detection->signature_id.empty() ? "" : " ");
    AppendTerminalSafe(out, e.def->detection->signature_id);
    if (e.triggered_by) absl::StrAppend(&out, " from ", e.triggered_by->def->name);
    if (e.ArgCount() != 0) out += ": ";
  }
  if (e.io_uring) out += "[io_uring] ";
  std::string plain;
  bool first = true;
  for (const events::Arg& a : e.args) {
    if (a.def == nullptr) continue;  // not carried
    if (!first) out += ", ";
    first = false;
    absl::StrAppend(&out, a.def->name, ": ");
    plain.clear();
    AppendPlainValue(plain, events::Rendered(a));
    AppendTerminalSafe(out, plain);
  }
  out += '\n';
}

int SyslogSeverity(int detection_severity) {
  if (detection_severity < 0) return 6;
  if (detection_severity > 4) detection_severity = 4;
  return 5 - detection_severity;
}

std::string_view FalcoPriority(int detection_severity) {
  static constexpr std::string_view kNames[] = {"Emergency", "Alert",  "Critical",      "Error",
                                                "Warning",   "Notice", "Informational", "Debug"};
  return kNames[SyslogSeverity(detection_severity)];
}

void AppendRfc3339(std::string& out, uint64_t timestamp_ns) {
  AppendTime(out, timestamp_ns, "%Y-%m-%dT%H:%M:%S");
  absl::StrAppendFormat(&out, ".%09dZ", static_cast<int>(timestamp_ns % 1000000000));
}

void AppendSyslog5424(std::string& out, const events::Event& e, std::string_view json_line,
                      int syslog_severity, std::string_view host, uint32_t procid) {
  absl::StrAppend(&out, "<", kSyslogFacilityDaemon * 8 + syslog_severity, ">1 ");
  // RFC 5424 allows at most 6 fraction digits.
  AppendTime(out, e.timestamp_ns, "%Y-%m-%dT%H:%M:%S");
  absl::StrAppendFormat(&out, ".%06dZ ", static_cast<int>(e.timestamp_ns / 1000 % 1000000));
  // HOSTNAME and MSGID are PRINTUSASCII without spaces, at most 255 / 32 long.
  auto printable = [&out](std::string_view s, size_t max) {
    size_t n = 0;
    for (char c : s) {
      if (n == max) break;
      out += (c > 32 && c < 127) ? c : '_';
      ++n;
    }
    if (n == 0) out += '-';
  };
  printable(host, 255);
  absl::StrAppend(&out, " vigil ", procid, " ");
  printable(e.def->name, 32);
  out += " - ";
  if (!json_line.empty() && json_line.back() == '\n') json_line.remove_suffix(1);
  out += json_line;
}

void AppendSyslogLocal(std::string& out, const events::Event& e, std::string_view json_line,
                       int syslog_severity, uint32_t procid) {
  absl::StrAppend(&out, "<", kSyslogFacilityDaemon * 8 + syslog_severity, ">");
  AppendTime(out, e.timestamp_ns, "%b %e %H:%M:%S");
  absl::StrAppend(&out, " vigil[", procid, "]: ");
  if (!json_line.empty() && json_line.back() == '\n') json_line.remove_suffix(1);
  out += json_line;
}

std::string RandomUuid() {
  uint8_t b[16];
  if (getrandom(b, sizeof(b), 0) != static_cast<ssize_t>(sizeof(b))) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    for (uint8_t& x : b) x = static_cast<uint8_t>(rng());
  }
  b[6] = (b[6] & 0x0F) | 0x40;
  b[8] = (b[8] & 0x3F) | 0x80;
  std::string s;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += kHex[b[i] >> 4];
    s += kHex[b[i] & 0xF];
  }
  return s;
}

void AppendFalcoPayload(std::string& out, const events::Event& e, int severity, std::string_view host,
                        std::string_view uuid) {
  std::string_view priority = FalcoPriority(severity);
  // Falco's "output" is the rule's rendered output line: time, priority, text.
  std::string text;
  AppendRfc3339(text, e.timestamp_ns);
  const events::DetectionMeta* meta = e.def->detection.get();
  const std::string& what = meta && !meta->description.empty() ? meta->description
                            : e.def->description.empty()       ? e.def->name
                                                               : e.def->description;
  absl::StrAppend(&text, ": ", absl::string_view(priority.data(), priority.size()), " ", what,
                  " (evt.name=", e.def->name, " proc.name=", e.comm, " proc.pid=", e.pid,
                  " proc.exepath=", e.executable, " user.uid=", e.uid,
                  " container.id=", e.container_id.empty() ? "host" : e.container_id, ")");
  out += "{\"uuid\":";
  AppendJsonString(out, uuid);
  AppendJsonMember(out, "output", text);
  AppendJsonMember(out, "priority", priority);
  AppendJsonMember(out, "rule", e.def->name);
  out += ",\"time\":\"";
  AppendRfc3339(out, e.timestamp_ns);
  absl::StrAppend(&out, "\",\"output_fields\":{\"evt.time\":", e.timestamp_ns, ",\"evt.name\":");
  AppendJsonString(out, e.def->name);
  absl::StrAppend(&out, ",\"evt.res\":", e.retval, ",\"proc.name\":");
  AppendJsonString(out, e.comm);
  absl::StrAppend(&out, ",\"proc.pid\":", e.pid, ",\"proc.ppid\":", e.ppid, ",\"proc.pname\":");
  AppendJsonString(out, e.parent_comm);
  out += ",\"proc.exepath\":";
  AppendJsonString(out, e.executable);
  absl::StrAppend(&out, ",\"user.uid\":", e.uid, ",\"container.id\":");
  AppendJsonString(out, e.container_id.empty() ? "host" : e.container_id);
  out += ",\"evt.hostname\":";
  AppendJsonString(out, host);
  for (const events::Arg& a : e.args) {
    if (a.def == nullptr) continue;  // not carried
    out += ',';
    AppendJsonString(out, absl::StrCat("evt.arg.", a.def->name));
    out += ':';
    AppendJsonValue(out, events::Rendered(a));
  }
  out += "},\"source\":\"syscall\",\"tags\":[";
  const std::vector<std::string>& tags = meta && !meta->tags.empty() ? meta->tags : e.def->sets;
  for (size_t i = 0; i < tags.size(); ++i) {
    if (i) out += ',';
    AppendJsonString(out, tags[i]);
  }
  out += "],\"hostname\":";
  AppendJsonString(out, host);
  out += '}';
}

}  // namespace vigil::engine

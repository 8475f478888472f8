// How each output renders an event: pure functions, so unit tests check the
// bytes every protocol carries.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/events/event.h"

namespace vigil::engine {

// Terminal-safe text: C0 controls, DEL and C1 controls (raw bytes 0x80-0x9f
// that are not part of valid UTF-8, and U+0080-U+009F) become \xNN (\u00NN
// for U+0080-U+009F); a backslash becomes "\\" so the escape is unambiguous.
// Other valid UTF-8 passes through; invalid bytes become \xNN.
void AppendTerminalSafe(std::string& out, std::string_view s);

void AppendTableHeader(std::string& out);
void AppendTableLine(std::string& out, const events::Event& e);

// Syslog severities (RFC 5424 §6.2.1) for an event (-1) or a detection's Severity 0-4:
// event -> informational(6); 0 info -> notice(5), 1 low -> warning(4),
// 2 medium -> error(3), 3 high -> critical(2), 4 critical -> alert(1).
int SyslogSeverity(int detection_severity);
// Falco's priority names for the same mapping ("Informational" for an event).
std::string_view FalcoPriority(int detection_severity);

constexpr int kSyslogFacilityDaemon = 3;

// One RFC 5424 message: "<PRI>1 TIMESTAMP HOST vigil PROCID MSGID - MSG", the
// MSG being the event's JSON line (without its '\n'); MSGID the event's name.
void AppendSyslog5424(std::string& out, const events::Event& e, std::string_view json_line,
                      int syslog_severity, std::string_view host, uint32_t procid);
// The same as a local /dev/log datagram in the format syslog(3) writes
// (journald and rsyslog read it): "<PRI>Mmm dd hh:mm:ss vigil[PID]: MSG".
void AppendSyslogLocal(std::string& out, const events::Event& e, std::string_view json_line,
                       int syslog_severity, uint32_t procid);

// RFC 3339 UTC with nanoseconds: "2026-12-01T20:37:52.123456789Z".
void AppendRfc3339(std::string& out, uint64_t timestamp_ns);

// Falco's output payload (what falcosidekick accepts on POST /): uuid, output,
// priority, rule, time, output_fields, source, tags, hostname.
void AppendFalcoPayload(std::string& out, const events::Event& e, int severity, std::string_view host,
                        std::string_view uuid);
// A random (version 4) UUID.
std::string RandomUuid();

}  // namespace vigil::engine

// Readable renderings of raw argument values (SPEC §2.1).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "vigil/events/event.h"

namespace vigil::events {

std::string FormatOpenFlags(uint64_t flags);    // "O_RDONLY|O_CLOEXEC"
std::string FormatMode(uint64_t mode);          // "S_IFREG|0644" or "0644"
std::string FormatSignal(int64_t sig);          // "SIGKILL", or the number as text
std::string FormatCapability(int64_t cap);      // "CAP_SYS_ADMIN"
std::string FormatProt(uint64_t prot);          // "PROT_READ|PROT_EXEC" or "PROT_NONE"
std::string FormatCloneFlags(uint64_t flags);   // "CLONE_VM|CLONE_FS|SIGCHLD"
std::string FormatAccessMode(uint64_t mode);    // "R_OK|W_OK" or "F_OK"
std::string FormatHex(uint64_t value);          // "0x7ffd1234"
// {"sa_family":"AF_INET","sin_addr":"127.0.0.1","sin_port":"8080"}; unknown families keep
// their number. Short or empty input gives an empty list.
Fields FormatSockaddr(std::span<const uint8_t> raw);

// Renders a captured integer by the argument's format.
Value RenderInteger(const ArgDef& def, uint64_t raw);

}  // namespace vigil::events

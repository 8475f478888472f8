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
std::string FormatFileType(uint64_t mode);  // "S_IFIFO" (the number for unknown types)
// The capabilities of a mask by name, lowest first: {"CAP_SETUID", "CAP_NET_RAW"}.
std::vector<std::string> FormatCapabilitySet(uint64_t set);
std::string FormatProt(uint64_t prot);          // "PROT_READ|PROT_EXEC" or "PROT_NONE"
std::string FormatMmapFlags(uint64_t flags);   // "MAP_PRIVATE|MAP_ANONYMOUS"
std::string FormatCloneFlags(uint64_t flags);   // "CLONE_VM|CLONE_FS|SIGCHLD"
std::string FormatAccessMode(uint64_t mode);    // "R_OK|W_OK" or "F_OK"
std::string FormatHex(uint64_t value);          // "0x7ffd1234"
std::string FormatSyscallName(int64_t nr);      // "openat", or the number as text
std::string FormatCapCheckResult(int64_t ret);  // "granted", or the errno's name: "EPERM"
std::string FormatErrno(int err);               // "EPERM (Operation not permitted)"; the sign is ignored
std::string FormatTcpState(int64_t state);      // "TCP_ESTABLISHED"
std::string FormatSocketDomain(int64_t domain);    // "AF_INET"
std::string FormatSocketType(uint64_t type);       // "SOCK_STREAM|SOCK_CLOEXEC"
std::string FormatPtraceRequest(int64_t request);  // "PTRACE_ATTACH"
std::string FormatPrctlOption(int64_t option);     // "PR_SET_NAME"
std::string FormatBpfCmd(int64_t cmd);             // "BPF_PROG_LOAD"
std::string FormatBpfProgType(int64_t type);       // "BPF_PROG_TYPE_SOCKET_FILTER"
std::string FormatNamespaceFlags(uint64_t flags);  // "CLONE_NEWNS|CLONE_NEWUSER", "0" for none
std::string FormatIpProtocol(int64_t protocol);    // "IPPROTO_TCP"
std::string FormatIpv4(uint32_t network_order);    // "127.0.0.1"
std::string FormatDirection(int64_t direction);    // "outbound", "inbound", "egress", "ingress"
// {"sa_family":"AF_INET","sin_addr":"127.0.0.1","sin_port":"8080"}; unknown families keep
// their number. Short or empty input gives an empty list.
Fields FormatSockaddr(std::span<const uint8_t> raw);

// Renders a captured integer by the argument's format.
Value RenderInteger(const ArgDef& def, uint64_t raw);

// True for the formats that render an integer as a name, text or list
// (flags, modes, signals, hex...); false for plain numbers and booleans.
bool RendersInteger(ArgFormat format);

// What the decoder keeps of a captured integer: the number as its C type
// reads (signed for int, pid_t, long...; a bool for kBool), or the captured
// bits as they are when the format renders them (RendersInteger).
Value TypedInteger(const ArgDef& def, uint64_t raw);

// What a sink shows for an argument (SPEC §2.1): its value, or for an
// integer whose format renders it, the rendering (made on the first call and
// kept in the Arg). The one place rendering happens: only when an event is
// written, or a filter or rule asks for the text of that one argument.
const Value& Rendered(const Arg& arg);

// How many times Rendered() had to render on this thread (for a test to
// observe that a dropped event was never rendered).
uint64_t RenderCount();

}  // namespace vigil::events

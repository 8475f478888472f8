// Ids of the events that are not syscalls (syscall events use their x86-64
// number). Values follow Tracee's where it has the same event.
#pragma once

#include <cstdint>

namespace vigil::events {

inline constexpr uint32_t kSchedProcessFork = 1002;
inline constexpr uint32_t kSchedProcessExec = 1003;
inline constexpr uint32_t kSchedProcessExit = 1004;

// Security events (events/src/security_events.cc).
inline constexpr uint32_t kCapCapable = 1007;
inline constexpr uint32_t kMemProtAlert = 1010;
inline constexpr uint32_t kMagicWrite = 1013;
inline constexpr uint32_t kSecurityFileOpen = 1018;
inline constexpr uint32_t kSecurityInodeUnlink = 1019;
inline constexpr uint32_t kSecuritySocketListen = 1021;
inline constexpr uint32_t kSecuritySocketConnect = 1022;
inline constexpr uint32_t kSecuritySocketAccept = 1023;
inline constexpr uint32_t kSecuritySocketBind = 1024;
inline constexpr uint32_t kSecurityInodeRename = 1054;
// No Tracee twin: from the range Tracee leaves to extensions (1500-1999).
inline constexpr uint32_t kNetTcpConnection = 1500;
inline constexpr uint32_t kCapabilitiesChanged = 1501;
inline constexpr uint32_t kPrivilegeGained = 1502;
inline constexpr uint32_t kBpfProgLoad = 1503;
inline constexpr uint32_t kNetPacketIpv4 = 2000;

}  // namespace vigil::events

// Ids of the events that are not syscalls (syscall events use their x86-64
// number). Values follow Tracee's where it has the same event.
#pragma once

#include <cstdint>

namespace vigil::events {

inline constexpr uint32_t kSchedProcessFork = 1002;
inline constexpr uint32_t kSchedProcessExec = 1003;
inline constexpr uint32_t kSchedProcessExit = 1004;

}  // namespace vigil::events

// The sensor's own tgid in the initial pid namespace: what the kernel
// programs compare with bpf_get_current_pid_tgid() to leave the sensor's own
// activity out. getpid() is that only when the sensor runs in the initial pid
// namespace; in a container or under `unshare -p` it is the in-namespace pid,
// which belongs to some other process on the host.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"

namespace vigil::engine {

// In the initial pid namespace, getpid(). Elsewhere the kernel is asked: a
// tiny raw_tp program run with BPF_PROG_TEST_RUN in this task's context
// (needs what loading tracing programs needs: cap_bpf and cap_perfmon).
// Learned once, then cached.
absl::StatusOr<uint32_t> HostTgid();

// Whether this process runs in the initial pid namespace (by the inode of
// /proc/self/ns/pid, PROC_PID_INIT_INO on every kernel since 3.8).
bool InInitialPidNamespace();

}  // namespace vigil::engine

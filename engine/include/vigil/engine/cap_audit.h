// The kernel's own record of the capability checks it made for this process
// (capability:cap_capable), used to name the capability behind an EPERM and
// by `vigil caps audit`.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "vigil/caps/cap_set.h"

struct capaudit_bpf;
struct ring_buffer;
struct bpf_link;

namespace vigil::engine {

struct CapCheck {
  int64_t monotonic_ns;
  pid_t tid;
  int cap;
  bool granted;
};

class CapAudit {
 public:
  // Loads and attaches the cap_capable program, filtered to this process.
  static absl::StatusOr<std::unique_ptr<CapAudit>> Start();
  ~CapAudit();
  CapAudit(const CapAudit&) = delete;
  CapAudit& operator=(const CapAudit&) = delete;

  // Moves the checks recorded so far into the history and returns it.
  const std::vector<CapCheck>& Collect();
  // Denied checks since `since_ns` (CLOCK_MONOTONIC), in order, without repeats.
  std::vector<int> DeniedSince(int64_t since_ns);
  uint64_t lost() const;
  void Stop();

  static int64_t NowMonotonic();

 private:
  CapAudit() = default;
  capaudit_bpf* skel_ = nullptr;
  ring_buffer* ring_ = nullptr;
  bpf_link* link_ = nullptr;
  std::vector<CapCheck> history_;
};

// "...; the kernel checked and denied cap_perfmon (then cap_sys_admin); fix: --capabilities add=cap_perfmon"
std::string ExplainDenial(const std::vector<int>& denied, caps::CapSet dropped);

}  // namespace vigil::engine

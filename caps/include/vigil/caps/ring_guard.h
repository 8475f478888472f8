// Moving the control thread between capability rings, scoped so that every
// path out of a privileged operation returns to where it came from, and logged
// so that `vigil caps audit` can tell which phase a kernel capability check fell in.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "vigil/caps/cap_set.h"
#include "vigil/caps/rings.h"

namespace vigil::caps {

struct RingTransition {
  Ring ring;             // the ring entered (kBase when a scope ends)
  std::string label;     // the operation, e.g. "attach openat"; "end: attach openat" on leaving
  CapSet effective;      // the effective set from then on
  int64_t monotonic_ns;  // CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns()
  pid_t thread_id;
};

class CapabilityEngine;

// Holds the control thread in a raised ring until destroyed, then returns it to
// the ring it was in before (Base, unless raises are nested), on every path out
// of the scope, exceptions included. Returning re-enters a ring the thread was
// just in, so capset(2) has no reason to refuse; if it still fails, or the guard
// is destroyed on another thread, the process aborts rather than run raised.
class [[nodiscard]] ScopedRing {
 public:
  ScopedRing(ScopedRing&& other) noexcept;
  ScopedRing& operator=(ScopedRing&&) = delete;
  ScopedRing(const ScopedRing&) = delete;
  ScopedRing& operator=(const ScopedRing&) = delete;
  ~ScopedRing();

  // Returns to the previous ring now, reporting failure instead of aborting.
  absl::Status Leave();

 private:
  friend class CapabilityEngine;
  ScopedRing(CapabilityEngine* engine, Ring previous_ring, CapSet previous_extra,
             std::string label);

  CapabilityEngine* engine_;  // null once left or moved from
  Ring previous_ring_;
  CapSet previous_extra_;
  std::string label_;
};

// Owns the ring plan for the process. The thread that constructs it is the
// control thread: the only one that may change rings, since capabilities are per
// thread and a raise on any other thread would escape the plan. Calls from
// another thread are refused with FailedPrecondition and change nothing.
//
// With bypass, no capability is ever changed: Harden, FinishSetup, Enter and
// Raise succeed without a syscall that changes anything, and transitions are
// still logged, with the inherited effective set.
class CapabilityEngine {
 public:
  CapabilityEngine(RingPlan plan, bool bypass);

  // Start-up, before any other thread exists: permitted := plan.permitted_needed,
  // effective := plan.base, inheritable and ambient cleared, bounding set
  // emptied where CAP_SETPCAP allows, no_new_privs set.
  absl::Status Harden();

  // Once every program is attached and every buffer mapped: permitted :=
  // plan.after_setup. Rings needing more can no longer be entered.
  absl::Status FinishSetup();

  // Sets the effective set to the ring's, plus `extra`. For kSpecific with
  // `extra`, only Base ∪ extra is raised (the named one-off caps), not the whole
  // Specific ring. `extra` must lie within the plan (so never in drop=).
  absl::Status Enter(Ring ring, CapSet extra = {}, std::string_view label = "");

  // Enter for the lifetime of the returned guard.
  absl::StatusOr<ScopedRing> Raise(Ring ring, std::string_view label, CapSet extra = {});

  // The calling thread's effective set, as the kernel reports it.
  CapSet effective_now() const;
  Ring current_ring() const;
  std::vector<RingTransition> transitions() const;
  const RingPlan& plan() const { return plan_; }
  bool bypass() const { return bypass_; }
  pid_t control_thread() const { return control_thread_; }

 private:
  friend class ScopedRing;

  absl::Status CheckControlThread(std::string_view attempt) const;
  absl::Status Transition(Ring ring, CapSet extra, std::string label);

  const RingPlan plan_;
  const bool bypass_;
  const pid_t control_thread_;
  bool setup_finished_ = false;  // control thread only

  mutable absl::Mutex mutex_;
  Ring current_ring_ ABSL_GUARDED_BY(mutex_) = Ring::kBase;
  CapSet current_extra_ ABSL_GUARDED_BY(mutex_);
  std::vector<RingTransition> transitions_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace vigil::caps

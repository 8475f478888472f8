// Capability rings (SPEC §3): which capabilities each phase of the sensor may
// hold, computed from the selection without touching the process.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "vigil/caps/cap_set.h"

namespace vigil::caps {

enum class Ring {
  kBase,      // resting state of every thread
  kEbpf,      // loading, attaching, map and buffer set-up
  kSpecific,  // one-off operations: mounting tracefs/bpffs, privileged /proc reads
  kFull,      // everything the plan permits
};

std::string_view RingName(Ring ring);  // "base", "ebpf", "specific", "full"

struct RingInputs {
  CapSet base_events;     // union of `base` caps of the selected events and their dependencies
  CapSet ebpf_events;     // union of their `ebpf` caps
  CapSet ebpf_privilege;  // DecideEbpfPrivilege(...).caps
  CapSet specific;        // one-off operations during set-up, e.g. CAP_SYS_ADMIN to mount tracefs
  CapSet add;             // --capabilities add=
  CapSet drop;            // --capabilities drop=, removed from every ring
  // One-off operations that may still happen after set-up (e.g. reading another
  // user's /proc/<pid>/exe on demand); they stay in permitted for the whole run.
  CapSet specific_after_setup;
};

struct RingPlan {
  CapSet base;
  CapSet ebpf;
  CapSet specific;
  CapSet permitted_needed;  // base ∪ ebpf ∪ specific: what permitted is reduced to at start
  CapSet after_setup;       // base ∪ specific_after_setup: what permitted keeps once set up

  // The effective set while in `ring`; kFull is permitted_needed.
  CapSet For(Ring ring) const;
  bool operator==(const RingPlan&) const = default;
};

RingPlan PlanRings(const RingInputs& inputs);

// One selected event's capabilities, already merged with its dependencies'
// (the registry's CapsClosure), so that caps/ need not depend on events/.
struct EventCapsInput {
  std::string name;
  CapSet base;
  CapSet ebpf;
};

struct EventCancellation {
  std::string event;
  CapSet missing_base;
  CapSet missing_ebpf;  // excludes caps already reported in missing_base
  // "event security_socket_connect cancelled: needs CAP_NET_ADMIN (ebpf), which
  // this process does not have (permitted: cap_bpf,cap_perfmon)"
  std::string message;
};

// The events whose capabilities `permitted` cannot provide, in input order.
// Caps removed by --capabilities drop= are not a reason to cancel: the user chose
// that, and the event is attempted and reports its own failure (SPEC §3).
// Call before Harden, with the permitted set the process started with; under
// bypass, pass the inherited effective set.
std::vector<EventCancellation> FindCancelledEvents(const std::vector<EventCapsInput>& events,
                                                   CapSet permitted);

}  // namespace vigil::caps

// `vigil caps audit`: the capability checks the kernel made for the sensor,
// by phase and event, against what the plan declared.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "vigil/caps/plan_format.h"
#include "vigil/caps/ring_guard.h"
#include "vigil/engine/cap_audit.h"

namespace vigil::engine {

struct AuditInputs {
  caps::PlanDescription plan;
  bool bypass = false;
  std::vector<caps::RingTransition> transitions;
  std::vector<CapCheck> checks;
  std::vector<std::pair<int64_t, std::string>> attach_times;  // event attach start
  int64_t setup_done_ns = 0;                                  // 0: never finished
  int64_t stop_ns = 0;  // when the stop began (detach, drain, outputs); 0: never
  uint64_t lost = 0;
};

struct AuditSummary {
  std::vector<std::string> declared_unused;    // "cap_x (ebpf): needed by ..."
  std::vector<std::string> used_undeclared;    // granted but not in the plan
  std::vector<std::string> denied_undeclared;  // denied, not in the ring at the time
};

AuditSummary Summarize(const AuditInputs& in);
std::string RenderAuditText(const AuditInputs& in);
std::string RenderAuditJson(const AuditInputs& in);

// The phase a check at `ts` fell in: start-up, load, attach, ring-buffer set-up, steady state.
std::string PhaseAt(const AuditInputs& in, int64_t ts);

}  // namespace vigil::engine

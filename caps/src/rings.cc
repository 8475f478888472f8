#include "vigil/caps/rings.h"

#include "absl/strings/str_cat.h"

namespace vigil::caps {

std::string_view RingName(Ring ring) {
  switch (ring) {
    case Ring::kBase:
      return "base";
    case Ring::kEbpf:
      return "ebpf";
    case Ring::kSpecific:
      return "specific";
    case Ring::kFull:
      return "full";
  }
  return "unknown";
}

CapSet RingPlan::For(Ring ring) const {
  switch (ring) {
    case Ring::kBase:
      return base;
    case Ring::kEbpf:
      return ebpf;
    case Ring::kSpecific:
      return specific;
    case Ring::kFull:
      return permitted_needed;
  }
  return base;
}

RingPlan PlanRings(const RingInputs& in) {
  RingPlan plan;
  plan.base = (in.base_events | in.add) - in.drop;
  plan.ebpf = (plan.base | in.ebpf_privilege | in.ebpf_events) - in.drop;
  plan.specific = (plan.base | in.specific | in.specific_after_setup) - in.drop;
  plan.permitted_needed = plan.base | plan.ebpf | plan.specific;
  plan.after_setup = (plan.base | in.specific_after_setup) - in.drop;
  return plan;
}

std::vector<EventCancellation> FindCancelledEvents(const std::vector<EventCapsInput>& events,
                                                   CapSet permitted) {
  std::vector<EventCancellation> cancelled;
  for (const EventCapsInput& event : events) {
    const CapSet missing_base = event.base - permitted;
    const CapSet missing_ebpf = event.ebpf - permitted - missing_base;
    if (missing_base.empty() && missing_ebpf.empty()) continue;

    std::string needs;
    if (!missing_base.empty()) absl::StrAppend(&needs, missing_base.ToUpperList(","), " (base)");
    if (!missing_ebpf.empty()) {
      absl::StrAppend(&needs, needs.empty() ? "" : " and ", missing_ebpf.ToUpperList(","),
                      " (ebpf)");
    }
    cancelled.push_back({event.name, missing_base, missing_ebpf,
                         absl::StrCat("event ", event.name, " cancelled: needs ", needs,
                                      ", which this process does not have (permitted: ",
                                      DescribeCaps(permitted), ")")});
  }
  return cancelled;
}

}  // namespace vigil::caps

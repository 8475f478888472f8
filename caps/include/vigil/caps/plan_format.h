// `vigil caps plan`: each ring's capabilities with what needs them, and the
// minimal grant as text, JSON, a systemd fragment, docker flags or a k8s securityContext.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "vigil/caps/cap_set.h"
#include "vigil/caps/kernel_probe.h"
#include "vigil/caps/options.h"
#include "vigil/caps/rings.h"

namespace vigil::caps {

// Everything the rings are computed from, with the reasons kept for display.
struct PlanSources {
  std::string selection;  // how the user selected events, e.g. "-e openat,tag=net"
  std::vector<EventCapsInput> events;
  EbpfPrivilege privilege;
  std::vector<CapReason> specific;              // one-off operations during set-up
  std::vector<CapReason> specific_after_setup;  // one-off operations that may recur while running
  CapabilityOptions options;
};

RingInputs ToRingInputs(const PlanSources& sources);

struct CapNeed {
  Cap cap;
  // Event names, "kernel: <reason>", "--capabilities add=", "base ring" (in the
  // EBPF and Specific rings, for what they hold because Base does), or the
  // reason of a one-off operation.
  std::vector<std::string> needed_by;
};

struct PlanDescription {
  std::string selection;
  RingPlan plan;
  std::vector<CapNeed> base;  // one entry per capability of the ring, ascending
  std::vector<CapNeed> ebpf;
  std::vector<CapNeed> specific;
  CapSet dropped;
};

PlanDescription DescribePlan(const PlanSources& sources);

enum class PlanFormat { kText, kJson, kSystemd, kDocker, kK8s };

// "text", "json", "systemd", "docker" or "k8s"; anything else is an error listing them.
absl::StatusOr<PlanFormat> ParsePlanFormat(std::string_view name);

// The minimal grant is plan.permitted_needed in every format.
std::string RenderPlan(const PlanDescription& description, PlanFormat format);

}  // namespace vigil::caps

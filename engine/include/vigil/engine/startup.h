// What a selection needs before anything is loaded: the events (with their
// dependencies and policy masks), how syscalls will be hooked, and the
// capability rings. Shared by the sensor and `vigil caps plan`.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "vigil/caps/kernel_probe.h"
#include "vigil/caps/options.h"
#include "vigil/caps/plan_format.h"
#include "vigil/engine/bpf_sensor.h"
#include "vigil/engine/path_filters.h"
#include "vigil/engine/sensor.h"
#include "vigil/policies/compile.h"

namespace vigil::engine {

struct Selection {
  std::string description;  // "-e openat" or "-p policies/default.yaml"
  std::shared_ptr<const policies::CompiledPolicies> policies;
  PathFilterPlan path_filters;
  std::vector<SelectedEvent> events;  // selected events plus their dependencies
  // Inputs of selected detections -> the policies whose detections consume
  // them. The kernel captures an input within those policies' scopes too;
  // it reaches the outputs only for the policies that select it themselves.
  std::map<uint32_t, uint64_t> detection_inputs;
};

// A detection is an event of the registry's `signatures` set.
bool IsDetection(const events::EventDef& def);

// From -e/-s/-p (or the default policy). Errors are usage errors (exit 2).
absl::StatusOr<Selection> BuildSelection(const SensorOptions& options);

struct StartupPlan {
  caps::PlanSources sources;
  caps::RingPlan rings;
  bool use_tracepoints = false;  // per-syscall tracepoints (else the raw dispatcher)
  bool mount_tracefs = false;    // tracefs is needed and missing
};

// Each selected event's capabilities (with its dependencies'), by name.
std::vector<caps::EventCapsInput> EventCapSources(const Selection& selection);

// `seed_process_tree`: read /proc/<pid>/exe of running processes once at
// start (CAP_SYS_PTRACE, Specific ring); the sensor asks for it only when the
// process holds the capability, since the kernel's exec records cover every
// process started later.
StartupPlan PlanStartup(const Selection& selection, const caps::CapabilityOptions& cap_options,
                        const caps::KernelFacts& facts, SyscallHook hook, size_t tracepoint_limit,
                        bool seed_process_tree = false);

// `vigil caps plan`: prints the plan for the selection; returns the exit status.
int PrintCapsPlan(const SensorOptions& options, const std::string& format);

// The default policy: the installed copy first, then the source tree's.
std::string DefaultPolicyPath();

}  // namespace vigil::engine

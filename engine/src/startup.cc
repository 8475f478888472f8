#include "vigil/engine/startup.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "vigil/caps/process_caps.h"
#include "vigil/engine/log.h"
#include "vigil/events/event_ids.h"
#include "vigil/events/registry.h"

#ifndef VIGIL_SOURCE_DIR
#define VIGIL_SOURCE_DIR "."
#endif
#ifndef VIGIL_INSTALL_DATADIR
#define VIGIL_INSTALL_DATADIR "/usr/local/share/vigil"
#endif

namespace vigil::engine {

std::string DefaultPolicyPath() {
  for (std::string candidate : {std::string("/etc/vigil/policies/default.yaml"),
                                absl::StrCat(VIGIL_INSTALL_DATADIR, "/policies/default.yaml"),
                                absl::StrCat(VIGIL_SOURCE_DIR, "/policies/default.yaml")}) {
    if (access(candidate.c_str(), R_OK) == 0) return candidate;
  }
  return absl::StrCat(VIGIL_SOURCE_DIR, "/policies/default.yaml");
}

bool IsDetection(const events::EventDef& def) {
  return std::find(def.sets.begin(), def.sets.end(), "signatures") != def.sets.end();
}

namespace {

// container=new is decided in the kernel from the table the cgroup_tracking
// programs keep: a policy using it needs them whether or not it selects a
// container event. They run under those policies' bits, so that a failure to
// attach them is reported as the event's cancellation (and on /healthz).
void AddNewContainerTracking(Selection& selection) {
  uint64_t users = 0;
  const std::vector<policies::Scope>& scopes = selection.policies->scopes();
  for (size_t i = 0; i < scopes.size() && i < 64; ++i)
    if (scopes[i].new_container) users |= uint64_t{1} << i;
  if (users == 0) return;
  for (SelectedEvent& e : selection.events) {
    if (e.def->id != events::kCgroupTracking) continue;
    e.policies |= users;
    return;
  }
  selection.events.push_back({events::Registry::Builtin().FindId(events::kCgroupTracking), users});
}

}  // namespace

absl::StatusOr<Selection> BuildSelection(const SensorOptions& options) {
  const events::Registry& registry = events::Registry::Builtin();
  absl::StatusOr<policies::CompiledPolicies> compiled = policies::CompileSelection(
      {.events = options.events, .scopes = options.scopes, .policy_paths = options.policy_paths}, registry,
      DefaultPolicyPath());
  if (!compiled.ok()) return compiled.status();
  Selection selection;
  // Before the policies are shared: it marks the filters the kernel decides.
  selection.path_filters = PlanPathFilters(*compiled, registry);
  selection.policies = std::make_shared<const policies::CompiledPolicies>(std::move(*compiled));
  selection.description = selection.policies->description();
  // Dependencies run for the events that need them; unselected, they carry no policy.
  for (const auto& [id, policies] : selection.policies->event_policies()) {
    if (!IsDetection(*registry.FindId(id))) continue;
    for (uint32_t input : registry.WithDependencies({id}))
      if (input != id) selection.detection_inputs[input] |= policies;
  }
  for (uint32_t id : registry.WithDependencies(selection.policies->events())) {
    auto input = selection.detection_inputs.find(id);
    SelectedEvent e{registry.FindId(id), selection.policies->PoliciesOf(id) |
                                             (input == selection.detection_inputs.end() ? 0 : input->second)};
    if (auto it = selection.path_filters.events.find(id); it != selection.path_filters.events.end()) {
      e.path_policies = it->second.policies;
      e.path_arg = it->second.arg;
    }
    selection.events.push_back(e);
  }
  AddNewContainerTracking(selection);
  return selection;
}

std::vector<caps::EventCapsInput> EventCapSources(const Selection& selection) {
  const events::Registry& registry = events::Registry::Builtin();
  std::vector<caps::EventCapsInput> out;
  out.reserve(selection.events.size());
  for (const SelectedEvent& e : selection.events) {
    events::EventCaps c = registry.CapsClosure(e.def->id);
    out.push_back({e.def->name, c.base, c.ebpf});
  }
  return out;
}

StartupPlan PlanStartup(const Selection& selection, const caps::CapabilityOptions& cap_options,
                        const caps::KernelFacts& facts, SyscallHook hook, size_t tracepoint_limit,
                        bool seed_process_tree) {
  StartupPlan plan;
  size_t syscalls = 0;
  for (const SelectedEvent& e : selection.events) syscalls += e.def->is_syscall();
  plan.sources.events = EventCapSources(selection);
  plan.use_tracepoints = syscalls > 0 && hook != SyscallHook::kRawSyscalls &&
                         (hook == SyscallHook::kTracepoints || syscalls <= tracepoint_limit);
  plan.mount_tracefs = plan.use_tracepoints && !facts.tracefs_mounted();
  plan.sources.selection = selection.description;
  plan.sources.privilege = caps::DecideEbpfPrivilege(facts, plan.use_tracepoints);
  if (plan.mount_tracefs)
    plan.sources.specific.push_back(
        {caps::Cap::kSysAdmin,
         "mount tracefs on /sys/kernel/tracing for per-syscall tracepoints (it is not mounted; "
         "without this the raw_syscalls dispatcher is used)"});
  if (seed_process_tree)
    plan.sources.specific.push_back(
        {caps::Cap::kSysPtrace,
         "read /proc/<pid>/exe of the processes running at start (executable paths; optional)"});
  plan.sources.options = cap_options;
  plan.rings = caps::PlanRings(caps::ToRingInputs(plan.sources));
  return plan;
}

int PrintCapsPlan(const SensorOptions& options, const std::string& format) {
  absl::StatusOr<caps::PlanFormat> plan_format = caps::ParsePlanFormat(format);
  if (!plan_format.ok()) {
    LogError(plan_format.status().message());
    return 2;
  }
  absl::StatusOr<caps::CapabilityOptions> cap_options =
      caps::ParseCapabilityOptions(options.capabilities, caps::ProcessEnvironment());
  if (!cap_options.ok()) {
    LogError(cap_options.status().message());
    return 2;
  }
  absl::StatusOr<Selection> selection = BuildSelection(options);
  if (!selection.ok()) {
    LogError(selection.status().message());
    return 2;
  }
  absl::StatusOr<caps::HostKernelFacts> facts = caps::HostKernelFacts::Probe();
  if (!facts.ok()) {
    LogError(facts.status().message());
    return 1;
  }
  // As the sensor decides: the process-tree seed is planned where the
  // process holds CAP_SYS_PTRACE (and drop= does not remove it).
  absl::StatusOr<caps::ThreadCaps> held = caps::ReadThreadCaps();
  const bool seed = held.ok() && held->permitted.Has(caps::Cap::kSysPtrace) &&
                    !cap_options->drop.Has(caps::Cap::kSysPtrace);
  StartupPlan plan = PlanStartup(*selection, *cap_options, *facts, options.syscall_hook,
                                 BpfSensor::Options{}.tracepoint_limit, seed);
  std::string out = caps::RenderPlan(caps::DescribePlan(plan.sources), *plan_format);
  fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace vigil::engine

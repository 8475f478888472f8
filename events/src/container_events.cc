// Container lifecycle: cgroup v2 directories of container runtimes appearing
// and going away (the cgroup_mkdir / cgroup_rmdir tracepoints), and those
// found at start-up. Ids and arguments come from bpf/events.def.
#include "container_events.h"

#include <string>

#include "defined_events.h"
#include "vigil/events/event_ids.h"

namespace vigil::events {
namespace {

// A cgroup tracepoint through BTF (tp_btf), else as a raw tracepoint: both
// give the struct cgroup, whose kernfs node names the new directory.
ProbeDef CgroupProbe(const std::string& tracepoint) {
  return ProbeDef{.name = "cgroup/" + tracepoint,
                  .required = true,
                  .alternatives = {{AttachKind::kTpBtf, {"vg_btf_cg_" + tracepoint}, tracepoint},
                                   {AttachKind::kRawTracepoint, {"vg_raw_cg_" + tracepoint}, tracepoint}}};
}

constexpr const char* kFromPath =
    "; runtime (docker, containerd, crio, podman) and pod_uid are read from the cgroup path, image, names "
    "and "
    "pod_sandbox are not known to a host sensor without the runtime's API (empty)";

}  // namespace

void AddContainerEvents(std::vector<EventDef>& defs) {
  // Shared by the events below and by the container=new scope: each program
  // is attached once. Tracing programs need the eBPF privilege only.
  defs.push_back(Defined(
      kCgroupTracking, {
                           .description = "the cgroup_mkdir and cgroup_rmdir programs that keep the kernel's "
                                          "table of containers created after the sensor started "
                                          "(container=new) and emit container_create / container_remove",
                           .sets = {"containers"},
                           .probes = {CgroupProbe("cgroup_mkdir"), CgroupProbe("cgroup_rmdir")},
                           .internal = true,
                       }));
  defs.push_back(Defined(
      kContainerCreate,
      {
          .description =
              std::string("a container's cgroup was created (a cgroup v2 directory whose name holds a "
                          "64-hex container id, as docker, containerd, CRI-O and podman name "
                          "them); the process is the one that created it (the runtime)") +
              kFromPath,
          .sets = {"default", "containers"},
          .dependencies = {"cgroup_tracking"},
      }));
  defs.push_back(Defined(kContainerRemove,
                         {
                             .description = "a container's cgroup was removed (the container ended); the "
                                            "process is the one that removed it",
                             .sets = {"default", "containers"},
                             .dependencies = {"cgroup_tracking"},
                         }));
  // Found by walking the cgroup v2 tree once, after the programs above are
  // attached, so that a container is either existing or new.
  defs.push_back(Defined(
      kExistingContainer,
      {
          .description = std::string("a container that was running when the sensor started (from a walk of "
                                     "the cgroup v2 tree at start-up, once); no process") +
                         kFromPath,
          .sets = {"containers"},
          .dependencies = {"cgroup_tracking"},
      }));
}

}  // namespace vigil::events

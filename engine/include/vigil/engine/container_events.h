// The user-space half of the container lifecycle events (container_create,
// container_remove, existing_container): Tracee's arguments from the cgroup
// path, the container id, and the container scope of the policies. The
// kernel half is bpf/containers.bpf.h; existing_container is made here, from
// a walk of the cgroup tree at start-up.
#pragma once

#include <cstdint>
#include <unordered_set>
#include <vector>

#include "vigil/engine/containers.h"
#include "vigil/events/event.h"
#include "vigil/policies/compile.h"

namespace vigil::engine {

class ContainerEvents {
 public:
  // `resolver` (optional) learns each created container's cgroup.
  explicit ContainerEvents(ContainerResolver* resolver = nullptr) : resolver_(resolver) {}

  // container_create, container_remove or existing_container.
  static bool Handles(uint32_t event_id);

  // existing_container events for the containers `found` at start-up (after
  // the cgroup programs were attached, so that each container is either
  // existing or new), with `candidates` (the policies selecting the event)
  // and the walk's wall-clock time; none when `candidates` is 0. Remembers
  // them as existing either way.
  std::vector<events::Event> Existing(const std::vector<FoundContainer>& found, uint64_t candidates,
                                      uint64_t now_real_ns);

  // A container event, decoded or from Existing: fills the arguments the
  // kernel does not (runtime, container_id, ctime, pod_uid; the rest empty),
  // sets container_id, and keeps the policies whose container scope the
  // container passes (CompiledPolicies::MatchContainerScope). False when the
  // event is to be dropped: no policy is left, or a container_create for a
  // container the start-up walk already reported (made between the attach
  // and the walk).
  bool Apply(events::Event& e, const policies::CompiledPolicies& policies);

  size_t existing() const { return existing_.size(); }

 private:
  ContainerResolver* resolver_;
  std::unordered_set<uint64_t> existing_;  // cgroup ids of the containers found at start, still there
};

}  // namespace vigil::engine

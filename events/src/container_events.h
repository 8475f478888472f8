#pragma once

#include <vector>

#include "vigil/events/registry.h"

namespace vigil::events {

// Appends the container lifecycle events and their internal cgroup probes
// (ids from event_ids.h; the kernel side is bpf/containers.bpf.h).
void AddContainerEvents(std::vector<EventDef>& defs);

}  // namespace vigil::events

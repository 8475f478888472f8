#pragma once

#include <vector>

#include "vigil/events/registry.h"

namespace vigil::events {

// Appends the security event definitions (ids from event_ids.h).
void AddSecurityEvents(std::vector<EventDef>& defs);

}  // namespace vigil::events

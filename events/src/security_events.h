#pragma once

#include <vector>

#include "vigil/events/registry.h"

namespace vigil::events {

// Appends the security event definitions (ids from event_ids.h).
void AddSecurityEvents(std::vector<EventDef>& defs);

// Appends the internal io_uring events and makes the syscall and security
// events that io_uring operations stand for depend on them (io_uring_events.cc).
void AddIoUringEvents(std::vector<EventDef>& defs);

}  // namespace vigil::events

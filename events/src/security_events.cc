// Security events beyond raw syscalls: files, network, privileges.
#include "security_events.h"

namespace vigil::events {

void AddSecurityEvents(std::vector<EventDef>& defs) { (void)defs; }

}  // namespace vigil::events

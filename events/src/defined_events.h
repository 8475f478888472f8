// The events of bpf/events.def as registry definitions: id, name and
// arguments come from there; the rest (description, sets, probes,
// capabilities) from the caller.
#pragma once

#include <cstdint>

#include "vigil/events/registry.h"

namespace vigil::events {

// `rest` with the id, name and arguments bpf/events.def gives event `id`.
// Throws std::logic_error for an id events.def does not define.
EventDef Defined(uint32_t id, EventDef rest);

// The x86-64 number of a syscall by name (from the generated table); -1 if none.
int SyscallNumber(std::string_view name);

}  // namespace vigil::events

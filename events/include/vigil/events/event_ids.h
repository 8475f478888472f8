// Ids of the events that are not syscalls (syscall events use their x86-64
// number): k<Camel> for each event of bpf/events.def, the one definition the
// kernel side reads too (as VG_ID_<EVENT>).
#pragma once

#include <cstdint>

namespace vigil::events {

#define VG_EVENT(E, camel, id, name) inline constexpr uint32_t k##camel = id;
#define VG_ARG(E, A, name, type, format)
#define VG_END(E)
#include "events.def"
#undef VG_EVENT
#undef VG_ARG
#undef VG_END

}  // namespace vigil::events

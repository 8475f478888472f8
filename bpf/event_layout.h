/* Ids and argument indexes of the non-syscall events, from bpf/events.def:
 * VG_ID_<EVENT> and VG_ARG_<EVENT>_<ARG> (the position the registry decodes
 * the argument at), VG_ARGC_<EVENT> (how many there are). Plain C. */
#ifndef VIGIL_BPF_EVENT_LAYOUT_H
#define VIGIL_BPF_EVENT_LAYOUT_H

#define VG_EVENT(E, camel, id, name) \
  enum { VG_ID_##E = id };           \
  enum {
#define VG_ARG(E, A, name, type, format) VG_ARG_##E##_##A,
#define VG_END(E) \
  VG_ARGC_##E     \
  }               \
  ;
#include "events.def"
#undef VG_EVENT
#undef VG_ARG
#undef VG_END

/* Values of the `direction` arguments (ArgFormat::kDirection). */
#define VG_DIR_OUTBOUND 1
#define VG_DIR_INBOUND 2
#define VG_DIR_EGRESS 3
#define VG_DIR_INGRESS 4

#endif /* VIGIL_BPF_EVENT_LAYOUT_H */

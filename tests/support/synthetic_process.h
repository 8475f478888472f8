// The process a hand-built event comes from, for the tests and benchmarks
// that feed events to what consumes them (no gtest: benchmarks use it too).
#ifndef VIGIL_TESTS_SUPPORT_SYNTHETIC_PROCESS_H_
#define VIGIL_TESTS_SUPPORT_SYNTHETIC_PROCESS_H_

#include <cstdint>

#include "vigil/events/event.h"
#include "vigil/events/registry.h"

namespace vigil::test_support {

struct Process {
  uint32_t pid = 4242;  // also the tid, and both in the initial pid namespace
  uint32_t ppid = 1;    // also in the initial pid namespace
  uint32_t uid = 1000;
  const char* comm = "";
  const char* executable = "";
  const char* parent_comm = "";
};

// An event of `def` (no arguments yet) from process `p`.
inline events::Event EventFrom(const events::EventDef* def, const Process& p) {
  events::Event e;
  e.def = def;
  e.pid = e.tid = e.host_pid = e.host_tid = p.pid;
  e.ppid = e.host_ppid = p.ppid;
  e.uid = p.uid;
  e.comm = p.comm;
  e.executable = p.executable;
  e.parent_comm = p.parent_comm;
  return e;
}

}  // namespace vigil::test_support

#endif  // VIGIL_TESTS_SUPPORT_SYNTHETIC_PROCESS_H_

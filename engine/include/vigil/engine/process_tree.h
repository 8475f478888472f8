// Executable paths by process, kept from the kernel's exec/fork/exit records
// and seeded from /proc at start, so that every event can name its
// executable without reading /proc (and without CAP_SYS_PTRACE) at run time.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "vigil/events/event.h"

namespace vigil::engine {

class ProcessTree {
 public:
  explicit ProcessTree(size_t max_entries = 1 << 16) : max_entries_(max_entries) {}

  // Reads /proc/<pid>/exe of every running process; returns how many were read.
  size_t SeedFromProc();

  // Applies a lifecycle event (exec, fork, exit); other events are ignored.
  void Apply(const events::Event& e);

  // The executable of the event's process; falls back to /proc/<pid>/exe.
  const std::string& Executable(uint32_t host_pid, uint64_t start_time_ns);

  size_t size() const { return procs_.size(); }

 private:
  struct Proc {
    uint64_t start_time_ns = 0;  // 0: seeded from /proc, start time unknown
    std::string exe;
  };
  Proc& Put(uint32_t host_pid, uint64_t start_time_ns);

  size_t max_entries_;
  std::unordered_map<uint32_t, Proc> procs_;
};

}  // namespace vigil::engine

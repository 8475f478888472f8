// Processes by host pid, kept from the kernel's exec/fork/exit records and
// from every event's header (comm, parent pid), and seeded from /proc at
// start, so that every event can name its executable without reading /proc
// (and without CAP_SYS_PTRACE) at run time, and detection logic can walk a
// process's ancestry (Parent, Ancestors).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "vigil/events/event.h"

namespace vigil::engine {

class ProcessTree {
 public:
  // What the tree knows of one process.
  struct Info {
    uint32_t pid = 0;            // host pid
    uint32_t ppid = 0;           // host pid of its parent (0: unknown)
    std::string comm;            // the process's (leader thread's) comm; "" when unknown
    std::string exe;             // "" when not known yet
    uint64_t start_time_ns = 0;  // 0: seeded from /proc, start time unknown
  };

  // At most `max_entries` processes are kept; beyond that the least recently
  // seen quarter is evicted (exited processes are erased at their exit).
  explicit ProcessTree(size_t max_entries = 1 << 16) : max_entries_(max_entries) {}

  // Reads /proc/<pid>/exe and /proc/<pid>/stat (comm, ppid) of every running
  // process; returns how many were read.
  size_t SeedFromProc();

  // Applies an event: exec, fork and exit change the tree; every event's
  // header refreshes its process's comm (from the leader thread) and parent.
  void Apply(const events::Event& e);

  // The executable of the event's process; falls back to /proc/<pid>/exe.
  const std::string& Executable(uint32_t host_pid, uint64_t start_time_ns);

  // From now on, read /proc/<pid>/exe only of processes whose /proc entry
  // belongs to this uid and gid: the kernel lets a process without
  // CAP_SYS_PTRACE read those, and any other read would be a denied
  // capability check (the sensor's steady state makes none). For uid 0 no
  // read is safe: the /proc entry of a non-dumpable process belongs to root
  // too, and reading its exe needs CAP_SYS_PTRACE. Executables not read stay
  // unknown until the process execs.
  void ReadExeOnlyOf(uint32_t uid, uint32_t gid) { exe_owner_ = std::pair(uid, gid); }

  std::optional<Info> Find(uint32_t host_pid) const;
  // The parent of `host_pid`, when both are known.
  std::optional<Info> Parent(uint32_t host_pid) const;
  // The parent's comm, without copying (per event); empty when unknown.
  const std::string& ParentComm(uint32_t host_pid) const;
  // Parent first, then its parent...: at most `max` entries, stopping at the
  // first unknown process, at pid 0/1's parent, or at a cycle.
  std::vector<Info> Ancestors(uint32_t host_pid, size_t max) const;

  // Without copying (detection rules, per event): the n-th ancestor (1: the
  // parent) as its host pid, comm and executable, valid until the tree
  // changes. False when unknown, past the root, or on a cycle.
  bool AncestorAt(uint32_t host_pid, int n, uint32_t& pid, const std::string*& comm,
                  const std::string*& exe) const;
  // The argv of the image the process runs (from its exec, inherited at fork,
  // or /proc/<pid>/cmdline at seed), at most kMaxArgvBytes of it; nullptr
  // when unknown.
  const std::vector<std::string>* Argv(uint32_t host_pid) const;
  static constexpr size_t kMaxArgvBytes = 4096;

  size_t size() const { return procs_.size(); }

 private:
  struct Proc {
    uint64_t start_time_ns = 0;  // 0: seeded from /proc, start time unknown
    uint64_t last_seen = 0;      // Apply/Executable tick, for eviction
    uint32_t ppid = 0;
    bool exe_known = false;
    std::string exe;
    std::string comm;
    std::vector<std::string> argv;
    bool argv_known = false;
  };
  // The entry of `host_pid` for a process started at `start_time_ns`: a
  // stale one (pid reused) is reset.
  Proc& Put(uint32_t host_pid, uint64_t start_time_ns);
  void Evict();
  static Info ToInfo(uint32_t pid, const Proc& p);

  size_t max_entries_;
  std::optional<std::pair<uint32_t, uint32_t>> exe_owner_;  // see ReadExeOnlyOf
  uint64_t tick_ = 0;
  std::unordered_map<uint32_t, Proc> procs_;
  // The arguments Apply reads, resolved once per event type.
  events::ArgRef child_pid_{"child_pid"}, start_time_{"start_time"}, group_exit_{"process_group_exit"},
      pathname_{"pathname"}, argv_{"argv"};
};

}  // namespace vigil::engine

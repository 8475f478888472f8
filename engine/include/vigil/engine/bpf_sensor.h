// The kernel side as one object: opens the embedded BPF skeleton, loads
// only the programs the selected events need (falling back per probe),
// attaches them, and reads their ring buffer.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "vigil/engine/path_filters.h"
#include "vigil/events/registry.h"
#include "vigil/policies/kernel_scope.h"
#include "vigil/rules/rules.h"
#include "vigil_event.h"  // bpf/: struct vg_syscall_spec

struct vigil_bpf;  // the generated skeleton
struct bpf_link;
struct ring_buffer;

namespace vigil::engine {

enum class SyscallHook { kAuto, kTracepoints, kRawSyscalls };

struct SelectedEvent {
  const events::EventDef* def;
  uint64_t policies;           // policies that selected it (bit i = policy i)
  uint64_t path_policies = 0;  // of those, the ones the kernel filters by path
  int path_arg = -1;           // the path argument's index, with path_policies
};

struct KernelCounters {
  uint64_t emitted = 0;
  uint64_t lost_reserve = 0;
  uint64_t filtered_kernel = 0;
  uint64_t truncated = 0;
  uint64_t read_failed = 0;  // user memory the kernel could not read (events kept)
  uint64_t map_full = 0;  // a kernel table was full: a pending context or state not kept
  uint64_t compat_undecoded = 0;  // x32 syscalls, ia32 ones with no x86-64 twin
  // io_uring requests a selected event could not report (bpf/io_uring.bpf.h
  // vg_iou_undecoded): filled by ReadIoUringUndecoded, not ReadCounters.
  uint64_t iou_undecoded = 0;
};

// The in-kernel prefilter of detection inputs (bpf/detect_prefilter.h): the
// policies that take security_file_open only for their detections (0: off)
// and the condition every open a rule could match meets.
struct DetectPrefilterPlan {
  uint64_t open_detect_only = 0;
  rules::FileOpenPrefilter open;
};

// An event that could not be set up, and why.
struct Cancellation {
  std::string event;
  std::string reason;
};

class BpfSensor {
 public:
  struct Options {
    uint32_t ring_bytes = 16u << 20;  // power of two, >= page size
    SyscallHook syscall_hook = SyscallHook::kAuto;
    // auto: per-syscall tracepoints up to this many syscalls. Each costs ~75 ms
    // to release at stop (an RCU grace period), and the stop budget is 2 s.
    size_t tracepoint_limit = 24;
    bool tracefs_available = true;  // per-syscall tracepoints need tracefs
    bool track_processes = true;    // lifecycle records for the process tree, even if unselected
    bool exec_env = false;          // sched_process_exec carries the environment (--exec-env)
    // Programs handled as if this kernel refused them (tests: a probe's
    // fallback alternatives on a kernel where the first one works).
    std::set<std::string> refused_programs;
    // Some policy's scope is container or not-container: the kernel keeps the
    // set of container cgroups (bpf/scope.h), seeded from the cgroup tree.
    bool container_scope = false;
  };

  ~BpfSensor();
  BpfSensor(const BpfSensor&) = delete;
  BpfSensor& operator=(const BpfSensor&) = delete;

  // Opens and loads the object with the programs `events` need. A program the
  // kernel refuses is replaced by its probe's next alternative; an event left
  // without a way to run is cancelled (with its dependents, by the caller).
  static absl::StatusOr<std::unique_ptr<BpfSensor>> Load(const std::vector<SelectedEvent>& events,
                                                         const Options& options,
                                                         std::vector<Cancellation>& cancelled);

  // Attaches every loaded probe in preference order. Events whose required
  // probes all fail are returned as cancelled.
  std::vector<Cancellation> Attach();

  // Maps the ring buffer; `on_record` runs for every record in the polling thread.
  absl::Status OpenRingBuffer(std::function<void(std::span<const uint8_t>)> on_record);

  // Waits up to timeout_ms for a wake-up, then drains whatever is there
  // (records are submitted without wake-ups, so a timeout is normal).
  // Handles at most kDrainBatch records, so that a sustained flood still
  // returns to the caller; returns how many it handled.
  absl::StatusOr<int> PollAndDrain(int timeout_ms);
  static constexpr int kDrainBatch = 4096;

  // Writes the policies' kernel tables into the loaded object: the scope maps
  // of bpf/scope.h (vg_scope_cfg last, so the kernel never sees half a scope)
  // the pathname filters and the detection-input prefilter (vg_detect_*,
  // vg_detect_cfg last). The one writer of the object's maps; needs the EBPF
  // ring (bpf() calls).
  absl::Status WritePolicyTables(const policies::ScopeMapEntries& scope, const PathFilterPlan& paths,
                                 const DetectPrefilterPlan& detect = {});

  // Detaches every program (the object stays loaded).
  void Detach();

  // Summed over CPUs, read from the mmap'd .bss (no bpf() call).
  KernelCounters ReadCounters() const;
  // io_uring requests undecoded (KernelCounters::iou_undecoded), summed over
  // CPUs from the mmap'd .bss (engine/src/bpf_sensor_iou.cc).
  uint64_t ReadIoUringUndecoded() const;
  // How many entries the object's map `name` holds now (iterating its keys;
  // a bpf() call per entry), or an error for an unknown map. For tests and
  // diagnostics: the kernel tables must not grow without bound.
  absl::StatusOr<size_t> MapEntryCount(const std::string& name) const;

  // How each probe ended up attached, for logs and `vigil list`-style reports.
  const std::vector<std::string>& attach_log() const { return attach_log_; }
  std::string syscall_hook_used() const { return syscall_hook_used_; }
  const std::set<uint32_t>& running_events() const { return running_; }
  // When each event's attachment began (CLOCK_MONOTONIC ns), for `caps audit`.
  const std::vector<std::pair<int64_t, std::string>>& attach_times() const { return attach_times_; }

 private:
  BpfSensor() = default;
  std::vector<Cancellation> AttachEvents();
  // The cgroup_mkdir/rmdir programs and the container cgroups existing now.
  void TrackContainerCgroups();
  // tree= marks (bpf/scope.h vg_tree_marks) of the processes running now
  // that descend from a tree= process, however deep, from /proc.
  void SeedTreeMarks();
  void ReserveDetachStacks();
  // The open fast path (bpf/path_watch.h): opens the watched directories and
  // files (O_PATH, kept open), writes the blooms and runs vg_watch_learn.
  // Without it every open takes the slow path, so failures are only logged.
  void WatchPaths(const PathFilterPlan& paths, const DetectPrefilterPlan& detect);
  absl::Status SetUpSyscallSpecs();
  absl::Status WriteSyscallSpec(uint32_t nr, const std::string& for_event);
  // The raw_syscalls dispatcher at the entry or exit, attached once for all
  // its uses (syscall events, consumers); false with errno set on failure.
  bool AttachDispatcher(bool entry);
  // An event served by the dispatcher: marks its syscalls' specs with its consumer.
  bool AttachConsumer(const events::EventDef& def, const events::ProbeAlternative& alt);
  // Compat (ia32) syscalls, which per-syscall tracepoints never see: marks
  // the running events' consumers in the specs' compat_consumers, and
  // attaches the dispatcher (which handles compat syscalls itself) on each
  // side it does not serve yet, for compat syscalls only (raw_x64_consumers
  // and raw_dispatch_syscalls unset: it returns at once for other tasks).
  void AttachCompat();

  struct SkeletonDeleter {
    void operator()(::vigil_bpf* skel) const;
  };
  struct LinkDeleter {
    void operator()(bpf_link* link) const;
  };
  struct RingBufferDeleter {
    void operator()(ring_buffer* ring) const;
  };
  using Link = std::unique_ptr<bpf_link, LinkDeleter>;

  // Declared in this order so that the ring buffer goes first, then the
  // links, then the object.
  std::unique_ptr<::vigil_bpf, SkeletonDeleter> skel_;
  std::vector<SelectedEvent> events_;
  Options options_;
  std::set<std::string> disabled_programs_;    // refused by the kernel at load
  std::map<uint32_t, vg_syscall_spec> specs_;  // what the syscall_specs map holds, by syscall
  std::map<uint32_t, std::pair<uint64_t, uint64_t>> tree_roots_;  // tree= tgid -> (eq, neq) policies
  bool raw_enter_attached_ = false, raw_exit_attached_ = false;
  std::vector<Link> links_;
  std::vector<int> watch_fds_;  // O_PATH: the watched dentries stay while they are open
  static constexpr size_t kDetachStackBytes = 64 * 1024;
  std::span<uint8_t> detach_stacks_;  // one stack per link, for Detach
  std::unique_ptr<ring_buffer, RingBufferDeleter> ring_;
  std::function<void(std::span<const uint8_t>)> on_record_;
  static constexpr int kBatchFull = -100000;  // the callback's "batch done" (not an errno)
  int batch_records_ = 0;
  std::vector<std::string> attach_log_;
  std::string syscall_hook_used_;
  std::set<uint32_t> running_;
  std::vector<std::pair<int64_t, std::string>> attach_times_;
};

}  // namespace vigil::engine

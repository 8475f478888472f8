#include "vigil/engine/sensor.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <unordered_map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "vigil/caps/process_caps.h"
#include "vigil/caps/ring_guard.h"
#include "vigil/engine/audit_report.h"
#include "vigil/engine/cap_audit.h"
#include "vigil/engine/containers.h"
#include "vigil/engine/log.h"
#include "vigil/engine/process_tree.h"
#include "vigil/engine/startup.h"
#include "vigil/events/decoder.h"
#include "vigil/events/event_ids.h"
#include "vigil/policies/kernel_scope.h"

namespace vigil::engine {
namespace {

std::atomic<int> g_stop_signal{0};

void OnStopSignal(int sig) { g_stop_signal = sig; }

void InstallSignalHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

// Atomically: write a temporary file beside the target, then rename.
absl::Status WriteFileAtomically(const std::string& path, const std::string& body) {
  std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::InvalidArgumentError(absl::StrCat("write ", tmp, ": ", strerror(errno)));
  bool ok = write(fd, body.data(), body.size()) == static_cast<ssize_t>(body.size());
  close(fd);
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    unlink(tmp.c_str());
    return absl::InvalidArgumentError(absl::StrCat("write ", path, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status WriteReadyFile(const std::string& path) {
  return WriteFileAtomically(path, absl::StrCat(getpid(), "\n"));
}

struct UserCounters {
  uint64_t emitted = 0;
  uint64_t decode_errors = 0;
  uint64_t filtered_user = 0;
  uint64_t sink_errors = 0;
};

std::string MetricsText(const KernelCounters& k, const UserCounters& u) {
  std::string out;
  auto counter = [&out](const char* name, const char* help, uint64_t v) {
    absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " counter\n", name, " ", v, "\n");
  };
  counter("vigil_events_emitted_total", "Events written to the sinks.", u.emitted);
  absl::StrAppend(&out, "# HELP vigil_events_lost_total Events lost, by where.\n",
                  "# TYPE vigil_events_lost_total counter\n",
                  "vigil_events_lost_total{reason=\"ring_buffer_full\"} ", k.lost_reserve, "\n",
                  "vigil_events_lost_total{reason=\"undecodable\"} ", u.decode_errors, "\n");
  absl::StrAppend(&out, "# HELP vigil_events_filtered_total Events no policy wanted, by where they were dropped.\n",
                  "# TYPE vigil_events_filtered_total counter\n",
                  "vigil_events_filtered_total{where=\"kernel\"} ", k.filtered_kernel, "\n",
                  "vigil_events_filtered_total{where=\"user\"} ", u.filtered_user, "\n");
  counter("vigil_events_truncated_total", "Events with an argument cut at its capture limit.",
          k.truncated);
  counter("vigil_sink_write_errors_total", "Failed writes to a sink (retried).", u.sink_errors);
  return out;
}

// Per-syscall tracepoints are found through tracefs; mount it when missing.
bool EnsureTracefs() {
  constexpr const char* kTracefs = "/sys/kernel/tracing";
  if (access("/sys/kernel/tracing/events/syscalls", R_OK | X_OK) == 0) return true;
  if (mount("nodev", kTracefs, "tracefs", 0, nullptr) == 0) {
    LogInfo("mounted tracefs on /sys/kernel/tracing");
    return access("/sys/kernel/tracing/events/syscalls", R_OK | X_OK) == 0;
  }
  LogInfo(absl::StrCat("tracefs is not mounted and mounting it failed (", strerror(errno),
                       "); syscall events will use the raw_syscalls dispatcher, which needs no tracefs"));
  return false;
}

}  // namespace

bool ParseDuration(std::string_view text, uint64_t& ms) {
  struct Unit {
    std::string_view suffix;
    uint64_t ms;
  };
  static constexpr Unit kUnits[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
  for (const Unit& u : kUnits) {
    if (text.size() > u.suffix.size() && text.ends_with(u.suffix)) {
      std::string_view num = text.substr(0, text.size() - u.suffix.size());
      if (u.suffix == "s" && num.ends_with("m")) continue;  // "ms" handled above
      double v;
      if (!absl::SimpleAtod(std::string(num), &v) || v < 0) return false;
      ms = static_cast<uint64_t>(v * static_cast<double>(u.ms));
      return true;
    }
  }
  return false;
}

bool ParseSize(std::string_view text, uint64_t& bytes) {
  uint64_t mult = 1;
  if (!text.empty()) {
    switch (text.back()) {
      case 'K':
      case 'k':
        mult = 1ull << 10;
        break;
      case 'M':
      case 'm':
        mult = 1ull << 20;
        break;
      case 'G':
      case 'g':
        mult = 1ull << 30;
        break;
    }
    if (mult != 1) text.remove_suffix(1);
  }
  uint64_t v;
  if (!absl::SimpleAtoi(std::string(text), &v)) return false;
  bytes = v * mult;
  return true;
}

namespace {

uint64_t BootNowNs() {
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + ts.tv_nsec;
}

// Removes cancelled events and every selected event that depends on them.
void CancelEvents(Selection& selection, const std::set<std::string>& names) {
  const events::Registry& registry = events::Registry::Builtin();
  std::set<uint32_t> all, drop;
  for (const SelectedEvent& e : selection.events) all.insert(e.def->id);
  for (const std::string& name : names) {
    const events::EventDef* d = registry.Find(name);
    if (d == nullptr) continue;
    drop.insert(d->id);
    for (uint32_t dep : registry.Dependents(d->id, all)) {
      if (drop.insert(dep).second)
        LogWarn(absl::StrCat("event ", registry.FindId(dep)->name, " cancelled: depends on ", name));
    }
  }
  std::erase_if(selection.events, [&](const SelectedEvent& e) { return drop.contains(e.def->id); });
}

}  // namespace

int RunSensor(const SensorOptions& options) {
  const events::Registry& registry = events::Registry::Builtin();

  // ---- usage: everything a user typed is checked before anything changes
  absl::StatusOr<caps::CapabilityOptions> cap_options =
      caps::ParseCapabilityOptions(options.capabilities, caps::ProcessEnvironment());
  if (!cap_options.ok()) {
    LogError(cap_options.status().message());
    return 2;
  }
  absl::StatusOr<Selection> selected = BuildSelection(options);
  if (!selected.ok()) {
    LogError(selected.status().message());
    return 2;
  }
  Selection selection = std::move(*selected);

  // Sinks are opened first: a bad path is a usage error before anything loads.
  std::vector<std::unique_ptr<Sink>> sinks;
  std::vector<std::string> outputs = options.outputs;
  // The audit report owns stdout; events are written only where asked.
  if (outputs.empty() && !options.audit) outputs = {"table"};
  for (const std::string& o : outputs) {
    absl::StatusOr<SinkSpec> spec = ParseSinkSpec(o);
    if (!spec.ok()) {
      LogError(spec.status().message());
      return 2;
    }
    absl::StatusOr<std::unique_ptr<Sink>> sink = Sink::Open(*spec, &selection.policies->names());
    if (!sink.ok()) {
      LogError(sink.status().message());
      return 2;
    }
    sinks.push_back(std::move(*sink));
  }

  // ---- capabilities: what the selection needs against what this process has
  absl::StatusOr<caps::HostKernelFacts> facts = caps::HostKernelFacts::Probe();
  if (!facts.ok()) {
    LogError(facts.status().message());
    return 1;
  }
  const size_t tracepoint_limit = BpfSensor::Options{}.tracepoint_limit;
  absl::StatusOr<caps::ThreadCaps> start_caps = caps::ReadThreadCaps();
  if (!start_caps.ok()) {
    LogError(start_caps.status().message());
    return 1;
  }
  const caps::CapSet permitted = cap_options->bypass ? start_caps->effective : start_caps->permitted;
  if (cap_options->bypass)
    LogInfo(absl::StrCat("--capabilities bypass=true: capabilities are left as inherited (effective: ",
                         caps::DescribeCaps(start_caps->effective), ")"));

  std::set<std::string> cancelled_names;
  for (const caps::EventCancellation& c : caps::FindCancelledEvents(
           PlanStartup(selection, *cap_options, *facts, options.syscall_hook, tracepoint_limit)
               .sources.events,
           permitted)) {
    LogWarn(c.message);
    cancelled_names.insert(c.event);
  }
  if (!cancelled_names.empty()) CancelEvents(selection, cancelled_names);
  if (selection.events.empty()) {
    LogError("no selected event can run with this process's capabilities; nothing to do");
    return 1;
  }

  // Per-syscall tracepoints are an optimisation: when what they need (reading
  // or mounting tracefs) is not permitted, the raw_syscalls dispatcher does
  // the same work without tracefs.
  SyscallHook hook = options.syscall_hook;
  const bool seed = permitted.Has(caps::Cap::kSysPtrace) && !cap_options->drop.Has(caps::Cap::kSysPtrace);
  StartupPlan plan = PlanStartup(selection, *cap_options, *facts, hook, tracepoint_limit, seed);
  if (plan.mount_tracefs && !permitted.Has(caps::Cap::kSysAdmin) && hook == SyscallHook::kAuto) {
    LogInfo(
        "tracefs is not mounted and this process may not mount it (no cap_sys_admin); "
        "syscall events use the raw_syscalls dispatcher, which needs no tracefs");
    hook = SyscallHook::kRawSyscalls;
    plan = PlanStartup(selection, *cap_options, *facts, hook, tracepoint_limit, seed);
  }
  if (!cap_options->bypass) {
    // drop= is not checked here: SPEC §3 lets it make events fail, which the
    // load/attach diagnosis then reports with the denied capability.
    absl::StatusOr<caps::EbpfPrivilege> privilege =
        caps::CheckEbpfPrivilege(plan.sources.privilege, permitted, /*dropped=*/{});
    if (!privilege.ok() && plan.use_tracepoints && hook == SyscallHook::kAuto) {
      StartupPlan raw =
          PlanStartup(selection, *cap_options, *facts, SyscallHook::kRawSyscalls, tracepoint_limit, seed);
      absl::StatusOr<caps::EbpfPrivilege> raw_privilege =
          caps::CheckEbpfPrivilege(raw.sources.privilege, permitted, /*dropped=*/{});
      if (raw_privilege.ok()) {
        LogInfo(absl::StrCat("per-syscall tracepoints need ",
                             (plan.sources.privilege.caps - raw.sources.privilege.caps).ToString(),
                             " here (tracefs is not readable by this uid); syscall events use the "
                             "raw_syscalls dispatcher, which needs no tracefs"));
        hook = SyscallHook::kRawSyscalls;
        plan = std::move(raw);
        privilege = raw_privilege;
      }
    }
    if (!privilege.ok()) {
      LogError(privilege.status().message());
      return 1;
    }
    plan.sources.privilege = *privilege;
    plan.rings = caps::PlanRings(caps::ToRingInputs(plan.sources));
  }
  LogDebug(absl::StrCat("rings: base=", caps::DescribeCaps(plan.rings.base),
                        " ebpf=", caps::DescribeCaps(plan.rings.ebpf),
                        " specific=", caps::DescribeCaps(plan.rings.specific),
                        " after set-up=", caps::DescribeCaps(plan.rings.after_setup)));

  // The kernel's record of our capability checks, loaded first (with the
  // privilege the process started with) so that every later EPERM can name
  // the capability that was denied.
  std::unique_ptr<CapAudit> audit;
  {
    absl::StatusOr<std::unique_ptr<CapAudit>> started = CapAudit::Start();
    if (started.ok()) {
      audit = std::move(*started);
    } else if (options.audit) {
      LogError(absl::StrCat("caps audit needs the capability:cap_capable tracepoint: ",
                            started.status().message()));
      return 1;
    } else {
      LogDebug(absl::StrCat("capability diagnosis unavailable: ", started.status().message()));
    }
  }
  auto explain = [&](int64_t since) {
    return audit ? ExplainDenial(audit->DeniedSince(since), cap_options->drop) : std::string();
  };

  // Harden before any other thread exists: threads inherit their creator's sets.
  caps::CapabilityEngine cap_engine(plan.rings, cap_options->bypass);
  if (absl::Status st = cap_engine.Harden(); !st.ok()) {
    LogError(absl::StrCat(st.message(),
                          " (to run with the inherited capabilities, pass --capabilities bypass=true)"));
    return 1;
  }

  InstallSignalHandlers();

  ProcessTree process_tree;
  if (seed) {
    absl::StatusOr<caps::ScopedRing> ring =
        cap_engine.Raise(caps::Ring::kSpecific, "seed process tree", caps::CapSet{caps::Cap::kSysPtrace});
    if (ring.ok())
      LogDebug(absl::StrCat("process tree: ", process_tree.SeedFromProc(), " processes from /proc"));
    else
      LogWarn(ring.status().message());
  } else {
    LogDebug(absl::StrCat("process tree: ", process_tree.SeedFromProc(),
                          " processes from /proc (without cap_sys_ptrace: those this uid may inspect)"));
  }

  // ---- kernel side
  BpfSensor::Options bpf_options{.ring_bytes = options.ring_bytes, .syscall_hook = hook};
  bpf_options.exec_env = options.exec_env;
  bpf_options.tracefs_available = false;
  if (plan.use_tracepoints) {
    if (plan.mount_tracefs) {
      absl::StatusOr<caps::ScopedRing> ring =
          cap_engine.Raise(caps::Ring::kSpecific, "mount tracefs", caps::CapSet{caps::Cap::kSysAdmin});
      if (ring.ok())
        bpf_options.tracefs_available = EnsureTracefs();
      else
        LogWarn(ring.status().message());
    } else {
      bpf_options.tracefs_available = EnsureTracefs();
    }
  }

  std::vector<Cancellation> cancelled;
  std::unique_ptr<BpfSensor> sensor;
  const int64_t load_start = CapAudit::NowMonotonic();
  const uint64_t start_boot_ns = BootNowNs();
  // Executables whose inode changed after this are "written since start"
  // (ctime is wall-clock; taken before the programs are even loaded).
  timespec start_real{};
  clock_gettime(CLOCK_REALTIME, &start_real);
  const uint64_t start_real_ns = static_cast<uint64_t>(start_real.tv_sec) * 1000000000ULL + start_real.tv_nsec;
  {
    absl::StatusOr<caps::ScopedRing> ring = cap_engine.Raise(caps::Ring::kEbpf, "load BPF object");
    if (!ring.ok()) {
      LogError(ring.status().message());
      return 1;
    }
    absl::StatusOr<std::unique_ptr<BpfSensor>> loaded =
        BpfSensor::Load(selection.events, bpf_options, cancelled);
    if (!loaded.ok()) {
      LogError(absl::StrCat(loaded.status().message(), " (effective: ",
                            caps::DescribeCaps(cap_engine.effective_now()), ")", explain(load_start)));
      return 1;
    }
    for (Cancellation& c : cancelled)
      if (absl::StrContains(c.reason, "EPERM") || absl::StrContains(c.reason, "EACCES"))
        absl::StrAppend(&c.reason, " (effective: ", caps::DescribeCaps(cap_engine.effective_now()), ")",
                        explain(load_start));
    sensor = std::move(*loaded);
    if (audit) audit->Collect();  // drain: loading makes thousands of checks
    if (sensor->object() != nullptr) {
      absl::Status st = policies::PopulateScopeMaps(sensor->object(), *selection.policies, start_boot_ns);
      if (st.ok()) st = WritePathFilters(sensor->object(), selection.path_filters);
      if (!st.ok()) {
        LogError(absl::StrCat(st.message(), explain(load_start)));
        return 1;
      }
    }
  }
  {
    absl::StatusOr<caps::ScopedRing> ring = cap_engine.Raise(caps::Ring::kEbpf, "attach programs");
    if (!ring.ok()) {
      LogError(ring.status().message());
      return 1;
    }
    const int64_t attach_start = CapAudit::NowMonotonic();
    std::vector<Cancellation> attach_cancelled = sensor->Attach();
    for (Cancellation& c : attach_cancelled)
      if (absl::StrContains(c.reason, "EPERM") || absl::StrContains(c.reason, "EACCES"))
        absl::StrAppend(&c.reason, " (effective: ", caps::DescribeCaps(cap_engine.effective_now()), ")",
                        explain(attach_start));
    cancelled.insert(cancelled.end(), attach_cancelled.begin(), attach_cancelled.end());
    if (audit) audit->Collect();
  }
  for (const Cancellation& c : cancelled) LogWarn(absl::StrCat("event ", c.event, " cancelled: ", c.reason));
  for (const std::string& line : sensor->attach_log()) LogDebug(absl::StrCat("attached ", line));
  if (sensor->running_events().empty()) {
    LogError("no event could be attached; nothing to do");
    return 1;
  }

  // ---- pipeline
  events::Decoder decoder(registry, events::Decoder::BootToEpochOffsetNow());
  events::Event event;
  ProcessTree& tree = process_tree;
  const policies::CompiledPolicies& matcher = *selection.policies;
  ContainerResolver containers;
  char host_name_buf[256] = {};
  gethostname(host_name_buf, sizeof(host_name_buf) - 1);
  const std::string host_name = host_name_buf;
  // hostName per UTS namespace: exec and fork records of tasks outside the
  // sensor's namespace carry its nodename (as it was at that exec or fork);
  // every event of that namespace is named after the latest one seen.
  struct stat own_uts {};
  const uint32_t own_uts_ns = stat("/proc/self/ns/uts", &own_uts) == 0 ? static_cast<uint32_t>(own_uts.st_ino) : 0;
  std::unordered_map<uint32_t, std::string> uts_names;
  uint64_t emitted = 0, decode_errors = 0;
  bool reached_max = false;
  std::string last_decode_error;

  const int64_t ring_start = CapAudit::NowMonotonic();
  absl::StatusOr<caps::ScopedRing> ring_scope = cap_engine.Raise(caps::Ring::kEbpf, "map ring buffer");
  if (!ring_scope.ok()) {
    LogError(ring_scope.status().message());
    return 1;
  }
  absl::Status ring = sensor->OpenRingBuffer([&](std::span<const uint8_t> record) {
    if (reached_max) return;
    if (absl::Status st = decoder.Decode(record, event); !st.ok()) {
      ++decode_errors;
      last_decode_error = std::string(st.message());
      return;
    }
    if (event.uts_ns != own_uts_ns &&
        (event.def->id == events::kSchedProcessExec || event.def->id == events::kSchedProcessFork)) {
      if (const events::Arg* nodename = event.FindArg("nodename")) {
        if (const auto* name = std::get_if<std::string>(&nodename->value)) {
          // (A fork's nodename is the child's, sent only when it shares the parent's namespace.)
          if (uts_names.size() >= 4096 && uts_names.count(event.uts_ns) == 0) uts_names.clear();
          uts_names[event.uts_ns] = *name;
        }
      }
    }
    // An exit's process leaves the tree: its executable is taken first.
    const bool exiting = event.def->id == events::kSchedProcessExit;
    if (exiting && event.policies != 0) event.executable = tree.Executable(event.host_pid, event.start_time_ns);
    tree.Apply(event);
    if (event.policies == 0) return;  // a lifecycle record for the process tree only
    if (!exiting) event.executable = tree.Executable(event.host_pid, event.start_time_ns);
    event.parent_comm = tree.ParentComm(event.host_pid);
    event.host_name = host_name;
    if (event.uts_ns != own_uts_ns) {
      auto it = uts_names.find(event.uts_ns);
      if (it != uts_names.end()) event.host_name = it->second;
    }
    event.container_id = containers.IdOf(event.cgroup_id);
    if (event.def->id == events::kSchedProcessExec) {
      const events::Arg* ctime = event.FindArg("ctime");
      if (ctime != nullptr) {
        events::Arg written;
        written.def = event.def->FindArg("written_since_start");
        written.raw = static_cast<uint64_t>(ctime->raw) >= start_real_ns;
        written.value = written.raw != 0;
        event.args.push_back(std::move(written));
      }
    }
    // What the kernel could not decide: rule filters, exec= paths, container ids.
    event.policies = matcher.MatchUser(event, event.policies);
    if (event.policies == 0) return;
    for (auto& sink : sinks) sink->Write(event);
    ++emitted;
    if (options.max_events && emitted >= *options.max_events) reached_max = true;
  });
  if (!ring.ok()) {
    LogError(absl::StrCat(ring.message(), " (effective: ", caps::DescribeCaps(cap_engine.effective_now()),
                          ")", explain(ring_start)));
    return 1;
  }
  if (absl::Status st = ring_scope->Leave(); !st.ok()) {
    LogError(st.message());
    return 1;
  }
  // Everything is attached and mapped: what nothing will raise again leaves permitted.
  if (absl::Status st = cap_engine.FinishSetup(); !st.ok()) {
    LogError(st.message());
    return 1;
  }
  const int64_t setup_done = CapAudit::NowMonotonic();
  if (audit) audit->Collect();
  if (audit && !options.audit) audit->Stop();  // diagnosis is only needed during set-up
  LogDebug(absl::StrCat("set-up done: effective=", caps::DescribeCaps(cap_engine.effective_now()),
                        " permitted=", caps::DescribeCaps(plan.rings.after_setup)));

  std::vector<std::string> running;
  for (uint32_t id : sensor->running_events()) running.push_back(registry.FindId(id)->name);
  LogInfo(absl::StrCat("running ", running.size(), " events (", absl::StrJoin(running, ","),
                       "); syscalls via ",
                       sensor->syscall_hook_used().empty() ? "-" : sensor->syscall_hook_used()));
  if (!options.ready_file.empty()) {
    if (absl::Status st = WriteReadyFile(options.ready_file); !st.ok()) {
      LogError(st.message());
      return 2;
    }
  }

  // ---- poll loop
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto last_metrics = start;
  uint64_t sink_errors = 0;
  auto write_metrics = [&] {
    UserCounters u{.emitted = emitted, .decode_errors = decode_errors,
                   .filtered_user = selection.policies->total_drops(), .sink_errors = sink_errors};
    if (absl::Status st = WriteFileAtomically(options.metrics_file, MetricsText(sensor->ReadCounters(), u));
        !st.ok())
      LogWarn(st.message());
  };
  int exit_code = 0;
  std::string stop_reason;
  while (true) {
    absl::StatusOr<int> n = sensor->PollAndDrain(50);
    if (!n.ok()) {
      LogError(n.status().message());
      exit_code = 1;
      stop_reason = "error";
      break;
    }
    for (auto& sink : sinks) {
      if (absl::Status st = sink->Flush(); !st.ok()) {
        ++sink_errors;
        LogWarn(st.message());
      }
    }
    if (options.audit && audit) audit->Collect();
    if (!options.metrics_file.empty() && Clock::now() - last_metrics >= std::chrono::seconds(1)) {
      last_metrics = Clock::now();
      write_metrics();
    }
    if (reached_max) {
      stop_reason = "--max-events reached";
      break;
    }
    if (int sig = g_stop_signal.load()) {
      stop_reason = strsignal(sig);
      break;
    }
    if (options.duration_ms && Clock::now() - start >= std::chrono::milliseconds(*options.duration_ms)) {
      stop_reason = "--duration elapsed";
      break;
    }
  }

  // ---- clean stop: detach first, then drain what the kernel already wrote.
  const auto detach_start = Clock::now();
  sensor->Detach();
  LogDebug(absl::StrCat(
      "detached in ",
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - detach_start).count(), " ms"));
  if (!reached_max) (void)sensor->PollAndDrain(0);
  for (auto& sink : sinks) {
    if (absl::Status st = sink->Flush(); !st.ok()) LogWarn(st.message());
  }
  KernelCounters k = sensor->ReadCounters();
  LogInfo(absl::StrCat("stopped (", stop_reason, "): emitted ", emitted, " events; lost ", k.lost_reserve,
                       " (ring buffer full), ", decode_errors, " undecodable",
                       decode_errors ? absl::StrCat(" (last: ", last_decode_error, ")") : "", "; ",
                       k.truncated,
                       " with truncated arguments; filtered out by policies: ", k.filtered_kernel,
                       " in the kernel, ", selection.policies->total_drops(), " in user space"));
  if (!options.metrics_file.empty()) write_metrics();
  if (options.audit && audit) {
    AuditInputs in{.plan = caps::DescribePlan(plan.sources),
                   .bypass = cap_options->bypass,
                   .transitions = cap_engine.transitions(),
                   .checks = audit->Collect(),
                   .attach_times = sensor->attach_times(),
                   .setup_done_ns = setup_done,
                   .lost = audit->lost()};
    std::string report = options.audit_format == "json" ? RenderAuditJson(in) : RenderAuditText(in);
    fwrite(report.data(), 1, report.size(), stdout);
    fflush(stdout);
  }
  return exit_code;
}

}  // namespace vigil::engine

#include "vigil/engine/sensor.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "vigil/caps/process_caps.h"
#include "vigil/caps/ring_guard.h"
#include "vigil/engine/audit_report.h"
#include "vigil/engine/cap_audit.h"
#include "vigil/engine/containers.h"
#include "vigil/engine/detections.h"
#include "vigil/engine/health.h"
#include "vigil/engine/http_server.h"
#include "vigil/engine/log.h"
#include "vigil/engine/pipeline.h"
#include "vigil/engine/process_tree.h"
#include "vigil/engine/service_notify.h"
#include "vigil/engine/startup.h"
#include "vigil/engine/user_switch.h"
#include "vigil/events/decoder.h"
#include "vigil/events/event_ids.h"
#include "vigil/policies/kernel_scope.h"

namespace vigil::engine {
namespace {

// Grows the heap's break by 64 MiB during set-up and hands it back to malloc
// (never trimmed: see QuietHeap in main.cc), so that the steady state's
// allocations need no new mapping, each of which would make the kernel check
// CAP_SYS_ADMIN for its overcommit accounting. Untouched pages cost no memory.
void ReserveHeap() {
  void* volatile p = malloc(64 << 20);  // volatile: the pair is not elided
  free(p);
}

std::atomic<int> g_stop_signal{0};
std::atomic<bool> g_reload{false};

void OnStopSignal(int sig) { g_stop_signal = sig; }
void OnReloadSignal(int) { g_reload = true; }

void InstallSignalHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  struct sigaction hup {};
  hup.sa_handler = OnReloadSignal;
  sigemptyset(&hup.sa_mask);
  sigaction(SIGHUP, &hup, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

absl::Status WriteReadyFile(const std::string& path) {
  return WriteFileAtomically(path, absl::StrCat(getpid(), "\n"));
}

struct UserCounters {
  uint64_t emitted = 0;
  uint64_t decode_errors = 0;
  uint64_t filtered_user = 0;
  uint64_t sink_errors = 0;
  uint64_t policy_records = 0;  // records some policy or detection took (not the process tree's own)
};

// Every kernel counter, the io_uring side's included.
KernelCounters ReadKernelCounters(const BpfSensor& sensor) {
  KernelCounters k = sensor.ReadCounters();
  k.iou_undecoded = sensor.ReadIoUringUndecoded();
  return k;
}

std::string MetricsText(const KernelCounters& k, const UserCounters& u, const Outputs& outputs) {
  std::string out;
  auto counter = [&out](const char* name, const char* help, uint64_t v) {
    absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " counter\n", name, " ", v, "\n");
  };
  counter("vigil_events_emitted_total", "Events written to the sinks.", u.emitted);
  absl::StrAppend(&out, "# HELP vigil_events_lost_total Events lost, by where.\n",
                  "# TYPE vigil_events_lost_total counter\n",
                  "vigil_events_lost_total{reason=\"ring_buffer_full\"} ", k.lost_reserve, "\n",
                  "vigil_events_lost_total{reason=\"undecodable\"} ", u.decode_errors, "\n",
                  "vigil_events_lost_total{reason=\"kernel_table_full\"} ", k.map_full, "\n");
  absl::StrAppend(
      &out, "# HELP vigil_events_filtered_total Events no policy wanted, by where they were dropped.\n",
      "# TYPE vigil_events_filtered_total counter\n", "vigil_events_filtered_total{where=\"kernel\"} ",
      k.filtered_kernel, "\n", "vigil_events_filtered_total{where=\"user\"} ", u.filtered_user, "\n");
  counter("vigil_events_truncated_total", "Events with an argument cut at its capture limit.", k.truncated);
  counter("vigil_user_memory_read_failures_total",
          "Reads of a process's memory (a path, an argument) that failed in the kernel; the events were kept.",
          k.read_failed);
  counter("vigil_kernel_records_total",
          "Records the kernel sent to user space for a policy or a detection (before user-space filters).",
          u.policy_records);
  counter("vigil_compat_syscalls_undecoded_total",
          "Compat syscalls no event reports: x32 ones, and ia32 ones with no x86-64 twin.", k.compat_undecoded);
  counter("vigil_io_uring_requests_undecoded_total",
          "io_uring requests a selected event did not report: ops never decoded, or whose kernel types are "
          "missing.",
          k.iou_undecoded);
  counter("vigil_sink_write_errors_total", "Failed send attempts, all outputs together.", u.sink_errors);
  out += outputs.MetricsText();
  return out;
}

// Per-syscall tracepoints are found through tracefs; mount it when missing.
bool EnsureTracefs() {
  constexpr const char* kTracefs = "/sys/kernel/tracing";
  // faccessat(AT_EACCESS) counts effective capabilities (cap_dac_read_search
  // for a non-root service), which access(2) ignores for a non-root uid.
  if (faccessat(AT_FDCWD, "/sys/kernel/tracing/events/syscalls", R_OK | X_OK, AT_EACCESS) == 0) return true;
  if (mount("nodev", kTracefs, "tracefs", 0, nullptr) == 0) {
    LogInfo("mounted tracefs on /sys/kernel/tracing");
    return faccessat(AT_FDCWD, "/sys/kernel/tracing/events/syscalls", R_OK | X_OK, AT_EACCESS) == 0;
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

uint64_t RealNowNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + ts.tv_nsec;
}

// Start-up failures carry their exit status (SPEC §1): a usage error is 2,
// anything that keeps the sensor from running is 1. The message is logged as is.
absl::Status UsageError(absl::string_view message) { return absl::InvalidArgumentError(message); }
absl::Status CannotRun(absl::string_view message) { return absl::FailedPreconditionError(message); }
int ExitCodeOf(const absl::Status& st) { return st.code() == absl::StatusCode::kInvalidArgument ? 2 : 1; }

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

// EPERM/EACCES reasons get the effective set and, where recorded, the
// capability the kernel denied.
void ExplainPermissionErrors(std::vector<Cancellation>& cancelled, const std::string& context) {
  for (Cancellation& c : cancelled)
    if (absl::StrContains(c.reason, "EPERM") || absl::StrContains(c.reason, "EACCES"))
      absl::StrAppend(&c.reason, context);
}

// What the kernel side is given for a selection, as one comparable string:
// policy names, events with their policy masks and path filters, the scope
// tables. A reload that changes it needs new programs or maps.
absl::StatusOr<std::string> KernelSideKey(const Selection& selection) {
  std::string key;
  for (const std::string& n : selection.policies->names()) absl::StrAppend(&key, "policy ", n, "\n");
  for (const SelectedEvent& e : selection.events)
    absl::StrAppend(&key, "event ", e.def->id, " ", e.policies, " ", e.path_policies, " ", e.path_arg, "\n");
  for (const PathFilterEntry& p : selection.path_filters.entries)
    absl::StrAppend(&key, "path ", p.event_id, " ", p.policies, " ", absl::CEscape(p.key), "\n");
  absl::StatusOr<policies::KernelScopeTables> scope = policies::BuildKernelScope(*selection.policies, 0);
  if (!scope.ok()) return scope.status();
  auto bytes = [](const auto& v) {
    return absl::CEscape(absl::string_view(reinterpret_cast<const char*>(&v), sizeof(v)));
  };
  absl::StrAppend(&key, "config ", bytes(scope->config), "\n");
  for (const auto& [k, m] : scope->values)
    absl::StrAppend(&key, "value ", k.first, " ", k.second, " ", bytes(m), "\n");
  for (const auto& [c, m] : scope->comms)
    absl::StrAppend(&key, "comm ", absl::CEscape(c), " ", bytes(m), "\n");
  for (const auto& [u, m] : scope->uts_names)
    absl::StrAppend(&key, "uts ", absl::CEscape(u), " ", bytes(m), "\n");
  return key;
}

// One run of the sensor: start-up (usage, capability plan, privilege,
// load, attach), the poll loop, and the clean stop. Each step is a method;
// Run() strings them together.
class SensorRun {
 public:
  explicit SensorRun(const SensorOptions& options)
      : options_(options), registry_(events::Registry::Builtin()) {}

  int Run() {
    absl::Status st = CheckUsage();
    if (st.ok()) st = PlanCapabilities();
    if (st.ok()) st = StartCapabilityAudit();
    if (st.ok()) st = Harden();
    if (st.ok()) st = SetUpKernelSide();
    if (st.ok()) st = StartPipeline();
    if (st.ok()) AnnounceExistingContainers();
    if (st.ok()) st = AnnounceReady();
    if (!st.ok()) {
      LogError(st.message());
      return ExitCodeOf(st);
    }
    const int exit_code = PollUntilStop();
    Stop();
    return exit_code;
  }

 private:
  absl::Status CheckUsage();
  absl::Status PlanCapabilities();
  absl::Status ChooseSyscallHook(const caps::CapSet& permitted, bool seed);
  void CancelUnavailableDetections();
  void CancelDetectionsWithoutInputs();
  absl::Status StartCapabilityAudit();
  absl::Status Harden();
  void SeedProcessTree();
  void PrepareTracefs(BpfSensor::Options& bpf_options);
  absl::Status SetUpKernelSide();
  absl::Status LoadPrograms(const BpfSensor::Options& bpf_options);
  absl::Status AttachPrograms();
  void WarnIfContainerNewUndecided();
  // The detection-input prefilter for the kernel (after the detections are enabled).
  DetectPrefilterPlan DetectPrefilter() const;
  absl::Status StartPipeline();
  void AnnounceExistingContainers();
  absl::Status AnnounceReady();
  int PollUntilStop();
  void PlanUserSwitch(const caps::CapSet& permitted);
  std::vector<std::string> RewrittenPaths() const;
  absl::Status SwitchUser();
  absl::Status StartStatusServer();
  void PublishStatus();
  void NoteOutputErrors();
  std::string StatusMetrics(const KernelCounters& k);
  // The user-space counters both metrics views show.
  UserCounters CurrentUserCounters();
  void Reload();
  absl::Status ReloadPolicies();
  absl::Status ReloadRules();
  void WriteMetrics();
  void Stop();

  std::string Explain(int64_t since) const {
    return audit_ ? ExplainDenial(audit_->DeniedSince(since), cap_options_.drop) : std::string();
  }
  std::string EffectiveNow() const {
    return absl::StrCat(" (effective: ", caps::DescribeCaps(cap_engine_->effective_now()), ")");
  }

  const SensorOptions& options_;
  const events::Registry& registry_;
  caps::CapabilityOptions cap_options_;
  Selection selection_;
  std::unique_ptr<Outputs> outputs_;
  std::optional<caps::HostKernelFacts> facts_;
  SyscallHook hook_ = SyscallHook::kAuto;
  bool seed_ = false;
  StartupPlan plan_;
  std::unique_ptr<CapAudit> audit_;
  std::optional<caps::CapabilityEngine> cap_engine_;
  ProcessTree process_tree_;
  ContainerResolver containers_;
  ContainerEvents container_events_{&containers_};
  std::unique_ptr<BpfSensor> sensor_;
  std::unique_ptr<events::Decoder> decoder_;
  std::unique_ptr<Enricher> enricher_;
  std::unique_ptr<Pipeline> pipeline_;
  std::set<uint32_t> detections_;  // selected detections that run
  std::unique_ptr<RulesDetectStage> detect_stage_;
  // The engine the last SIGHUP loaded (none yet: options_.detections runs).
  // A reload frees the one before: detections are built, matched and
  // rendered by the outputs (into bytes) within one record's callback, and a
  // reload runs between PollAndDrain calls, so no event points at its
  // definitions any more.
  std::unique_ptr<rules::DetectionEngine> reloaded_rules_;
  int64_t setup_done_ = 0;
  int64_t stop_begun_ = 0;
  std::string stop_reason_;
  std::vector<std::string> selected_names_;  // what the selection asked for (not dependencies)
  std::optional<ServiceUser> switch_to_;     // started as root: the uid to leave for
  ServiceNotifier notifier_;
  std::shared_ptr<StatusBoard> board_;
  std::unique_ptr<HttpServer> http_;
  std::optional<HealthTracker> health_;
  // By output: its error count when last seen, when it last grew, whether the last SIGHUP could not reopen
  // it.
  std::vector<uint64_t> output_errors_seen_;
  std::vector<std::chrono::steady_clock::time_point> output_error_at_;
  std::vector<bool> reopen_failed_;
  // Policies replaced by a reload stay alive: outputs hold their names.
  std::vector<std::shared_ptr<const policies::CompiledPolicies>> retired_policies_;
  uint64_t reloads_ = 0;
  std::string kernel_side_key_;  // what the kernel was given, to compare a reload against
  uint64_t UserDrops() const {
    uint64_t n = selection_.policies->total_drops();
    for (const auto& p : retired_policies_) n += p->total_drops();
    return n;
  }
};

// Everything a user typed is checked before anything changes. Outputs are
// opened here: a bad path or target is a usage error before anything loads
// (their threads start after set-up, in StartPipeline).
absl::Status SensorRun::CheckUsage() {
  absl::StatusOr<caps::CapabilityOptions> cap_options =
      caps::ParseCapabilityOptions(options_.capabilities, caps::ProcessEnvironment());
  if (!cap_options.ok()) return UsageError(cap_options.status().message());
  cap_options_ = std::move(*cap_options);
  absl::StatusOr<Selection> selected = BuildSelection(options_);
  if (!selected.ok()) return UsageError(selected.status().message());
  selection_ = std::move(*selected);
  for (const SelectedEvent& e : selection_.events)
    if (e.policies != 0) selected_names_.push_back(e.def->name);
  absl::StatusOr<std::string> key = KernelSideKey(selection_);
  if (!key.ok()) return UsageError(key.status().message());
  kernel_side_key_ = std::move(*key);

  std::vector<std::string> outputs = options_.outputs;
  // The audit report owns stdout; events are written only where asked.
  if (outputs.empty() && !options_.audit) outputs = {"table"};
  OutputContext context{.policy_names = &selection_.policies->names()};
  char host_name[256] = {};
  gethostname(host_name, sizeof(host_name) - 1);
  context.host_name = host_name;
  absl::StatusOr<std::unique_ptr<Outputs>> opened =
      Outputs::Open(outputs, options_.output_options, std::move(context));
  if (!opened.ok()) return UsageError(opened.status().message());
  outputs_ = std::move(*opened);
  output_errors_seen_.assign(outputs_->size(), 0);
  output_error_at_.assign(outputs_->size(), {});
  reopen_failed_.assign(outputs_->size(), false);
  return absl::OkStatus();
}

// What the selection needs against what this process has: events that
// cannot run are cancelled, then the syscall hook and the rings are chosen.
absl::Status SensorRun::PlanCapabilities() {
  absl::StatusOr<caps::HostKernelFacts> facts = caps::HostKernelFacts::Probe();
  if (!facts.ok()) return CannotRun(facts.status().message());
  facts_ = std::move(*facts);
  absl::StatusOr<caps::ThreadCaps> start_caps = caps::ReadThreadCaps();
  if (!start_caps.ok()) return CannotRun(start_caps.status().message());
  const caps::CapSet permitted = cap_options_.bypass ? start_caps->effective : start_caps->permitted;
  if (cap_options_.bypass)
    LogInfo(absl::StrCat("--capabilities bypass=true: capabilities are left as inherited (effective: ",
                         caps::DescribeCaps(start_caps->effective), ")"));

  CancelUnavailableDetections();
  if (selection_.events.empty())
    return CannotRun("every selected event is a detection that cannot run (see the warnings above); nothing to do");
  std::set<std::string> cancelled;
  for (const caps::EventCancellation& c : caps::FindCancelledEvents(EventCapSources(selection_), permitted)) {
    LogWarn(c.message);
    cancelled.insert(c.event);
  }
  if (!cancelled.empty()) CancelEvents(selection_, cancelled);
  if (selection_.events.empty())
    return CannotRun("no selected event can run with this process's capabilities; nothing to do");

  seed_ = permitted.Has(caps::Cap::kSysPtrace) && !cap_options_.drop.Has(caps::Cap::kSysPtrace);
  if (absl::Status st = ChooseSyscallHook(permitted, seed_); !st.ok()) return st;
  PlanUserSwitch(permitted);
  LogDebug(absl::StrCat("rings: base=", caps::DescribeCaps(plan_.rings.base),
                        " ebpf=", caps::DescribeCaps(plan_.rings.ebpf),
                        " specific=", caps::DescribeCaps(plan_.rings.specific),
                        " after set-up=", caps::DescribeCaps(plan_.rings.after_setup)));
  return absl::OkStatus();
}

// Detections this build or kernel cannot run (an input event that does not
// exist here) are cancelled with their reason; the rest runs.
void SensorRun::CancelUnavailableDetections() {
  std::set<std::string> unavailable;
  for (const SelectedEvent& e : selection_.events) {
    if (!IsDetection(*e.def)) continue;
    if (e.def->detection && !e.def->detection->unavailable.empty()) {
      LogWarn(absl::StrCat("event ", e.def->name, " cancelled: ", e.def->detection->unavailable));
      unavailable.insert(e.def->name);
    } else {
      detections_.insert(e.def->id);
    }
  }
  std::erase_if(selection_.events, [&](const SelectedEvent& e) { return unavailable.contains(e.def->name); });
}

// A detection runs only while all its inputs do.
void SensorRun::CancelDetectionsWithoutInputs() {
  const std::set<uint32_t>& running = sensor_->running_events();
  std::erase_if(detections_, [&](uint32_t id) {
    const events::EventDef* d = registry_.FindId(id);
    if (!running.contains(id)) return true;  // cancelled with its inputs at start-up
    for (const std::string& input : d->dependencies) {
      const events::EventDef* in = registry_.Find(input);
      if (in != nullptr && !running.contains(in->id)) {
        LogWarn(absl::StrCat("event ", d->name, " cancelled: its input ", input, " is not running"));
        return true;
      }
    }
    return false;
  });
  if (options_.detections != nullptr) options_.detections->Enable(detections_);
}

// Per-syscall tracepoints are an optimisation: when what they need (reading
// or mounting tracefs) is not permitted, the raw_syscalls dispatcher does the
// same work without tracefs. The plan is made for the requested hook, and at
// most once more for the raw dispatcher.
absl::Status SensorRun::ChooseSyscallHook(const caps::CapSet& permitted, bool seed) {
  const size_t limit = BpfSensor::Options{}.tracepoint_limit;
  hook_ = options_.syscall_hook;
  plan_ = PlanStartup(selection_, cap_options_, *facts_, hook_, limit, seed);
  const bool may_fall_back = hook_ == SyscallHook::kAuto && plan_.use_tracepoints;
  std::optional<StartupPlan> raw;
  auto use_raw = [&](const std::string& why) {
    LogInfo(absl::StrCat(why, "; syscall events use the raw_syscalls dispatcher, which needs no tracefs"));
    hook_ = SyscallHook::kRawSyscalls;
    plan_ = std::move(*raw);
  };
  if (may_fall_back && plan_.mount_tracefs && !permitted.Has(caps::Cap::kSysAdmin)) {
    raw = PlanStartup(selection_, cap_options_, *facts_, SyscallHook::kRawSyscalls, limit, seed);
    use_raw("tracefs is not mounted and this process may not mount it (no cap_sys_admin)");
  }
  if (cap_options_.bypass) return absl::OkStatus();
  // drop= is not checked here: SPEC §3 lets it make events fail, which the
  // load/attach diagnosis then reports with the denied capability.
  absl::StatusOr<caps::EbpfPrivilege> privilege =
      caps::CheckEbpfPrivilege(plan_.sources.privilege, permitted, /*dropped=*/{});
  if (!privilege.ok() && may_fall_back && hook_ == SyscallHook::kAuto) {
    raw = PlanStartup(selection_, cap_options_, *facts_, SyscallHook::kRawSyscalls, limit, seed);
    absl::StatusOr<caps::EbpfPrivilege> raw_privilege =
        caps::CheckEbpfPrivilege(raw->sources.privilege, permitted, /*dropped=*/{});
    if (raw_privilege.ok()) {
      use_raw(absl::StrCat("per-syscall tracepoints need ",
                           (plan_.sources.privilege.caps - raw->sources.privilege.caps).ToString(),
                           " here (tracefs is not readable by this uid)"));
      privilege = raw_privilege;
    }
  }
  if (!privilege.ok()) return CannotRun(privilege.status().message());
  plan_.sources.privilege = *privilege;
  plan_.rings = caps::PlanRings(caps::ToRingInputs(plan_.sources));
  return absl::OkStatus();
}

// The kernel's record of our capability checks, loaded first (with the
// privilege the process started with) so that every later EPERM can name
// the capability that was denied.
absl::Status SensorRun::StartCapabilityAudit() {
  absl::StatusOr<std::unique_ptr<CapAudit>> started = CapAudit::Start();
  if (started.ok()) {
    audit_ = std::move(*started);
  } else if (options_.audit) {
    return CannotRun(
        absl::StrCat("caps audit needs the capability:cap_capable tracepoint: ", started.status().message()));
  } else {
    LogDebug(absl::StrCat("capability diagnosis unavailable: ", started.status().message()));
  }
  return absl::OkStatus();
}

// Before any other thread exists: threads inherit their creator's sets.
absl::Status SensorRun::Harden() {
  cap_engine_.emplace(plan_.rings, cap_options_.bypass);
  if (absl::Status st = cap_engine_->Harden(); !st.ok())
    return CannotRun(absl::StrCat(
        st.message(), " (to run with the inherited capabilities, pass --capabilities bypass=true)"));
  InstallSignalHandlers();
  return absl::OkStatus();
}

void SensorRun::SeedProcessTree() {
  if (!seed_) {
    LogDebug(absl::StrCat("process tree: ", process_tree_.SeedFromProc(),
                          " processes from /proc (without cap_sys_ptrace: those this uid may inspect)"));
    return;
  }
  absl::StatusOr<caps::ScopedRing> ring =
      cap_engine_->Raise(caps::Ring::kSpecific, "seed process tree", caps::CapSet{caps::Cap::kSysPtrace});
  if (ring.ok())
    LogDebug(absl::StrCat("process tree: ", process_tree_.SeedFromProc(), " processes from /proc"));
  else
    LogWarn(ring.status().message());
}

void SensorRun::PrepareTracefs(BpfSensor::Options& bpf_options) {
  bpf_options.tracefs_available = false;
  if (!plan_.use_tracepoints) return;
  if (!plan_.mount_tracefs) {
    // Reading tracefs may need cap_dac_read_search (a non-root uid): it is
    // in the EBPF ring, which attaching (where libbpf reads the ids) raises.
    if (plan_.sources.privilege.caps.Has(caps::Cap::kDacReadSearch)) {
      absl::StatusOr<caps::ScopedRing> ring = cap_engine_->Raise(caps::Ring::kEbpf, "find tracepoints");
      if (ring.ok()) {
        bpf_options.tracefs_available = EnsureTracefs();
        return;
      }
      LogWarn(ring.status().message());
    }
    bpf_options.tracefs_available = EnsureTracefs();
    return;
  }
  absl::StatusOr<caps::ScopedRing> ring =
      cap_engine_->Raise(caps::Ring::kSpecific, "mount tracefs", caps::CapSet{caps::Cap::kSysAdmin});
  if (ring.ok())
    bpf_options.tracefs_available = EnsureTracefs();
  else
    LogWarn(ring.status().message());
}

absl::Status SensorRun::SetUpKernelSide() {
  SeedProcessTree();
  BpfSensor::Options bpf_options{.ring_bytes = options_.ring_bytes, .syscall_hook = hook_};
  bpf_options.exec_env = options_.exec_env;
  for (const policies::Scope& scope : selection_.policies->scopes())
    bpf_options.container_scope |= scope.in_container.has_value();
  if (options_.detections != nullptr) {
    std::erase_if(detections_, [&](uint32_t id) {
      return std::none_of(selection_.events.begin(), selection_.events.end(),
                          [id](const SelectedEvent& e) { return e.def->id == id; });
    });
    options_.detections->Enable(detections_);
    if (options_.detections->NeedsExecEnv() && !bpf_options.exec_env) {
      LogDebug("a selected detection reads exec environments: sched_process_exec carries env");
      bpf_options.exec_env = true;
    }
  }
  PrepareTracefs(bpf_options);
  if (absl::Status st = LoadPrograms(bpf_options); !st.ok()) return st;
  return AttachPrograms();
}

absl::Status SensorRun::LoadPrograms(const BpfSensor::Options& bpf_options) {
  const int64_t load_start = CapAudit::NowMonotonic();
  const uint64_t start_boot_ns = BootNowNs();
  absl::StatusOr<caps::ScopedRing> ring = cap_engine_->Raise(caps::Ring::kEbpf, "load BPF object");
  if (!ring.ok()) return CannotRun(ring.status().message());
  std::vector<Cancellation> cancelled;
  absl::StatusOr<std::unique_ptr<BpfSensor>> loaded =
      BpfSensor::Load(selection_.events, bpf_options, cancelled);
  if (!loaded.ok())
    return CannotRun(absl::StrCat(loaded.status().message(), EffectiveNow(), Explain(load_start)));
  ExplainPermissionErrors(cancelled, absl::StrCat(EffectiveNow(), Explain(load_start)));
  for (const Cancellation& c : cancelled) LogWarn(absl::StrCat("event ", c.event, " cancelled: ", c.reason));
  sensor_ = std::move(*loaded);
  if (audit_) audit_->Collect();  // drain: loading makes thousands of checks
  absl::StatusOr<policies::KernelScopeTables> scope =
      policies::BuildKernelScope(*selection_.policies, start_boot_ns);
  absl::Status st = scope.ok() ? sensor_->WritePolicyTables(policies::MapEntries(*scope),
                                                            selection_.path_filters, DetectPrefilter())
                               : scope.status();
  if (!st.ok()) return CannotRun(absl::StrCat(st.message(), Explain(load_start)));
  return absl::OkStatus();
}

DetectPrefilterPlan SensorRun::DetectPrefilter() const {
  DetectPrefilterPlan plan;
  const events::EventDef* open = registry_.Find("security_file_open");
  if (options_.detections == nullptr || open == nullptr) return plan;
  auto in = selection_.detection_inputs.find(open->id);
  if (in == selection_.detection_inputs.end()) return plan;
  plan.open = options_.detections->OpenPrefilter();
  // Policies that output the event get every open; the prefilter decides
  // only for opens that nothing but detections wants.
  plan.open_detect_only = in->second & ~selection_.policies->PoliciesOf(open->id);
  if (plan.open_detect_only != 0)
    LogDebug(absl::StrCat("detections: kernel prefilter of security_file_open: ", plan.open.Describe()));
  return plan;
}

absl::Status SensorRun::AttachPrograms() {
  {
    absl::StatusOr<caps::ScopedRing> ring = cap_engine_->Raise(caps::Ring::kEbpf, "attach programs");
    if (!ring.ok()) return CannotRun(ring.status().message());
    const int64_t attach_start = CapAudit::NowMonotonic();
    std::vector<Cancellation> cancelled = sensor_->Attach();
    ExplainPermissionErrors(cancelled, absl::StrCat(EffectiveNow(), Explain(attach_start)));
    for (const Cancellation& c : cancelled)
      LogWarn(absl::StrCat("event ", c.event, " cancelled: ", c.reason));
    if (audit_) audit_->Collect();
  }
  for (const std::string& line : sensor_->attach_log()) LogDebug(absl::StrCat("attached ", line));
  WarnIfContainerNewUndecided();
  CancelDetectionsWithoutInputs();
  const bool nothing_runs = std::all_of(
      sensor_->running_events().begin(), sensor_->running_events().end(),
      [&](uint32_t id) { return IsDetection(*registry_.FindId(id)) && !detections_.contains(id); });
  if (nothing_runs) return CannotRun("no event could be attached; nothing to do");
  return absl::OkStatus();
}

// container=new is decided from the table the cgroup_tracking programs
// fill: without them no container is new, which the policies' owners must know.
void SensorRun::WarnIfContainerNewUndecided() {
  if (sensor_->running_events().contains(events::kCgroupTracking)) return;
  std::vector<std::string> names;
  const std::vector<policies::Scope>& scopes = selection_.policies->scopes();
  for (size_t i = 0; i < scopes.size(); ++i)
    if (scopes[i].new_container) names.push_back(selection_.policies->names()[i]);
  if (names.empty()) return;
  LogWarn(absl::StrCat("scope container=new / container!=new of policies ", absl::StrJoin(names, ","),
                       " cannot be decided: cgroup_tracking (the cgroup_mkdir/cgroup_rmdir programs) is not "
                       "running, so no container counts as new and container=new matches nothing"));
}

// The ring buffer feeds the pipeline; once it is mapped, set-up is over and
// what nothing will raise again leaves permitted.
absl::Status SensorRun::StartPipeline() {
  // Executables whose inode changed after this are "written since start"
  // (ctime is wall-clock; taken before the ring is even mapped).
  decoder_ = std::make_unique<events::Decoder>(registry_, events::Decoder::BootToEpochOffsetNow());
  enricher_ =
      std::make_unique<Enricher>(process_tree_, containers_, Enricher::OptionsForThisProcess(RealNowNs()));
  pipeline_ = std::make_unique<Pipeline>(*decoder_, *enricher_, *selection_.policies,
                                         [this](const events::Event& e) { outputs_->Write(e); });
  pipeline_->set_max_events(options_.max_events);
  pipeline_->set_container_events(&container_events_);
  if (!detections_.empty()) {
    detect_stage_ = std::make_unique<RulesDetectStage>(*options_.detections, process_tree_);
    pipeline_->set_detect_stage(detect_stage_.get(), &selection_.detection_inputs);
  }

  const int64_t ring_start = CapAudit::NowMonotonic();
  absl::StatusOr<caps::ScopedRing> ring_scope = cap_engine_->Raise(caps::Ring::kEbpf, "map ring buffer");
  if (!ring_scope.ok()) return CannotRun(ring_scope.status().message());
  absl::Status ring =
      sensor_->OpenRingBuffer([this](std::span<const uint8_t> record) { pipeline_->OnRecord(record); });
  if (!ring.ok()) return CannotRun(absl::StrCat(ring.message(), EffectiveNow(), Explain(ring_start)));
  if (absl::Status st = ring_scope->Leave(); !st.ok()) return CannotRun(st.message());
  if (absl::Status st = SwitchUser(); !st.ok()) return CannotRun(st.message());
  if (absl::Status st = cap_engine_->FinishSetup(); !st.ok()) return CannotRun(st.message());
  if (!cap_engine_->effective_now().Has(caps::Cap::kSysPtrace))
    process_tree_.ReadExeOnlyOf(geteuid(), getegid());
  // Output threads inherit this thread's sets: from here on, no capability.
  outputs_->Start();
  containers_.Start();
  ReserveHeap();
  // The steady state begins once the output threads (their stacks) exist.
  setup_done_ = CapAudit::NowMonotonic();
  if (audit_) audit_->Collect();
  if (audit_ && !options_.audit) audit_->Stop();  // diagnosis is only needed during set-up
  LogDebug(absl::StrCat("set-up done: effective=", caps::DescribeCaps(cap_engine_->effective_now()),
                        " permitted=", caps::DescribeCaps(plan_.rings.after_setup)));
  return absl::OkStatus();
}

// Tracee's existing_container: the containers running at start, from one
// walk of the cgroup v2 tree made after the cgroup programs were attached
// (the container events also need the list: a container it holds is not
// new when it is removed).
void SensorRun::AnnounceExistingContainers() {
  const std::set<uint32_t>& running = sensor_->running_events();
  if (!running.contains(events::kExistingContainer) && !running.contains(events::kContainerCreate) &&
      !running.contains(events::kContainerRemove))
    return;
  uint64_t candidates = 0;
  if (running.contains(events::kExistingContainer))
    for (const SelectedEvent& e : selection_.events)
      if (e.def->id == events::kExistingContainer) candidates = e.policies;
  if (containers_.root().empty()) {
    LogWarn("existing_container: the cgroup v2 hierarchy is not mounted; no container found at start");
    return;
  }
  std::vector<events::Event> found =
      container_events_.Existing(FindContainerCgroups(containers_.root()), candidates, RealNowNs());
  for (events::Event& e : found) pipeline_->OnEvent(e);
  LogDebug(absl::StrCat("containers at start: ", container_events_.existing(), " (cgroups under ",
                        containers_.root(), ")"));
}

absl::Status SensorRun::AnnounceReady() {
  std::vector<std::string> running;
  for (uint32_t id : sensor_->running_events())
    if (!IsDetection(*registry_.FindId(id)) || detections_.contains(id))
      running.push_back(registry_.FindId(id)->name);
  LogInfo(absl::StrCat("running ", running.size(), " events (", absl::StrJoin(running, ","),
                       "); syscalls via ",
                       sensor_->syscall_hook_used().empty() ? "-" : sensor_->syscall_hook_used()));
  if (absl::Status st = StartStatusServer(); !st.ok()) return st;
  if (!options_.ready_file.empty())
    if (absl::Status st = WriteReadyFile(options_.ready_file); !st.ok()) return UsageError(st.message());
  notifier_.Ready(absl::StrCat("running ", running.size(), " events"));
  return absl::OkStatus();
}

// Started as root (not under `caps audit`, which reports the events' own
// checks, nor with bypass=true): leave uid 0 once set up, raising
// cap_setuid/cap_setgid for it in the Specific ring. Files the sensor
// creates while running (ready, metrics, reopened outputs) must stay
// creatable by that uid; when they would not be, it stays uid 0 and says why.
// Files created or reopened after set-up: the ready and metrics files, and
// every output file (SIGHUP reopens them).
std::vector<std::string> SensorRun::RewrittenPaths() const {
  std::vector<std::string> paths = {options_.ready_file, options_.metrics_file};
  for (const OutputStats& o : outputs_->Stats()) {
    // File outputs are named "json:PATH" / "table:PATH"; stdout and network outputs create no file.
    for (std::string_view kind : {"json:", "table:"}) {
      std::string_view name = o.name;
      if (!name.starts_with(kind)) continue;
      std::string_view path = name.substr(kind.size());
      if (!path.empty() && path != "-" && path != "stdout") paths.emplace_back(path);
    }
  }
  return paths;
}

void SensorRun::PlanUserSwitch(const caps::CapSet& permitted) {
  if (geteuid() != 0 || getuid() != 0 || cap_options_.bypass || options_.audit) return;
  if (!permitted.Has(caps::Cap::kSetuid) || !permitted.Has(caps::Cap::kSetgid)) return;
  std::optional<ServiceUser> user = FindServiceUser();
  if (!user) {
    LogWarn("running as root: no vigil or nobody user to switch to after set-up");
    return;
  }
  if (std::string path = FirstUnwritableDirectory(*user, RewrittenPaths()); !path.empty()) {
    LogWarn(absl::StrCat("staying uid 0: ", user->name, " could not write ", path,
                         " (its directory is not writable by uid ", user->uid, ")"));
    return;
  }
  switch_to_ = user;
  const std::string why = absl::StrCat("switch to user ", user->name, " after set-up (no uid 0 at rest)");
  plan_.sources.specific.push_back({caps::Cap::kSetuid, why});
  plan_.sources.specific.push_back({caps::Cap::kSetgid, why});
  plan_.rings = caps::PlanRings(caps::ToRingInputs(plan_.sources));
}

absl::Status SensorRun::SwitchUser() {
  if (!switch_to_) return absl::OkStatus();
  absl::StatusOr<caps::ScopedRing> ring = cap_engine_->Raise(
      caps::Ring::kSpecific, "switch user", caps::CapSet{caps::Cap::kSetuid, caps::Cap::kSetgid});
  if (!ring.ok()) return ring.status();
  if (absl::Status st = SwitchToUser(*switch_to_); !st.ok()) return st;
  LogInfo(absl::StrCat("set up; now running as user ", switch_to_->name, " (uid ", switch_to_->uid, ")"));
  return absl::OkStatus();
}

// --listen: /healthz and /metrics, after set-up (the HTTP threads are created
// with no capability) and before READY=1.
absl::Status SensorRun::StartStatusServer() {
  if (options_.listen.empty()) return absl::OkStatus();
  absl::StatusOr<ListenAddress> address = ParseListenAddress(options_.listen);
  if (!address.ok()) return UsageError(address.status().message());
  board_ = std::make_shared<StatusBoard>();
  health_.emplace(HealthTracker::Clock::now());
  PublishStatus();
  absl::StatusOr<std::unique_ptr<HttpServer>> server = HttpServer::Start(*address, board_);
  if (!server.ok()) return CannotRun(server.status().message());
  http_ = std::move(*server);
  LogInfo(absl::StrCat("serving /healthz and /metrics on ", address->host, ":", http_->port()));
  return absl::OkStatus();
}

UserCounters SensorRun::CurrentUserCounters() {
  const PipelineCounters& p = pipeline_->counters();
  uint64_t output_errors = 0;
  for (const OutputStats& st : outputs_->Stats()) output_errors += st.errors;
  return {.emitted = p.emitted,
          .decode_errors = p.decode_errors,
          .filtered_user = UserDrops(),
          .sink_errors = output_errors,
          .policy_records = p.records - p.tree_only};
}

std::string SensorRun::StatusMetrics(const KernelCounters& k) {
  const PipelineCounters& p = pipeline_->counters();
  std::string out = MetricsText(k, CurrentUserCounters(), *outputs_);
  absl::StrAppend(&out, "# HELP vigil_detections_total Detections written to the outputs.\n",
                  "# TYPE vigil_detections_total counter\nvigil_detections_total ", p.detections, "\n");
  absl::StrAppend(
      &out,
      "# HELP vigil_output_failing 1 while an output fails (errors in the last 10 s, or a failed reopen).\n",
      "# TYPE vigil_output_failing gauge\n");
  const auto now = std::chrono::steady_clock::now();
  for (size_t i = 0; i < outputs_->size(); ++i) {
    std::string label;
    for (char c : outputs_->at(i).name()) {
      if (c == '\\' || c == '"') label += '\\';
      if (c == '\n') {
        label += "\\n";
        continue;
      }
      label += c;
    }
    const bool failing =
        reopen_failed_[i] || (output_error_at_[i] != std::chrono::steady_clock::time_point{} &&
                              now - output_error_at_[i] < std::chrono::seconds(10));
    absl::StrAppend(&out, "vigil_output_failing{output=\"", label, "\"} ", failing ? 1 : 0, "\n");
  }
  absl::StrAppend(&out, "# HELP vigil_events_attached Selected events running in the kernel.\n",
                  "# TYPE vigil_events_attached gauge\nvigil_events_attached ",
                  sensor_->running_events().size(), "\n", "# HELP vigil_reloads_total SIGHUP reloads.\n",
                  "# TYPE vigil_reloads_total counter\nvigil_reloads_total ", reloads_, "\n");
  return out;
}

// An output whose error count grew in the last 10 s is failing.
void SensorRun::NoteOutputErrors() {
  std::vector<OutputStats> stats = outputs_->Stats();
  for (size_t i = 0; i < stats.size() && i < output_errors_seen_.size(); ++i) {
    if (stats[i].errors > output_errors_seen_[i]) output_error_at_[i] = std::chrono::steady_clock::now();
    output_errors_seen_[i] = stats[i].errors;
  }
}

void SensorRun::PublishStatus() {
  if (!board_) return;
  const KernelCounters k = ReadKernelCounters(*sensor_);
  HealthInputs in;
  in.lost_total = k.lost_reserve + pipeline_->counters().decode_errors;
  NoteOutputErrors();
  const auto now = std::chrono::steady_clock::now();
  for (size_t i = 0; i < outputs_->size(); ++i)
    if (reopen_failed_[i] || (output_error_at_[i] != std::chrono::steady_clock::time_point{} &&
                              now - output_error_at_[i] < std::chrono::seconds(10)))
      in.failing_outputs.push_back(outputs_->at(i).name());
  std::set<std::string> running;
  for (uint32_t id : sensor_->running_events())
    if (!IsDetection(*registry_.FindId(id)) || detections_.contains(id))
      running.insert(registry_.FindId(id)->name);
  for (const std::string& name : selected_names_) {
    const events::EventDef* d = registry_.Find(name);
    // With per-syscall tracepoints, a syscall left out is one this kernel
    // does not build (no tracepoint; any other failure falls back to the raw
    // dispatcher): skipped, not cancelled.
    const bool skipped = d && d->is_syscall() && sensor_->syscall_hook_used() == "syscall_tracepoints";
    // A detection this build cannot implement at all is not an operational fault.
    const bool unavailable = d && d->detection && !d->detection->unavailable.empty();
    if (!running.contains(name) && !skipped && !unavailable) in.cancelled_events.push_back(name);
  }
  board_->Publish({health_->Update(HealthTracker::Clock::now(), in), StatusMetrics(k)});
}

absl::Status SensorRun::ReloadPolicies() {
  absl::StatusOr<Selection> fresh = BuildSelection(options_);
  if (!fresh.ok())
    return absl::InvalidArgumentError(
        absl::StrCat("reload: ", fresh.status().message(), "; the running policies stay as they were"));
  absl::StatusOr<std::string> key = KernelSideKey(*fresh);
  if (!key.ok())
    return absl::InvalidArgumentError(
        absl::StrCat("reload: ", key.status().message(), "; the running policies stay as they were"));
  if (*key != kernel_side_key_)
    return absl::FailedPreconditionError(
        "reload: the policy change needs a restart (it changes which events, scopes or path filters the "
        "kernel side runs); the running set stays as it was");
  retired_policies_.push_back(selection_.policies);
  selection_.policies = fresh->policies;
  pipeline_->set_policies(*selection_.policies);
  LogInfo(absl::StrCat("reload: policies re-read (", selection_.policies->names().size(),
                       " policies); their user-space rule filters are in effect"));
  return absl::OkStatus();
}

absl::Status SensorRun::ReloadRules() {
  if (options_.detections == nullptr || detect_stage_ == nullptr) return absl::OkStatus();
  const rules::DetectionEngine& running = reloaded_rules_ ? *reloaded_rules_ : *options_.detections;
  absl::StatusOr<std::unique_ptr<rules::DetectionEngine>> fresh = ReloadDetections(options_.rules, running);
  if (!fresh.ok())
    return absl::Status(fresh.status().code(),
                        absl::StrCat("reload: rules: ", fresh.status().message(),
                                     absl::IsFailedPrecondition(fresh.status()) ? " (a restart applies it)" : "",
                                     "; the running rules stay as they were"));
  (*fresh)->Enable(detections_);
  if ((*fresh)->NeedsExecEnv() && !running.NeedsExecEnv())
    return absl::FailedPreconditionError(
        "reload: rules: a detection now reads exec environments (a restart applies it); the running rules "
        "stay as they were");
  if ((*fresh)->OpenPrefilter().Describe() != running.OpenPrefilter().Describe())
    return absl::FailedPreconditionError(
        "reload: rules: the kernel's prefilter of security_file_open would change (other file names, "
        "directories or flags; a restart applies it); the running rules stay as they were");
  detect_stage_->set_engine(**fresh);
  reloaded_rules_ = std::move(*fresh);  // frees the previous reload's engine (`running`)
  LogInfo("reload: rules re-read; their conditions, exceptions, lists, macros and outputs are in effect");
  return absl::OkStatus();
}

// SIGHUP: reopen every output file (logrotate), then re-read the policies:
// new user-space rule filters take effect at once; a change the kernel side
// would have to load (other events, scopes, path filters) needs a restart.
void SensorRun::Reload() {
  notifier_.Reloading();
  ++reloads_;
  outputs_->Flush();
  for (size_t i = 0; i < outputs_->size(); ++i) {
    absl::Status st = outputs_->at(i).Reopen();
    reopen_failed_[i] = !st.ok();
    if (!st.ok()) LogWarn(absl::StrCat(st.message(), "; still writing to the file open before"));
  }
  if (absl::Status st = ReloadPolicies(); !st.ok()) LogWarn(st.message());
  if (absl::Status st = ReloadRules(); !st.ok()) LogWarn(st.message());
  LogInfo(absl::StrCat("reloaded (SIGHUP): ", std::count(reopen_failed_.begin(), reopen_failed_.end(), false),
                       " of ", outputs_->size(), " outputs reopened"));
  notifier_.Ready("reloaded");
}

void SensorRun::WriteMetrics() {
  if (absl::Status st = WriteFileAtomically(
          options_.metrics_file, MetricsText(ReadKernelCounters(*sensor_), CurrentUserCounters(), *outputs_));
      !st.ok())
    LogWarn(st.message());
}

int SensorRun::PollUntilStop() {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto last_metrics = start;
  auto last_status = start;
  while (true) {
    absl::StatusOr<int> n = sensor_->PollAndDrain(50);
    if (!n.ok()) {
      LogError(n.status().message());
      stop_reason_ = "error";
      return 1;
    }
    outputs_->Flush();
    notifier_.Watchdog();
    if (g_reload.exchange(false)) Reload();
    if (board_ && Clock::now() - last_status >= std::chrono::milliseconds(250)) {
      last_status = Clock::now();
      PublishStatus();
    }
    if (options_.audit && audit_) audit_->Collect();
    if (!options_.metrics_file.empty() && Clock::now() - last_metrics >= std::chrono::seconds(1)) {
      last_metrics = Clock::now();
      WriteMetrics();
    }
    if (pipeline_->reached_max()) {
      stop_reason_ = "--max-events reached";
      return 0;
    }
    if (int sig = g_stop_signal.load()) {
      stop_reason_ = strsignal(sig);
      return 0;
    }
    if (options_.duration_ms && Clock::now() - start >= std::chrono::milliseconds(*options_.duration_ms)) {
      stop_reason_ = "--duration elapsed";
      return 0;
    }
  }
}

// Detach first, then drain what the kernel already wrote.
void SensorRun::Stop() {
  using Clock = std::chrono::steady_clock;
  stop_begun_ = CapAudit::NowMonotonic();
  notifier_.Stopping();
  http_.reset();
  const auto detach_start = Clock::now();
  sensor_->Detach();
  LogDebug(absl::StrCat(
      "detached in ",
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - detach_start).count(), " ms"));
  // What the kernel wrote before the detach, batch by batch, for at most 500 ms
  // (SPEC: stop within 2 s).
  const auto drain_until = Clock::now() + std::chrono::milliseconds(500);
  while (!pipeline_->reached_max() && Clock::now() < drain_until) {
    absl::StatusOr<int> n = sensor_->PollAndDrain(0);
    if (!n.ok() || *n < BpfSensor::kDrainBatch) break;
  }
  // Each output gets up to 1 s to deliver what it holds (SPEC: stop within 2 s).
  outputs_->Stop(Clock::now() + std::chrono::seconds(1));
  const KernelCounters k = ReadKernelCounters(*sensor_);
  const PipelineCounters& p = pipeline_->counters();
  LogInfo(absl::StrCat(
      "stopped (", stop_reason_, "): emitted ", p.emitted, " events (", p.detections, " detections); lost ",
      k.lost_reserve, " (ring buffer full), ", p.decode_errors, " undecodable",
      p.decode_errors ? absl::StrCat(" (last: ", p.last_decode_error, ")") : "", ", ", k.map_full,
      " (kernel table full); ", k.truncated, " with truncated arguments; ", k.read_failed,
      " unreadable user memory reads (events kept); ", k.compat_undecoded,
      " compat syscalls not decoded (x32, or ia32 without an x86-64 twin); ", k.iou_undecoded,
      " io_uring requests not decoded; filtered out by policies: ",
      k.filtered_kernel, " in the kernel, ",
      UserDrops(), " in user space; outputs: ", outputs_->Summary()));
  if (!options_.metrics_file.empty()) WriteMetrics();
  if (options_.audit && audit_) {
    AuditInputs in{.plan = caps::DescribePlan(plan_.sources),
                   .bypass = cap_options_.bypass,
                   .transitions = cap_engine_->transitions(),
                   .checks = audit_->Collect(),
                   .attach_times = sensor_->attach_times(),
                   .setup_done_ns = setup_done_,
                   .stop_ns = stop_begun_,
                   .lost = audit_->lost()};
    std::string report = options_.audit_format == "json" ? RenderAuditJson(in) : RenderAuditText(in);
    fwrite(report.data(), 1, report.size(), stdout);
    fflush(stdout);
  }
}

}  // namespace

int RunSensor(const SensorOptions& options) { return SensorRun(options).Run(); }

}  // namespace vigil::engine

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
#include <cstring>
#include <filesystem>

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
#include "vigil/engine/log.h"
#include "vigil/engine/pipeline.h"
#include "vigil/engine/process_tree.h"
#include "vigil/engine/startup.h"
#include "vigil/events/decoder.h"
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

absl::Status WriteReadyFile(const std::string& path) {
  return WriteFileAtomically(path, absl::StrCat(getpid(), "\n"));
}

struct UserCounters {
  uint64_t emitted = 0;
  uint64_t decode_errors = 0;
  uint64_t filtered_user = 0;
  uint64_t sink_errors = 0;
};

std::string MetricsText(const KernelCounters& k, const UserCounters& u, const Outputs& outputs) {
  std::string out;
  auto counter = [&out](const char* name, const char* help, uint64_t v) {
    absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " counter\n", name, " ", v, "\n");
  };
  counter("vigil_events_emitted_total", "Events written to the sinks.", u.emitted);
  absl::StrAppend(&out, "# HELP vigil_events_lost_total Events lost, by where.\n",
                  "# TYPE vigil_events_lost_total counter\n",
                  "vigil_events_lost_total{reason=\"ring_buffer_full\"} ", k.lost_reserve, "\n",
                  "vigil_events_lost_total{reason=\"undecodable\"} ", u.decode_errors, "\n");
  absl::StrAppend(
      &out, "# HELP vigil_events_filtered_total Events no policy wanted, by where they were dropped.\n",
      "# TYPE vigil_events_filtered_total counter\n", "vigil_events_filtered_total{where=\"kernel\"} ",
      k.filtered_kernel, "\n", "vigil_events_filtered_total{where=\"user\"} ", u.filtered_user, "\n");
  counter("vigil_events_truncated_total", "Events with an argument cut at its capture limit.", k.truncated);
  counter("vigil_sink_write_errors_total", "Failed send attempts, all outputs together.", u.sink_errors);
  out += outputs.MetricsText();
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
  absl::Status StartPipeline();
  absl::Status AnnounceReady();
  int PollUntilStop();
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
  std::unique_ptr<BpfSensor> sensor_;
  std::unique_ptr<events::Decoder> decoder_;
  std::unique_ptr<Enricher> enricher_;
  std::unique_ptr<Pipeline> pipeline_;
  std::set<uint32_t> detections_;  // selected detections that run
  std::unique_ptr<RulesDetectStage> detect_stage_;
  int64_t setup_done_ = 0;
  std::string stop_reason_;
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
  absl::Status st = scope.ok()
                        ? sensor_->WritePolicyTables(policies::MapEntries(*scope), selection_.path_filters)
                        : scope.status();
  if (!st.ok()) return CannotRun(absl::StrCat(st.message(), Explain(load_start)));
  return absl::OkStatus();
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
  CancelDetectionsWithoutInputs();
  const bool nothing_runs = std::all_of(
      sensor_->running_events().begin(), sensor_->running_events().end(),
      [&](uint32_t id) { return IsDetection(*registry_.FindId(id)) && !detections_.contains(id); });
  if (nothing_runs) return CannotRun("no event could be attached; nothing to do");
  return absl::OkStatus();
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
  if (absl::Status st = cap_engine_->FinishSetup(); !st.ok()) return CannotRun(st.message());
  setup_done_ = CapAudit::NowMonotonic();
  // Output threads inherit this thread's sets: from here on, no capability.
  outputs_->Start();
  if (audit_) audit_->Collect();
  if (audit_ && !options_.audit) audit_->Stop();  // diagnosis is only needed during set-up
  LogDebug(absl::StrCat("set-up done: effective=", caps::DescribeCaps(cap_engine_->effective_now()),
                        " permitted=", caps::DescribeCaps(plan_.rings.after_setup)));
  return absl::OkStatus();
}

absl::Status SensorRun::AnnounceReady() {
  std::vector<std::string> running;
  for (uint32_t id : sensor_->running_events())
    if (!IsDetection(*registry_.FindId(id)) || detections_.contains(id))
      running.push_back(registry_.FindId(id)->name);
  LogInfo(absl::StrCat("running ", running.size(), " events (", absl::StrJoin(running, ","),
                       "); syscalls via ",
                       sensor_->syscall_hook_used().empty() ? "-" : sensor_->syscall_hook_used()));
  if (options_.ready_file.empty()) return absl::OkStatus();
  if (absl::Status st = WriteReadyFile(options_.ready_file); !st.ok()) return UsageError(st.message());
  return absl::OkStatus();
}

void SensorRun::WriteMetrics() {
  const PipelineCounters& p = pipeline_->counters();
  uint64_t output_errors = 0;
  for (const OutputStats& s : outputs_->Stats()) output_errors += s.errors;
  UserCounters u{.emitted = p.emitted,
                 .decode_errors = p.decode_errors,
                 .filtered_user = selection_.policies->total_drops(),
                 .sink_errors = output_errors};
  if (absl::Status st =
          WriteFileAtomically(options_.metrics_file, MetricsText(sensor_->ReadCounters(), u, *outputs_));
      !st.ok())
    LogWarn(st.message());
}

int SensorRun::PollUntilStop() {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto last_metrics = start;
  while (true) {
    absl::StatusOr<int> n = sensor_->PollAndDrain(50);
    if (!n.ok()) {
      LogError(n.status().message());
      stop_reason_ = "error";
      return 1;
    }
    outputs_->Flush();
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
  const auto detach_start = Clock::now();
  sensor_->Detach();
  LogDebug(absl::StrCat(
      "detached in ",
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - detach_start).count(), " ms"));
  if (!pipeline_->reached_max()) (void)sensor_->PollAndDrain(0);
  // Each output gets up to 1 s to deliver what it holds (SPEC: stop within 2 s).
  outputs_->Stop(Clock::now() + std::chrono::seconds(1));
  const KernelCounters k = sensor_->ReadCounters();
  const PipelineCounters& p = pipeline_->counters();
  LogInfo(absl::StrCat(
      "stopped (", stop_reason_, "): emitted ", p.emitted, " events (", p.detections, " detections); lost ",
      k.lost_reserve, " (ring buffer full), ", p.decode_errors, " undecodable",
      p.decode_errors ? absl::StrCat(" (last: ", p.last_decode_error, ")") : "", "; ", k.truncated,
      " with truncated arguments; filtered out by policies: ", k.filtered_kernel, " in the kernel, ",
      selection_.policies->total_drops(), " in user space; outputs: ", outputs_->Summary()));
  if (!options_.metrics_file.empty()) WriteMetrics();
  if (options_.audit && audit_) {
    AuditInputs in{.plan = caps::DescribePlan(plan_.sources),
                   .bypass = cap_options_.bypass,
                   .transitions = cap_engine_->transitions(),
                   .checks = audit_->Collect(),
                   .attach_times = sensor_->attach_times(),
                   .setup_done_ns = setup_done_,
                   .lost = audit_->lost()};
    std::string report = options_.audit_format == "json" ? RenderAuditJson(in) : RenderAuditText(in);
    fwrite(report.data(), 1, report.size(), stdout);
    fflush(stdout);
  }
}

}  // namespace

int RunSensor(const SensorOptions& options) { return SensorRun(options).Run(); }

}  // namespace vigil::engine

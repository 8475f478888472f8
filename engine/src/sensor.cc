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

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "vigil/engine/log.h"
#include "vigil/events/decoder.h"
#include "vigil/events/event_ids.h"

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
absl::Status WriteReadyFile(const std::string& path) {
  std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::InvalidArgumentError(absl::StrCat("write ready file ", tmp, ": ", strerror(errno)));
  std::string body = absl::StrCat(getpid(), "\n");
  bool ok = write(fd, body.data(), body.size()) == static_cast<ssize_t>(body.size());
  close(fd);
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    unlink(tmp.c_str());
    return absl::InvalidArgumentError(absl::StrCat("write ready file ", path, ": ", strerror(errno)));
  }
  return absl::OkStatus();
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

// Executable paths by process, kept from exec events and read lazily from /proc.
class ExecutableCache {
 public:
  const std::string& Get(uint32_t host_pid, uint64_t start_time) {
    auto it = cache_.find(host_pid);
    if (it != cache_.end() && it->second.start_time == start_time) return it->second.path;
    if (cache_.size() > 65536) cache_.clear();  // bound memory; entries are cheap to rebuild
    Entry& e = cache_[host_pid];
    e.start_time = start_time;
    char buf[4096];
    std::string link = absl::StrCat("/proc/", host_pid, "/exe");
    ssize_t n = readlink(link.c_str(), buf, sizeof(buf));
    e.path = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
    return e.path;
  }
  void Set(uint32_t host_pid, uint64_t start_time, std::string path) {
    cache_[host_pid] = Entry{start_time, std::move(path)};
  }
  void Forget(uint32_t host_pid) { cache_.erase(host_pid); }

 private:
  struct Entry {
    uint64_t start_time = 0;
    std::string path;
  };
  std::unordered_map<uint32_t, Entry> cache_;
};

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
      case 'K': case 'k': mult = 1ull << 10; break;
      case 'M': case 'm': mult = 1ull << 20; break;
      case 'G': case 'g': mult = 1ull << 30; break;
    }
    if (mult != 1) text.remove_suffix(1);
  }
  uint64_t v;
  if (!absl::SimpleAtoi(std::string(text), &v)) return false;
  bytes = v * mult;
  return true;
}

int RunSensor(const SensorOptions& options) {
  const events::Registry& registry = events::Registry::Builtin();

  // ---- selection
  std::vector<std::string> items = options.events;
  if (items.empty()) items = {"tag=default"};
  absl::StatusOr<std::set<uint32_t>> ids = registry.Expand(items);
  if (!ids.ok()) {
    LogError(ids.status().message());
    return 2;
  }
  std::set<uint32_t> closure = registry.WithDependencies(*ids);
  std::vector<std::string> policy_names = {"cli"};
  std::vector<SelectedEvent> selected;
  for (uint32_t id : closure) selected.push_back({registry.FindId(id), 1});

  // ---- sinks (opened first: a bad path is a usage error before anything loads)
  std::vector<std::unique_ptr<Sink>> sinks;
  std::vector<std::string> outputs = options.outputs;
  if (outputs.empty()) outputs = {"table"};
  for (const std::string& o : outputs) {
    absl::StatusOr<SinkSpec> spec = ParseSinkSpec(o);
    if (!spec.ok()) {
      LogError(spec.status().message());
      return 2;
    }
    absl::StatusOr<std::unique_ptr<Sink>> sink = Sink::Open(*spec, &policy_names);
    if (!sink.ok()) {
      LogError(sink.status().message());
      return 2;
    }
    sinks.push_back(std::move(*sink));
  }

  InstallSignalHandlers();

  // ---- kernel side
  size_t syscall_count = 0;
  for (const SelectedEvent& e : selected) syscall_count += e.def->is_syscall();
  BpfSensor::Options bpf_options{.ring_bytes = options.ring_bytes, .syscall_hook = options.syscall_hook};
  bool want_tracepoints = syscall_count > 0 && options.syscall_hook != SyscallHook::kRawSyscalls &&
                          (options.syscall_hook == SyscallHook::kTracepoints ||
                           syscall_count <= bpf_options.tracepoint_limit);
  bpf_options.tracefs_available = want_tracepoints && EnsureTracefs();

  std::vector<Cancellation> cancelled;
  absl::StatusOr<std::unique_ptr<BpfSensor>> loaded = BpfSensor::Load(selected, bpf_options, cancelled);
  if (!loaded.ok()) {
    LogError(absl::StrCat(loaded.status().message(),
                          "; vigil needs BPF (run as root or grant CAP_BPF and CAP_PERFMON)"));
    return 1;
  }
  std::unique_ptr<BpfSensor> sensor = std::move(*loaded);
  std::vector<Cancellation> attach_cancelled = sensor->Attach();
  cancelled.insert(cancelled.end(), attach_cancelled.begin(), attach_cancelled.end());
  for (const Cancellation& c : cancelled) LogWarn(absl::StrCat("event ", c.event, " cancelled: ", c.reason));
  for (const std::string& line : sensor->attach_log()) LogDebug(absl::StrCat("attached ", line));
  if (sensor->running_events().empty()) {
    LogError("no event could be attached; nothing to do");
    return 1;
  }

  // ---- pipeline
  events::Decoder decoder(registry, events::Decoder::BootToEpochOffsetNow());
  events::Event event;
  ExecutableCache executables;
  char host_name_buf[256] = {};
  gethostname(host_name_buf, sizeof(host_name_buf) - 1);
  const std::string host_name = host_name_buf;
  uint64_t emitted = 0, decode_errors = 0;
  bool reached_max = false;
  std::string last_decode_error;

  absl::Status ring = sensor->OpenRingBuffer([&](std::span<const uint8_t> record) {
    if (reached_max) return;
    if (absl::Status st = decoder.Decode(record, event); !st.ok()) {
      ++decode_errors;
      last_decode_error = std::string(st.message());
      return;
    }
    if (event.def->id == events::kSchedProcessExec) {
      if (const events::Arg* path = event.FindArg("pathname"))
        if (const auto* s = std::get_if<std::string>(&path->value))
          executables.Set(event.host_pid, event.start_time_ns, *s);
    }
    event.executable = executables.Get(event.host_pid, event.start_time_ns);
    event.host_name = host_name;
    if (event.def->id == events::kSchedProcessExit) {
      if (const events::Arg* group = event.FindArg("process_group_exit"))
        if (const bool* b = std::get_if<bool>(&group->value); b && *b) executables.Forget(event.host_pid);
    }
    for (auto& sink : sinks) sink->Write(event);
    ++emitted;
    if (options.max_events && emitted >= *options.max_events) reached_max = true;
  });
  if (!ring.ok()) {
    LogError(ring.message());
    return 1;
  }

  std::vector<std::string> running;
  for (uint32_t id : sensor->running_events()) running.push_back(registry.FindId(id)->name);
  LogInfo(absl::StrCat("running ", running.size(), " events (", absl::StrJoin(running, ","),
                       "); syscalls via ", sensor->syscall_hook_used().empty() ? "-" : sensor->syscall_hook_used()));
  if (!options.ready_file.empty()) {
    if (absl::Status st = WriteReadyFile(options.ready_file); !st.ok()) {
      LogError(st.message());
      return 2;
    }
  }

  // ---- poll loop
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
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
      if (absl::Status st = sink->Flush(); !st.ok()) LogWarn(st.message());
    }
    if (reached_max) { stop_reason = "--max-events reached"; break; }
    if (int sig = g_stop_signal.load()) { stop_reason = strsignal(sig); break; }
    if (options.duration_ms &&
        Clock::now() - start >= std::chrono::milliseconds(*options.duration_ms)) {
      stop_reason = "--duration elapsed";
      break;
    }
  }

  // ---- clean stop: detach first, then drain what the kernel already wrote.
  sensor->Detach();
  if (!reached_max) (void)sensor->PollAndDrain(0);
  for (auto& sink : sinks) {
    if (absl::Status st = sink->Flush(); !st.ok()) LogWarn(st.message());
  }
  KernelCounters k = sensor->ReadCounters();
  LogInfo(absl::StrCat("stopped (", stop_reason, "): emitted ", emitted, " events; lost ",
                       k.lost_reserve, " (ring buffer full), ", decode_errors, " undecodable",
                       decode_errors ? absl::StrCat(" (last: ", last_decode_error, ")") : "",
                       "; ", k.truncated, " with truncated arguments; ", k.stash_full,
                       " syscall entries not stashed"));
  return exit_code;
}

}  // namespace vigil::engine

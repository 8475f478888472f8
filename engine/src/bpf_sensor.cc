#include "vigil/engine/bpf_sensor.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <fstream>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "vigil.skel.h"
#include "vigil/engine/log.h"
#include "vigil/events/event_ids.h"
#include "vigil_event.h"  // before the skeleton, which uses its structs

namespace vigil::engine {
namespace {

// libbpf's messages go to our log at debug level; the last program the
// kernel refused to load is remembered so that its probe can fall back.
std::mutex g_libbpf_mu;
std::string g_last_refused_program;

int LibbpfPrint(enum libbpf_print_level level, const char* fmt, va_list args) {
  // Verifier logs arrive as one message of up to megabytes.
  static char line[1 << 20];
  vsnprintf(line, sizeof(line), fmt, args);
  std::string_view text(line);
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  static const std::regex kRefused(R"(prog '([A-Za-z0-9_]+)': (BPF program load failed|failed to load))");
  std::cmatch m;
  if (std::regex_search(line, m, kRefused)) {
    std::lock_guard lock(g_libbpf_mu);
    g_last_refused_program = m[1].str();
  }
  if (level == LIBBPF_WARN)
    LogDebug(absl::string_view(text.data(), text.size()));
  else
    LogTrace(absl::string_view(text.data(), text.size()));
  return 0;
}

std::string Errno(int err) {
  err = err < 0 ? -err : err;
  return absl::StrCat(strerrorname_np(err) ? strerrorname_np(err) : "error", " (", strerror(err), ")");
}

bpf_program* FindProgram(::vigil_bpf* skel, const std::string& name) {
  return bpf_object__find_program_by_name(skel->obj, name.c_str());
}

int64_t MonotonicNow() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

uint8_t CaptureOf(const events::ArgDef& a) { return static_cast<uint8_t>(a.capture); }

// An open directory of the cgroup v2 hierarchy (cgroup_skb programs attach to
// one and apply below it); closed when it goes out of scope.
struct Cgroup2Dir {
  int fd = -1;
  int err = 0;
  std::string error;
  Cgroup2Dir() = default;
  Cgroup2Dir(Cgroup2Dir&& o) noexcept : fd(std::exchange(o.fd, -1)), err(o.err), error(std::move(o.error)) {}
  Cgroup2Dir& operator=(Cgroup2Dir&&) = delete;
  ~Cgroup2Dir() {
    if (fd >= 0) close(fd);
  }
};

// Where the cgroup v2 hierarchy's root is mounted: /sys/fs/cgroup on unified
// systems, /sys/fs/cgroup/unified on hybrid ones; "" when it is not mounted.
std::string Cgroup2MountPoint() {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // "36 25 0:30 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw"
    size_t dash = line.find(" - ");
    if (dash == std::string::npos || line.compare(dash + 3, 8, "cgroup2 ") != 0) continue;
    std::istringstream fields(line.substr(0, dash));
    std::string id, parent, devno, root, mount_point;
    fields >> id >> parent >> devno >> root >> mount_point;
    if (root != "/") continue;  // a bind mount of some cgroup below the root
    std::string unescaped;      // mountinfo escapes space, tab, newline and backslash as \ooo
    for (size_t i = 0; i < mount_point.size(); ++i) {
      if (mount_point[i] == '\\' && i + 3 < mount_point.size()) {
        unescaped += static_cast<char>(std::stoi(mount_point.substr(i + 1, 3), nullptr, 8));
        i += 3;
      } else {
        unescaped += mount_point[i];
      }
    }
    return unescaped;
  }
  return "";
}

// Opens `path` ("/" = the root) of the cgroup v2 hierarchy. Where cgroup2 is
// not mounted and the process may mount, the hierarchy (which always exists)
// is mounted on a private directory just long enough to open it.
Cgroup2Dir OpenCgroup2(const std::string& path) {
  Cgroup2Dir dir;
  std::string relative = path.starts_with('/') ? path.substr(1) : path;
  std::string mount_point = Cgroup2MountPoint();
  if (!mount_point.empty()) {
    std::string full = relative.empty() ? mount_point : absl::StrCat(mount_point, "/", relative);
    dir.fd = open(full.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    dir.err = errno;
    if (dir.fd < 0) dir.error = absl::StrCat("open cgroup v2 directory ", full, ": ", Errno(dir.err));
    return dir;
  }
  char tmp[] = "/run/vigil-cgroup2-XXXXXX";
  if (mkdtemp(tmp) == nullptr) {
    dir.err = errno;
    dir.error =
        absl::StrCat("cgroup2 is not mounted, and creating a directory to mount it failed: ", Errno(dir.err));
    return dir;
  }
  if (mount("cgroup2", tmp, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    dir.err = errno;
    dir.error = absl::StrCat("cgroup2 is not mounted, and mounting it failed: ", Errno(dir.err),
                             dir.err == EPERM ? " (mounting needs cap_sys_admin)" : "");
  } else {
    std::string full = relative.empty() ? std::string(tmp) : absl::StrCat(tmp, "/", relative);
    dir.fd = open(full.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    dir.err = errno;
    if (dir.fd < 0) dir.error = absl::StrCat("open cgroup v2 directory ", full, ": ", Errno(dir.err));
    umount2(tmp, MNT_DETACH);  // the open directory keeps the hierarchy reachable
  }
  rmdir(tmp);
  return dir;
}

}  // namespace

BpfSensor::~BpfSensor() {
  if (ring_ != nullptr) ring_buffer__free(ring_);
  Detach();
  if (skel_ != nullptr) vigil_bpf::destroy(skel_);
}

absl::StatusOr<std::unique_ptr<BpfSensor>> BpfSensor::Load(const std::vector<SelectedEvent>& events,
                                                           const Options& options,
                                                           std::vector<Cancellation>& cancelled) {
  libbpf_set_print(LibbpfPrint);
  std::unique_ptr<BpfSensor> s(new BpfSensor());
  s->events_ = events;
  // The process tree needs the lifecycle records; unselected, they run with
  // no policy (their records carry an empty policy mask).
  if (options.track_processes) {
    for (uint32_t id : {events::kSchedProcessExec, events::kSchedProcessFork, events::kSchedProcessExit}) {
      bool present = false;
      for (const SelectedEvent& e : events) present |= e.def->id == id;
      if (!present) s->events_.push_back({events::Registry::Builtin().FindId(id), 0});
    }
  }
  s->options_ = options;

  // Each attempt opens a fresh object: a failed load cannot be retried.
  for (int attempt = 0; attempt < 16; ++attempt) {
    if (s->skel_ != nullptr) vigil_bpf::destroy(s->skel_);
    s->skel_ = vigil_bpf::open();
    if (s->skel_ == nullptr)
      return absl::InternalError(absl::StrCat("open embedded BPF object: ", Errno(errno)));
    ::vigil_bpf* skel = s->skel_;

    // Only the programs some selected event can use are loaded.
    std::set<std::string> wanted;
    for (const SelectedEvent& e : s->events_)
      for (const events::ProbeDef& p : e.def->probes)
        for (const events::ProbeAlternative& alt : p.alternatives)
          for (const std::string& prog : alt.programs)
            if (!s->disabled_programs_.contains(prog)) wanted.insert(prog);
    bpf_program* prog;
    bpf_object__for_each_program(prog, skel->obj) {
      bpf_program__set_autoload(prog, wanted.contains(bpf_program__name(prog)));
    }

    skel->rodata->sensor_tgid = static_cast<uint32_t>(getpid());
    // Wake the reader early enough that a burst cannot fill the buffer
    // between two of its timer-driven drains: every quarter of the buffer
    // per CPU, at a typical record size.
    skel->rodata->wakeup_every = std::max<uint64_t>(64, options.ring_bytes / 4 / 256);
    skel->rodata->track_processes = options.track_processes;
    skel->rodata->exec_env = options.exec_env;
    struct stat uts {};
    if (stat("/proc/self/ns/uts", &uts) == 0) skel->rodata->sensor_uts_ns = static_cast<uint32_t>(uts.st_ino);
    // Non-syscall events (lifecycle, bpf/security.bpf.h) read their policies by event id.
    for (const SelectedEvent& e : s->events_)
      if (!e.def->is_syscall() && e.def->id < VG_MAX_EVENTS)
        skel->rodata->vg_event_policies[e.def->id] = e.policies;
    if (int err = bpf_map__set_max_entries(skel->maps.events, options.ring_bytes); err)
      return absl::InvalidArgumentError(
          absl::StrCat("ring buffer size ", options.ring_bytes, ": ", Errno(err)));

    {
      std::lock_guard lock(g_libbpf_mu);
      g_last_refused_program.clear();
    }
    int err = vigil_bpf::load(skel);
    if (err == 0) break;

    std::string refused;
    {
      std::lock_guard lock(g_libbpf_mu);
      refused = g_last_refused_program;
    }
    if (refused.empty() || s->disabled_programs_.contains(refused))
      return absl::Status(
          err == -EPERM || err == -EACCES ? absl::StatusCode::kPermissionDenied : absl::StatusCode::kInternal,
          absl::StrCat("load BPF object: ", Errno(err)));
    LogInfo(absl::StrCat("program ", refused, " refused by this kernel (", Errno(err),
                         "); trying the next alternative of its probe"));
    s->disabled_programs_.insert(refused);

    // Events whose required probe now has no loadable alternative are cancelled.
    std::vector<SelectedEvent> keep;
    for (const SelectedEvent& e : s->events_) {
      bool ok = true;
      for (const events::ProbeDef& p : e.def->probes) {
        if (!p.required) continue;
        bool any = false;
        for (const events::ProbeAlternative& alt : p.alternatives) {
          bool all_loadable = true;
          for (const std::string& prog : alt.programs) all_loadable &= !s->disabled_programs_.contains(prog);
          any |= all_loadable;
        }
        ok &= any;
      }
      if (ok)
        keep.push_back(e);
      else if (e.policies != 0)  // internal (process-tree) probes are not the user's events
        cancelled.push_back(
            {e.def->name, absl::StrCat("no alternative of its probes loads on this kernel (last refused: ",
                                       refused, ", ", Errno(err), ")")});
    }
    s->events_ = std::move(keep);
    if (s->events_.empty()) return s;
  }
  if (absl::Status st = s->SetUpSyscallSpecs(); !st.ok()) return st;
  return s;
}

absl::Status BpfSensor::WriteSyscallSpec(uint32_t nr, const std::string& for_event) {
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.syscall_specs), &nr, &specs_[nr], BPF_ANY) != 0)
    return absl::Status(errno == EPERM ? absl::StatusCode::kPermissionDenied : absl::StatusCode::kInternal,
                        absl::StrCat("update map syscall_specs for event ", for_event, ": ", Errno(errno)));
  return absl::OkStatus();
}

absl::Status BpfSensor::SetUpSyscallSpecs() {
  for (const SelectedEvent& e : events_) {
    if (!e.def->is_syscall() || e.def->syscall_nr >= VG_MAX_SYSCALLS) continue;
    uint32_t key = static_cast<uint32_t>(e.def->syscall_nr);
    vg_syscall_spec& spec = specs_[key];
    spec.argc = static_cast<uint8_t>(std::min<size_t>(e.def->args.size(), 6));
    for (size_t i = 0; i < spec.argc; ++i) spec.capture[i] = CaptureOf(e.def->args[i]);
    spec.flags = VG_SYSCALL_SELECTED | (e.def->emit_at_entry ? VG_SYSCALL_AT_ENTRY : 0) |
                 (e.def->deferred_exec ? VG_SYSCALL_DEFER : 0);
    spec.policies = e.policies;
    if (e.path_policies != 0 && e.path_arg >= 0) {
      spec.path_policies = e.path_policies;
      spec.path_arg = static_cast<uint8_t>(e.path_arg);
    }
    if (absl::Status st = WriteSyscallSpec(key, e.def->name); !st.ok()) return st;
  }
  return absl::OkStatus();
}

bool BpfSensor::AttachDispatcher(bool entry) {
  bool& attached = entry ? raw_enter_attached_ : raw_exit_attached_;
  if (attached) return true;
  bpf_link* link = entry ? bpf_program__attach_raw_tracepoint(skel_->progs.vg_raw_sys_enter, "sys_enter")
                         : bpf_program__attach_raw_tracepoint(skel_->progs.vg_raw_sys_exit, "sys_exit");
  if (link == nullptr) return false;
  links_.push_back(link);
  attached = true;
  return true;
}

bool BpfSensor::AttachConsumer(const events::EventDef& def, const events::ProbeAlternative& alt) {
  if (!AttachDispatcher(alt.target == "sys_enter")) return false;
  for (int nr : alt.consumer_syscalls) {
    if (nr < 0 || nr >= VG_MAX_SYSCALLS) continue;
    specs_[nr].consumers |= static_cast<uint16_t>(1u << alt.consumer);
    if (absl::Status st = WriteSyscallSpec(static_cast<uint32_t>(nr), def.name); !st.ok()) {
      LogInfo(st.message());
      errno = st.code() == absl::StatusCode::kPermissionDenied ? EPERM : EIO;
      return false;
    }
  }
  return true;
}

std::vector<Cancellation> BpfSensor::Attach() {
  std::vector<Cancellation> cancelled;
  std::vector<const SelectedEvent*> syscalls;
  for (const SelectedEvent& e : events_) {
    if (e.def->is_syscall()) {
      syscalls.push_back(&e);
      continue;
    }
    bool ok = true;
    attach_times_.emplace_back(MonotonicNow(), e.def->name);
    for (const events::ProbeDef& p : e.def->probes) {
      std::string errors;
      bool attached = false;
      for (const events::ProbeAlternative& alt : p.alternatives) {
        if (alt.programs.empty()) continue;
        const std::string& name = alt.programs.front();
        bpf_program* prog = FindProgram(skel_, name);
        if (prog == nullptr || disabled_programs_.contains(name)) continue;
        bpf_link* link = nullptr;
        bool consumer_attached = false;
        switch (alt.kind) {
          case events::AttachKind::kTpBtf:
            link = bpf_program__attach(prog);
            break;
          case events::AttachKind::kRawTracepoint:
            if (alt.consumer >= 0) {  // served by the raw_syscalls dispatcher
              consumer_attached = AttachConsumer(*e.def, alt);
              break;
            }
            link = bpf_program__attach_raw_tracepoint(prog, alt.target.c_str());
            break;
          case events::AttachKind::kTracepoint: {  // target "category/name"
            size_t slash = alt.target.find('/');
            if (slash == std::string::npos) break;
            link = bpf_program__attach_tracepoint(prog, alt.target.substr(0, slash).c_str(),
                                                  alt.target.substr(slash + 1).c_str());
            break;
          }
          case events::AttachKind::kCgroupSkb: {  // target: a path in the cgroup v2 hierarchy
            Cgroup2Dir dir = OpenCgroup2(alt.target);
            if (dir.fd < 0) {
              LogInfo(absl::StrCat("event ", e.def->name, ": ", dir.error));
              errno = dir.err;
              break;
            }
            link = bpf_program__attach_cgroup(prog, dir.fd);
            break;
          }
          default:
            break;
        }
        if (link != nullptr || consumer_attached) {
          if (link != nullptr) links_.push_back(link);
          attach_log_.push_back(absl::StrCat(e.def->name, ": ", p.name, " via ",
                                             events::AttachKindName(alt.kind), " (", name, ")"));
          attached = true;
          break;
        }
        absl::StrAppend(&errors, errors.empty() ? "" : "; ", events::AttachKindName(alt.kind), " ",
                        alt.target, ": ", Errno(errno));
      }
      if (!attached && p.required) {
        ok = false;
        if (e.policies != 0)
          cancelled.push_back({e.def->name, absl::StrCat("attach ", p.name, " failed: ", errors)});
        else
          LogInfo(absl::StrCat("process tracking without ", e.def->name, ": ", errors));
      }
    }
    if (ok && e.policies != 0) running_.insert(e.def->id);
  }
  if (syscalls.empty()) return cancelled;

  // Per-syscall tracepoints when few syscalls are selected: other syscalls
  // then run no BPF code. Otherwise (or if any tracepoint is missing) the
  // raw_syscalls dispatcher, which sees every syscall and filters by map.
  bool use_tracepoints = options_.syscall_hook == SyscallHook::kTracepoints ||
                         (options_.syscall_hook == SyscallHook::kAuto && options_.tracefs_available &&
                          syscalls.size() <= options_.tracepoint_limit);
  bpf_program* tp_exit = skel_->progs.vg_tp_sys_exit;
  std::string tp_error;
  std::vector<const SelectedEvent*> no_tracepoint;
  if (use_tracepoints) {
    std::vector<bpf_link*> tp_links;
    for (const SelectedEvent* e : syscalls) {
      const events::ProbeAlternative* tp = nullptr;
      for (const auto& alt : e->def->probes.front().alternatives)
        if (alt.kind == events::AttachKind::kSyscallTracepoints) tp = &alt;
      if (tp == nullptr) {
        // Every syscall the kernel implements has tracepoints; one without is
        // not built in (e.g. init_module without CONFIG_MODULES). Hooking
        // every syscall of the host just to see it fail is not worth it.
        no_tracepoint.push_back(e);
        continue;
      }
      bool refused = false;
      for (const std::string& name : tp->programs) refused |= disabled_programs_.contains(name);
      bpf_program* tp_enter = FindProgram(skel_, tp->programs.front());
      if (refused || tp_enter == nullptr) {
        tp_error = absl::StrCat("program ", tp->programs.front(), " did not load");
        break;
      }
      attach_times_.emplace_back(MonotonicNow(), e->def->name);
      // A syscall is emitted at its exit, or at its entry when it does not
      // return; execve is seen at both (stashed at entry, failures at exit).
      bool enter = e->def->emit_at_entry || e->def->deferred_exec;
      bool exit = !e->def->emit_at_entry;
      for (bool at_entry : {true, false}) {
        if (at_entry ? !enter : !exit) continue;
        std::string tp_name = absl::StrCat(at_entry ? "sys_enter_" : "sys_exit_", e->def->name);
        bpf_link* link =
            bpf_program__attach_tracepoint(at_entry ? tp_enter : tp_exit, "syscalls", tp_name.c_str());
        if (link == nullptr) {
          tp_error = absl::StrCat("tracepoint syscalls/", tp_name, ": ", Errno(errno));
          break;
        }
        tp_links.push_back(link);
      }
      if (!tp_error.empty()) break;
    }
    if (tp_error.empty()) {
      links_.insert(links_.end(), tp_links.begin(), tp_links.end());
      syscall_hook_used_ = "syscall_tracepoints";
      for (const SelectedEvent* e : syscalls) {
        if (std::find(no_tracepoint.begin(), no_tracepoint.end(), e) != no_tracepoint.end()) {
          LogInfo(absl::StrCat("event ", e->def->name, " not watched: this kernel has no syscalls/sys_enter_",
                               e->def->name,
                               " tracepoint, so it does not implement the syscall "
                               "(--syscall-hook raw watches attempts anyway)"));
          continue;
        }
        running_.insert(e->def->id);
      }
      attach_log_.push_back(absl::StrCat(syscalls.size(), " syscall events via per-syscall tracepoints"));
      return cancelled;
    }
    for (bpf_link* l : tp_links) bpf_link__destroy(l);
    no_tracepoint.clear();
    LogInfo(absl::StrCat("per-syscall tracepoints unavailable (", tp_error,
                         "); using the raw_syscalls dispatcher"));
  }
  attach_times_.emplace_back(MonotonicNow(), "raw_syscalls dispatcher");
  // The entry hook runs on every syscall of the host: attach it only when some
  // selected syscall is emitted at entry.
  bool any_entry = false, any_exit = false;
  for (const SelectedEvent* e : syscalls) {
    any_entry |= e->def->emit_at_entry || e->def->deferred_exec;
    any_exit |= !e->def->emit_at_entry;
  }
  // (The dispatcher may run already for the consumers of security events.)
  skel_->bss->raw_dispatch_syscalls = true;
  int err = 0;
  if (any_entry && !AttachDispatcher(true)) err = errno;
  if (err == 0 && any_exit && !AttachDispatcher(false)) err = errno;
  if (err != 0) {
    skel_->bss->raw_dispatch_syscalls = false;
    std::string why = absl::StrCat("attach raw_syscalls dispatcher: ", Errno(err),
                                   tp_error.empty() ? "" : absl::StrCat("; ", tp_error));
    for (const SelectedEvent* e : syscalls) cancelled.push_back({e->def->name, why});
    return cancelled;
  }
  syscall_hook_used_ = "raw_syscalls";
  for (const SelectedEvent* e : syscalls) running_.insert(e->def->id);
  attach_log_.push_back(absl::StrCat(syscalls.size(), " syscall events via the raw_syscalls dispatcher"));
  return cancelled;
}

absl::Status BpfSensor::OpenRingBuffer(std::function<void(std::span<const uint8_t>)> on_record) {
  on_record_ = std::move(on_record);
  auto callback = [](void* ctx, void* data, size_t size) -> int {
    auto* self = static_cast<BpfSensor*>(ctx);
    self->on_record_(std::span<const uint8_t>(static_cast<const uint8_t*>(data), size));
    return 0;
  };
  ring_ = ring_buffer__new(bpf_map__fd(skel_->maps.events), callback, this, nullptr);
  if (ring_ == nullptr)
    return absl::Status(errno == EPERM ? absl::StatusCode::kPermissionDenied : absl::StatusCode::kInternal,
                        absl::StrCat("map ring buffer 'events': ", Errno(errno)));
  return absl::OkStatus();
}

absl::StatusOr<int> BpfSensor::PollAndDrain(int timeout_ms) {
  int n = ring_buffer__poll(ring_, timeout_ms);
  if (n < 0 && n != -EINTR) return absl::InternalError(absl::StrCat("poll ring buffer: ", Errno(n)));
  int m = ring_buffer__consume(ring_);
  if (m < 0) return absl::InternalError(absl::StrCat("consume ring buffer: ", Errno(m)));
  return (n > 0 ? n : 0) + m;
}

bpf_object* BpfSensor::object() const { return skel_ ? skel_->obj : nullptr; }

void BpfSensor::Detach() {
  // Releasing a perf-event tracepoint waits for an RCU grace period (~75 ms
  // here); released one after another, twenty of them would break the 2 s
  // stop budget. Released concurrently, they share grace periods. The
  // threads start at the Base ring, like the thread that creates them.
  std::vector<std::thread> workers;
  for (bpf_link* l : links_) workers.emplace_back([l] { bpf_link__destroy(l); });
  for (std::thread& t : workers) t.join();
  links_.clear();
}

KernelCounters BpfSensor::ReadCounters() const {
  KernelCounters total;
  if (skel_ == nullptr || skel_->bss == nullptr) return total;
  for (const vg_cpu_counters& c : skel_->bss->vg_counters) {
    total.emitted += c.emitted;
    total.lost_reserve += c.lost_reserve;
    total.filtered_kernel += c.filtered_kernel;
    total.truncated += c.truncated;
  }
  return total;
}

}  // namespace vigil::engine

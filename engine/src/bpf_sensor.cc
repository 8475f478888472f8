#include "vigil/engine/bpf_sensor.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <map>
#include <filesystem>
#include <sstream>
#include <fstream>
#include <mutex>
#include <thread>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "vigil.skel.h"
#include "vigil/caps/process_caps.h"
#include "vigil/engine/containers.h"
#include "vigil/engine/host_tgid.h"
#include "vigil/engine/log.h"
#include "vigil/events/event_ids.h"
#include "vigil/events/format.h"
#include "vigil_event.h"  // before the skeleton, which uses its structs
#include "detect_prefilter.h"
#include "path_watch.h"

namespace vigil::engine {
namespace {

// Whether this thread's effective set allows loading tracing programs at all:
// CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN (which implies both).
bool LoadCapabilitiesHeld() {
  absl::StatusOr<caps::ThreadCaps> t = caps::ReadThreadCaps();
  if (!t.ok()) return true;  // unknown: let the alternatives decide
  const caps::CapSet& e = t->effective;
  return e.Has(caps::Cap::kSysAdmin) || (e.Has(caps::Cap::kBpf) && e.Has(caps::Cap::kPerfmon));
}

// libbpf's messages, sent to our log (warnings at debug level, the rest at
// trace), and the programs it reports the kernel refused while a load is
// watched. libbpf names the refused program only in this text: a verifier
// rejection leaves a log in the program's own buffer, but a refusal before
// the verifier (EPERM for a program type, no BTF id for a tp_btf target)
// leaves none, and a failed bpf_object__load closes every program's fd. So
// the text is read, here only. libbpf_set_print takes no context pointer:
// the one watch of a load in progress is found through `active_`.
class LibbpfLog {
 public:
  LibbpfLog() {
    std::lock_guard lock(mu_);
    active_ = this;
    libbpf_set_print(&LibbpfLog::Print);
  }
  ~LibbpfLog() {
    std::lock_guard lock(mu_);
    active_ = nullptr;
  }
  LibbpfLog(const LibbpfLog&) = delete;
  LibbpfLog& operator=(const LibbpfLog&) = delete;

  // The last program libbpf said failed to load since Clear(), or "".
  std::string refused() const {
    std::lock_guard lock(mu_);
    return refused_;
  }
  void Clear() {
    std::lock_guard lock(mu_);
    refused_.clear();
  }

 private:
  // "prog 'NAME': BPF program load failed: ..." or "prog 'NAME': failed to load: ...".
  static std::string_view RefusedProgram(std::string_view text) {
    size_t at = text.find("prog '");
    if (at == std::string_view::npos) return {};
    std::string_view rest = text.substr(at + 6);
    size_t end = rest.find("': ");
    if (end == std::string_view::npos) return {};
    std::string_view what = rest.substr(end + 3);
    if (!what.starts_with("BPF program load failed") && !what.starts_with("failed to load")) return {};
    return rest.substr(0, end);
  }

  static int Print(enum libbpf_print_level level, const char* fmt, va_list args) {
    // Verifier logs arrive as one message of up to megabytes.
    std::string line(1 << 20, '\0');
    int n = vsnprintf(line.data(), line.size(), fmt, args);
    line.resize(n < 0 ? 0 : std::min<size_t>(n, line.size() - 1));
    std::string_view text(line);
    while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    if (std::string_view prog = RefusedProgram(text); !prog.empty()) {
      std::lock_guard lock(mu_);
      if (active_ != nullptr) active_->refused_ = std::string(prog);
    }
    if (level == LIBBPF_WARN)
      LogDebug(absl::string_view(text.data(), text.size()));
    else
      LogTrace(absl::string_view(text.data(), text.size()));
    return 0;
  }

  static inline std::mutex mu_;
  static inline LibbpfLog* active_ = nullptr;
  std::string refused_;
};

std::string Errno(int err) { return events::FormatErrno(err); }

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

void BpfSensor::SkeletonDeleter::operator()(::vigil_bpf* skel) const { vigil_bpf::destroy(skel); }
void BpfSensor::LinkDeleter::operator()(bpf_link* link) const { bpf_link__destroy(link); }
void BpfSensor::RingBufferDeleter::operator()(ring_buffer* ring) const { ring_buffer__free(ring); }

BpfSensor::~BpfSensor() {
  ring_.reset();  // before the links and the object it reads
  Detach();
  for (int fd : watch_fds_) close(fd);
}

absl::StatusOr<std::unique_ptr<BpfSensor>> BpfSensor::Load(const std::vector<SelectedEvent>& events,
                                                           const Options& options,
                                                           std::vector<Cancellation>& cancelled) {
  LibbpfLog libbpf_log;
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
  s->disabled_programs_ = options.refused_programs;

  // The sensor's own activity is left out by its tgid as the kernel knows it
  // (not getpid() inside a pid namespace, which is another host process's).
  uint32_t self_tgid = static_cast<uint32_t>(getpid());
  if (absl::StatusOr<uint32_t> host = HostTgid(); host.ok()) {
    self_tgid = *host;
  } else {
    LogWarn(absl::StrCat("cannot learn this process's host tgid (", host.status().message(),
                         "); excluding tgid ", self_tgid,
                         " instead: its own events may be reported and host process ", self_tgid, "'s not"));
  }

  // Each attempt opens a fresh object: a failed load cannot be retried.
  for (int attempt = 0; attempt < 16; ++attempt) {
    s->skel_.reset(vigil_bpf::open());
    if (s->skel_ == nullptr)
      return absl::InternalError(absl::StrCat("open embedded BPF object: ", Errno(errno)));
    ::vigil_bpf* skel = s->skel_.get();

    // Only the programs some selected event can use are loaded.
    std::set<std::string> wanted;
    for (const SelectedEvent& e : s->events_)
      for (const events::ProbeDef& p : e.def->probes)
        for (const events::ProbeAlternative& alt : p.alternatives)
          for (const std::string& prog : alt.programs)
            if (!s->disabled_programs_.contains(prog)) wanted.insert(prog);
    if (options.container_scope) {
      wanted.insert("vg_raw_scope_cgroup_mkdir");
      wanted.insert("vg_raw_scope_cgroup_rmdir");
    }
    // Compat syscalls: wherever syscalls are hooked (syscall events, or
    // security events derived at syscall exits), the dispatcher (vg_raw_sys_enter/exit)
    // may be needed beside per-syscall tracepoints (AttachCompat).
    bool hooks_syscalls = false;
    for (const SelectedEvent& e : s->events_) {
      hooks_syscalls |= e.def->is_syscall();
      for (const events::ProbeDef& p : e.def->probes)
        for (const events::ProbeAlternative& alt : p.alternatives) hooks_syscalls |= alt.consumer >= 0;
    }
    if (hooks_syscalls) wanted.insert("vg_watch_learn");  // (the open fast path, WatchPaths)
    if (hooks_syscalls)
      for (const char* compat : {"vg_raw_sys_enter", "vg_raw_sys_exit"})
        if (!s->disabled_programs_.contains(compat)) wanted.insert(compat);
    bpf_program* prog;
    bpf_object__for_each_program(prog, skel->obj) {
      bpf_program__set_autoload(prog, wanted.contains(bpf_program__name(prog)));
    }

    skel->rodata->sensor_tgid = self_tgid;
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
      if (!e.def->is_syscall() && e.def->id < VG_MAX_EVENTS) {
        skel->rodata->vg_event_policies[e.def->id] = e.policies;
        skel->rodata->vg_event_path_policies[e.def->id] = e.path_policies;
      }
    if (int err = bpf_map__set_max_entries(skel->maps.events, options.ring_bytes); err)
      return absl::InvalidArgumentError(
          absl::StrCat("ring buffer size ", options.ring_bytes, ": ", Errno(err)));

    libbpf_log.Clear();
    int err = vigil_bpf::load(skel);
    if (err == 0) break;

    std::string refused = libbpf_log.refused();
    // EPERM without the capabilities that loading tracing programs takes is
    // not this kernel refusing one program: every alternative would fail the
    // same way, so say so once (the caller names the denied capability).
    if (err == -EPERM && !LoadCapabilitiesHeld())
      return absl::PermissionDeniedError(absl::StrCat("load BPF programs: ", Errno(err)));
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
  links_.emplace_back(link);
  attached = true;
  return true;
}

bool BpfSensor::AttachConsumer(const events::EventDef& def, const events::ProbeAlternative& alt) {
  if (!AttachDispatcher(alt.target == "sys_enter")) return false;
  skel_->bss->raw_x64_consumers = true;
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
  std::vector<Cancellation> cancelled = AttachEvents();
  if (options_.container_scope) TrackContainerCgroups();
  // Forks from now on are marked by the fork program (needs the lifecycle programs).
  if (!tree_roots_.empty() && options_.track_processes) SeedTreeMarks();
  AttachCompat();
  ReserveDetachStacks();
  return cancelled;
}

// After the fork program is attached: a process forked during the walk is
// marked by one or the other. Seeded marks carry no start time (0): they go
// when the process exits, as every mark does.
void BpfSensor::SeedTreeMarks() {
  std::map<uint32_t, uint32_t> parent;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    std::ifstream in(it->path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t close = stat.rfind(')');  // "pid (comm) state ppid ...": comm may hold anything
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    std::string state;
    uint32_t ppid = 0;
    if (rest >> state >> ppid) parent[static_cast<uint32_t>(std::stoul(name))] = ppid;
  }
  const int fd = bpf_map__fd(skel_->maps.vg_tree_marks);
  size_t marked = 0;
  for (const auto& [pid, ppid] : parent) {
    vg_tree_mark mark{};
    uint32_t at = ppid;
    for (size_t depth = 0; at > 0 && depth < parent.size(); ++depth) {  // bounded: no cycle loops forever
      if (auto root = tree_roots_.find(at); root != tree_roots_.end()) {
        mark.eq |= root->second.first;
        mark.neq |= root->second.second;
      }
      auto up = parent.find(at);
      if (up == parent.end()) break;
      at = up->second;
    }
    if (!(mark.eq | mark.neq)) continue;
    if (bpf_map_update_elem(fd, &pid, &mark, BPF_ANY) != 0) {
      LogWarn(absl::StrCat("tree scope: mark process ", pid, ": ", Errno(errno)));
      break;
    }
    ++marked;
  }
  LogDebug(absl::StrCat("tree scope: ", marked, " running processes descend from a tree= process"));
}

// Attached before the walk, so that a container cgroup made during it is
// caught by one or the other.
void BpfSensor::TrackContainerCgroups() {
  for (auto [prog, tracepoint] : {std::pair{skel_->progs.vg_raw_scope_cgroup_mkdir, "cgroup_mkdir"},
                                  std::pair{skel_->progs.vg_raw_scope_cgroup_rmdir, "cgroup_rmdir"}}) {
    bpf_link* link = bpf_program__attach_raw_tracepoint(prog, tracepoint);
    if (link == nullptr) {
      LogWarn(absl::StrCat("container scope: attach raw tracepoint ", tracepoint, ": ", Errno(errno),
                           "; containers started from now on count as host"));
      continue;
    }
    links_.emplace_back(link);
    attach_log_.push_back(absl::StrCat("container scope: ", tracepoint, " via raw_tracepoint"));
  }
  const std::string root = Cgroup2MountPoint();
  if (root.empty()) {
    LogWarn("container scope: no cgroup v2 mount; no process counts as in a container");
    return;
  }
  const int fd = bpf_map__fd(skel_->maps.vg_container_cgroups);
  std::error_code ec;
  size_t found = 0;
  const uint8_t one = 1;
  for (auto it = std::filesystem::recursive_directory_iterator(
           root, std::filesystem::directory_options::skip_permission_denied, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_directory(ec)) continue;
    const std::string path = it->path().string();
    if (ContainerIdFromCgroupPath(path.substr(root.size())).empty()) continue;
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) continue;  // removed meanwhile
    const uint64_t id = st.st_ino;                 // a cgroup v2 directory's inode is its id
    if (bpf_map_update_elem(fd, &id, &one, BPF_ANY) != 0) {
      LogWarn(absl::StrCat("container scope: record container cgroup ", path, ": ", Errno(errno)));
      break;
    }
    ++found;
  }
  LogDebug(absl::StrCat("container scope: ", found, " container cgroups under ", root));
}

void BpfSensor::AttachCompat() {
  bool need_entry = false, need_exit = false;
  for (const SelectedEvent& e : events_) {
    if (!running_.contains(e.def->id)) continue;
    if (e.def->is_syscall()) {
      need_entry |= e.def->emit_at_entry || e.def->deferred_exec;
      need_exit |= !e.def->emit_at_entry || e.def->deferred_exec;
      continue;
    }
    // The syscalls each event derives from, whichever probe serves x86-64
    // ones: the dispatcher fallback names them with the event's consumer.
    for (const events::ProbeDef& p : e.def->probes)
      for (const events::ProbeAlternative& alt : p.alternatives) {
        if (alt.consumer < 0) continue;
        bool entry = alt.target == "sys_enter";
        for (int nr : alt.consumer_syscalls) {
          if (nr < 0 || nr >= VG_MAX_SYSCALLS) continue;
          specs_[nr].compat_consumers |= static_cast<uint16_t>(1u << alt.consumer);
          (entry ? need_entry : need_exit) = true;
          if (absl::Status st = WriteSyscallSpec(static_cast<uint32_t>(nr), e.def->name); !st.ok()) {
            LogWarn(absl::StrCat("compat (ia32) syscalls: ", st.message()));
            return;
          }
        }
      }
  }
  if (!need_entry && !need_exit) return;
  need_exit = true;  // x32 syscalls are counted at the exit
  for (bool entry : {true, false}) {
    if (entry ? !need_entry : !need_exit) continue;
    if (entry ? raw_enter_attached_ : raw_exit_attached_) {
      attach_log_.push_back(absl::StrCat("compat (ia32) syscalls at the ", entry ? "entry" : "exit",
                                         " via the raw_syscalls dispatcher"));
      continue;
    }
    // The dispatcher, which returns at once for other tasks while it serves
    // no x86-64 syscall (raw_dispatch_syscalls, raw_x64_consumers unset).
    const char* name = entry ? "vg_raw_sys_enter" : "vg_raw_sys_exit";
    bpf_program* prog = entry ? skel_->progs.vg_raw_sys_enter : skel_->progs.vg_raw_sys_exit;
    bool attached = false;
    int err = 0;
    if (disabled_programs_.contains(name) || bpf_program__fd(prog) < 0) {
      err = ENOENT;
    } else {
      attached = AttachDispatcher(entry);
      if (!attached) err = errno;
    }
    if (!attached) {
      std::string what = err == ENOENT ? absl::StrCat("program ", name, " did not load")
                                       : absl::StrCat("attach raw_tp/", entry ? "sys_enter" : "sys_exit", ": ",
                                                      Errno(err));
      LogWarn(absl::StrCat("compat (ia32) syscalls are not watched at their ", entry ? "entry" : "exit", " (",
                           what, "): 32-bit syscalls of x86-64 processes go unseen"));
      continue;
    }
    attach_log_.push_back(absl::StrCat("compat (ia32) syscalls at the ", entry ? "entry" : "exit", " via raw_tp (",
                                       name, ")"));
  }
}

// Detach's threads run on stacks mapped here, during set-up: a thread whose
// stack glibc maps at stop time makes the kernel's overcommit accounting check
// CAP_SYS_ADMIN (denied, harmless, but a privileged check outside set-up).
void BpfSensor::ReserveDetachStacks() {
  const size_t bytes = links_.size() * kDetachStackBytes;
  if (bytes == 0) return;
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return;  // Detach then lets glibc map the stacks
  detach_stacks_ = std::span<uint8_t>(static_cast<uint8_t*>(p), bytes);
}

std::vector<Cancellation> BpfSensor::AttachEvents() {
  std::vector<Cancellation> cancelled;
  std::vector<const SelectedEvent*> syscalls;
  for (const SelectedEvent& e : events_) {
    if (e.def->is_syscall()) {
      syscalls.push_back(&e);
      continue;
    }
    bool ok = true, any_attached = false;
    std::vector<std::string> optional_errors;
    attach_times_.emplace_back(MonotonicNow(), e.def->name);
    for (const events::ProbeDef& p : e.def->probes) {
      std::string errors;
      bool attached = false;
      for (const events::ProbeAlternative& alt : p.alternatives) {
        if (alt.programs.empty()) continue;
        const std::string& name = alt.programs.front();
        bpf_program* prog = FindProgram(skel_.get(), name);
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
          if (link != nullptr) links_.emplace_back(link);
          attach_log_.push_back(absl::StrCat(e.def->name, ": ", p.name, " via ",
                                             events::AttachKindName(alt.kind), " (", name, ")"));
          attached = true;
          break;
        }
        absl::StrAppend(&errors, errors.empty() ? "" : "; ", events::AttachKindName(alt.kind), " ",
                        alt.target, ": ", Errno(errno));
      }
      any_attached |= attached;
      if (!attached && !p.required)
        optional_errors.push_back(absl::StrCat(p.name, ": ", errors.empty() ? "its programs did not load" : errors));
      if (!attached && p.required) {
        ok = false;
        if (e.policies != 0)
          cancelled.push_back({e.def->name, absl::StrCat("attach ", p.name, " failed: ", errors)});
        else
          LogInfo(absl::StrCat("process tracking without ", e.def->name, ": ", errors));
      }
    }
    // An event of optional probes only (the io_uring ones) that got none:
    // the events depending on it run without it, which is worth saying.
    if (!any_attached && optional_errors.size() == e.def->probes.size() && !optional_errors.empty())
      LogInfo(absl::StrCat("event ", e.def->name, " not attached (", absl::StrJoin(optional_errors, "; "),
                           "); the events that depend on it run without it"));
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
    std::vector<Link> tp_links;
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
      bpf_program* tp_enter = FindProgram(skel_.get(), tp->programs.front());
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
        tp_links.emplace_back(link);
      }
      if (!tp_error.empty()) break;
    }
    if (tp_error.empty()) {
      for (Link& l : tp_links) links_.push_back(std::move(l));
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
    tp_links.clear();
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
    // libbpf consumes for as long as the producer keeps ahead; a negative
    // return ends the call (this record already consumed), so a flood cannot
    // hold the loop away from its stop, --duration and metrics checks.
    return ++self->batch_records_ >= kDrainBatch ? kBatchFull : 0;
  };
  ring_.reset(ring_buffer__new(bpf_map__fd(skel_->maps.events), callback, this, nullptr));
  if (ring_ == nullptr)
    return absl::Status(errno == EPERM ? absl::StatusCode::kPermissionDenied : absl::StatusCode::kInternal,
                        absl::StrCat("map ring buffer 'events': ", Errno(errno)));
  return absl::OkStatus();
}

absl::StatusOr<int> BpfSensor::PollAndDrain(int timeout_ms) {
  batch_records_ = 0;
  int n = ring_buffer__poll(ring_.get(), timeout_ms);
  if (n == kBatchFull) return batch_records_;
  if (n < 0 && n != -EINTR) return absl::InternalError(absl::StrCat("poll ring buffer: ", Errno(n)));
  int m = ring_buffer__consume(ring_.get());
  if (m == kBatchFull) return batch_records_;
  if (m < 0) return absl::InternalError(absl::StrCat("consume ring buffer: ", Errno(m)));
  return batch_records_;
}

namespace {

// The fd of a map the policy tables go into, checked to hold `entries`.
absl::StatusOr<int> TableFd(bpf_map* map, const char* name, size_t entries) {
  int fd = bpf_map__fd(map);
  if (fd < 0)
    return absl::FailedPreconditionError(
        absl::StrCat("map ", name, " has no file descriptor (", Errno(fd), "): is the object loaded?"));
  if (entries > bpf_map__max_entries(map))
    return absl::ResourceExhaustedError(absl::StrCat("map ", name, ": the policies need ", entries,
                                                     " entries, it holds ", bpf_map__max_entries(map)));
  return fd;
}

absl::Status UpdateTable(int fd, const char* name, const void* key, const void* value,
                         const std::string& what) {
  if (bpf_map_update_elem(fd, key, value, BPF_ANY) == 0) return absl::OkStatus();
  int err = errno;
  return absl::Status(
      err == EPERM || err == EACCES ? absl::StatusCode::kPermissionDenied : absl::StatusCode::kInternal,
      absl::StrCat("update map ", name, what, ": ", Errno(err)));
}

template <typename Key, typename Value>
absl::Status WriteTable(bpf_map* map, const char* name, const std::vector<std::pair<Key, Value>>& entries) {
  absl::StatusOr<int> fd = TableFd(map, name, entries.size());
  if (!fd.ok()) return fd.status();
  for (const auto& [key, value] : entries)
    if (absl::Status st = UpdateTable(*fd, name, &key, &value, ""); !st.ok()) return st;
  return absl::OkStatus();
}

vg_detect_need ToNeed(const rules::FileOpenPrefilter::Need& n) {
  vg_detect_need out{};
  out.modes = n.modes;
  out.flags = n.flags;
  return out;
}

// The file-open prefilter's tables (bpf/detect_prefilter.h); vg_detect_cfg
// last, so that the kernel turns it on only once the tables are whole.
absl::Status WriteDetectTables(vigil_bpf& skel, const DetectPrefilterPlan& plan) {
  if (plan.open_detect_only == 0 || plan.open.pass_all) return absl::OkStatus();
  static_assert(rules::FileOpenPrefilter::kMaxName == VG_DETECT_NAME_MAX);
  static_assert(rules::FileOpenPrefilter::kMaxAffixLengths == VG_DETECT_AFFIX_LENS);
  static_assert(rules::FileOpenPrefilter::kMaxPrefix + 1 == VG_DETECT_PREFIX_MAX);
  static_assert(rules::FileOpenPrefilter::kPrefixComponents == VG_DETECT_PREFIX_COMPS);
  using Kind = rules::FileOpenPrefilter::NameKind;
  vg_detect_open_cfg cfg{};
  cfg.detect_only = plan.open_detect_only;
  cfg.any = ToNeed(plan.open.any);
  size_t prefix_lens = 0, suffix_lens = 0;
  rules::FileOpenPrefilter::Need basename_any, parent_any, prefix_len_any[VG_DETECT_AFFIX_LENS],
      suffix_len_any[VG_DETECT_AFFIX_LENS];
  absl::StatusOr<int> names = TableFd(skel.maps.vg_detect_names, "vg_detect_names", plan.open.names.size());
  if (!names.ok()) return names.status();
  for (const rules::FileOpenPrefilter::Name& n : plan.open.names) {
    if (n.text.empty() || n.text.size() > VG_DETECT_NAME_MAX)
      return absl::InternalError(absl::StrCat("prefilter name '", n.text, "' does not fit vg_detect_names"));
    vg_detect_name_key key{};
    key.kind = static_cast<uint8_t>(n.kind);
    key.len = static_cast<uint8_t>(n.text.size());
    std::memcpy(key.name, n.text.data(), n.text.size());
    vg_detect_need need = ToNeed(n.need);
    if (absl::Status st = UpdateTable(*names, "vg_detect_names", &key, &need, absl::StrCat(" with '", n.text, "'"));
        !st.ok())
      return st;
    uint32_t bit = vg_detect_bloom_bit(key.kind, key.len, static_cast<uint8_t>(n.text.front()),
                                       static_cast<uint8_t>(n.text.back()));
    cfg.bloom[bit / 64] |= uint64_t{1} << (bit % 64);
    if (n.kind == Kind::kBasename) basename_any.Merge(n.need);
    if (n.kind == Kind::kParentName) parent_any.Merge(n.need);
    if (n.kind == Kind::kBasenamePrefix || n.kind == Kind::kBasenameSuffix) {
      const bool prefix = n.kind == Kind::kBasenamePrefix;
      uint8_t* lens = prefix ? cfg.prefix_lens : cfg.suffix_lens;
      size_t& used = prefix ? prefix_lens : suffix_lens;
      size_t at = std::find(lens, lens + used, key.len) - lens;
      if (at == used) {
        if (used == VG_DETECT_AFFIX_LENS)
          return absl::InternalError("prefilter: more name lengths than vg_detect_cfg holds");
        lens[used++] = key.len;
      }
      (prefix ? prefix_len_any : suffix_len_any)[at].Merge(n.need);
    }
  }
  cfg.basename_any = ToNeed(basename_any);
  cfg.parent_any = ToNeed(parent_any);
  for (size_t i = 0; i < VG_DETECT_AFFIX_LENS; ++i) {
    cfg.prefix_len_any[i] = ToNeed(prefix_len_any[i]);
    cfg.suffix_len_any[i] = ToNeed(suffix_len_any[i]);
  }
  rules::FileOpenPrefilter::Need prefix_any;
  absl::StatusOr<int> prefixes =
      TableFd(skel.maps.vg_detect_prefixes, "vg_detect_prefixes", plan.open.prefixes.size());
  if (!prefixes.ok()) return prefixes.status();
  for (const rules::FileOpenPrefilter::Prefix& p : plan.open.prefixes) {
    if (p.path.size() >= VG_DETECT_PREFIX_MAX)
      return absl::InternalError(absl::StrCat("prefilter prefix '", p.path, "' does not fit vg_detect_prefixes"));
    vg_detect_prefix_key key{};
    key.prefixlen = 8 * static_cast<uint32_t>(p.path.size());
    std::memcpy(key.path, p.path.data(), p.path.size());
    vg_detect_need need = ToNeed(p.need);
    if (absl::Status st =
            UpdateTable(*prefixes, "vg_detect_prefixes", &key, &need, absl::StrCat(" with '", p.path, "'"));
        !st.ok())
      return st;
    prefix_any.Merge(p.need);
  }
  cfg.prefix_any = ToNeed(prefix_any);
  absl::StatusOr<int> fd = TableFd(skel.maps.vg_detect_cfg, "vg_detect_cfg", 1);
  if (!fd.ok()) return fd.status();
  uint32_t zero = 0;
  return UpdateTable(*fd, "vg_detect_cfg", &zero, &cfg, "");
}

}  // namespace

absl::Status BpfSensor::WritePolicyTables(const policies::ScopeMapEntries& scope, const PathFilterPlan& paths,
                                          const DetectPrefilterPlan& detect) {
  const auto& maps = skel_->maps;
  if (absl::Status st = WriteTable(maps.vg_scope_vals, "vg_scope_vals", scope.values); !st.ok()) return st;
  if (absl::Status st = WriteTable(maps.vg_scope_comm, "vg_scope_comm", scope.comms); !st.ok()) return st;
  if (absl::Status st = WriteTable(maps.vg_scope_uts, "vg_scope_uts", scope.uts_names); !st.ok()) return st;
  for (const auto& [key, masks] : scope.values)
    if (key.kind == VG_SCOPE_TREE) tree_roots_[static_cast<uint32_t>(key.value)] = {masks.eq, masks.neq};
  absl::StatusOr<int> cfg = TableFd(maps.vg_scope_cfg, "vg_scope_cfg", 1);
  if (!cfg.ok()) return cfg.status();
  uint32_t zero = 0;
  if (absl::Status st = UpdateTable(*cfg, "vg_scope_cfg", &zero, &scope.config, ""); !st.ok()) return st;
  if (absl::Status st = WriteDetectTables(*skel_, detect); !st.ok()) return st;
  WatchPaths(paths, detect);

  if (paths.entries.empty()) return absl::OkStatus();
  absl::StatusOr<int> fd = TableFd(maps.path_filters, "path_filters", paths.entries.size());
  if (!fd.ok()) return fd.status();
  for (const PathFilterEntry& e : paths.entries) {
    vg_path_key key{};
    key.event_id = e.event_id;
    std::memcpy(key.path, e.key.data(), e.key.size());
    key.prefixlen = 32 + 8 * static_cast<uint32_t>(e.key.size());
    absl::Status st =
        UpdateTable(*fd, "path_filters", &key, &e.policies, absl::StrCat(" with '", e.key.c_str(), "'"));
    if (!st.ok()) return st;
  }
  // Exact patterns by the file they name, so that its hard links and bind
  // mounts match: (event, device, inode) -> policies. A pattern naming no
  // file (yet) is matched by path only.
  std::map<std::tuple<uint32_t, uint32_t, uint64_t>, uint64_t> inodes;
  for (const PathFilterEntry& e : paths.entries) {
    if (e.key.empty() || e.key.back() != '\0') continue;
    struct stat st {};
    if (stat(e.key.c_str(), &st) != 0) continue;
    // The kernel's dev_t (super_block.s_dev): major << 20 | minor.
    uint32_t dev = (major(st.st_dev) << 20) | minor(st.st_dev);
    inodes[{e.event_id, dev, st.st_ino}] |= e.policies;
  }
  if (inodes.empty()) return absl::OkStatus();
  absl::StatusOr<int> ifd = TableFd(maps.path_inodes, "path_inodes", inodes.size());
  if (!ifd.ok()) return ifd.status();
  for (const auto& [k, policies] : inodes) {
    vg_inode_key key{};
    key.event_id = std::get<0>(k);
    key.dev = std::get<1>(k);
    key.ino = std::get<2>(k);
    if (absl::Status st = UpdateTable(*ifd, "path_inodes", &key, &policies, ""); !st.ok()) return st;
  }
  return absl::OkStatus();
}

void BpfSensor::WatchPaths(const PathFilterPlan& paths, const DetectPrefilterPlan& detect) {
  std::vector<std::string> prefixes;
  if (detect.open_detect_only != 0)
    for (const rules::FileOpenPrefilter::Prefix& p : detect.open.prefixes) prefixes.push_back(p.path);
  const PathWatchPlan plan = PlanPathWatch(paths, prefixes);
  ::vigil_bpf* skel = skel_.get();
  if (plan.str_prefix_len > 0) {
    std::copy(plan.str_bloom.begin(), plan.str_bloom.end(), skel->bss->vg_str_bloom);
    skel->bss->vg_str_prefix_len = plan.str_prefix_len;
  }
  if (plan.dirs.empty() && plan.files.empty()) return;
  bpf_program* learn = skel->progs.vg_watch_learn;
  std::set<std::string> dirs;
  auto is_dir = [](const std::string& d) {
    struct stat st {};
    return stat(d.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  };
  for (const std::string& d : plan.dirs)
    for (const std::string& w : WatchedDirsFor(d, is_dir)) dirs.insert(w);
  std::vector<std::pair<std::string, uint8_t>> watched;
  for (const std::string& d : dirs) watched.emplace_back(d, VG_WATCH_DIR);
  for (const std::string& f : plan.files) watched.emplace_back(f, VG_WATCH_FILE);
  const char* why = nullptr;
  if (watched.size() > VG_WATCH_MAX_FDS) why = "more watched paths than the kernel's table holds";
  if (learn == nullptr || bpf_program__fd(learn) < 0) why = "the vg_watch_learn program is not loaded";
  uint32_t n = 0;
  for (const auto& [path, kind] : watched) {
    if (why != nullptr) break;
    int fd = open(path.c_str(), O_PATH | O_CLOEXEC | (kind == VG_WATCH_DIR ? O_DIRECTORY : 0));
    if (fd < 0) {
      if (kind == VG_WATCH_FILE) continue;  // named by no file now: its directory is watched
      why = "a watched directory cannot be opened";
      break;
    }
    watch_fds_.push_back(fd);
    skel->bss->vg_watch_fds[n] = fd;
    skel->bss->vg_watch_kinds[n] = kind;
    ++n;
  }
  if (why == nullptr) {
    skel->bss->vg_watch_nfds = n;
    LIBBPF_OPTS(bpf_test_run_opts, run);
    if (bpf_prog_test_run_opts(bpf_program__fd(learn), &run) != 0)
      why = "vg_watch_learn did not run";
    else if (!skel->bss->vg_watch_ready)
      why = "vg_watch_learn could not read a watched descriptor";
  }
  if (why != nullptr) {
    LogDebug(absl::StrCat("open fast path off (every open's path is resolved): ", why));
    return;
  }
  LogDebug(absl::StrCat("open fast path: ", dirs.size(), " watched directories (", absl::StrJoin(dirs, ", "), "), ",
                        n - dirs.size(), " files of exact patterns"));
}

void BpfSensor::Detach() {
  // Releasing a perf-event tracepoint waits for an RCU grace period (~75 ms
  // here); released one after another, twenty of them would break the 2 s
  // stop budget. Released concurrently, they share grace periods. The
  // threads start at the Base ring, like the thread that creates them.
  std::vector<pthread_t> workers;
  workers.reserve(links_.size());
  const size_t reserved = detach_stacks_.size() / kDetachStackBytes;
  for (size_t i = 0; i < links_.size(); ++i) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    if (i < reserved)
      pthread_attr_setstack(&attr, detach_stacks_.data() + i * kDetachStackBytes, kDetachStackBytes);
    pthread_t t;
    auto release = [](void* link) -> void* {
      static_cast<Link*>(link)->reset();
      return nullptr;
    };
    if (pthread_create(&t, &attr, release, &links_[i]) == 0)
      workers.push_back(t);
    else
      links_[i].reset();
    pthread_attr_destroy(&attr);
  }
  for (pthread_t t : workers) pthread_join(t, nullptr);
  links_.clear();
  if (!detach_stacks_.empty()) munmap(detach_stacks_.data(), detach_stacks_.size());
  detach_stacks_ = {};
}

KernelCounters BpfSensor::ReadCounters() const {
  KernelCounters total;
  if (skel_ == nullptr || skel_->bss == nullptr) return total;
  for (const vg_cpu_counters& c : skel_->bss->vg_counters) {
    total.emitted += c.emitted;
    total.lost_reserve += c.lost_reserve;
    total.filtered_kernel += c.filtered_kernel;
    total.truncated += c.truncated;
    total.read_failed += c.read_failed;
    total.map_full += c.map_full;
    total.compat_undecoded += c.compat_undecoded;
  }
  return total;
}

absl::StatusOr<size_t> BpfSensor::MapEntryCount(const std::string& name) const {
  const bpf_map* map = skel_ ? bpf_object__find_map_by_name(skel_->obj, name.c_str()) : nullptr;
  if (map == nullptr) return absl::NotFoundError(absl::StrCat("no map ", name, " in the BPF object"));
  std::vector<uint8_t> key(bpf_map__key_size(map)), next(key.size());
  size_t count = 0;
  const void* prev = nullptr;
  while (bpf_map_get_next_key(bpf_map__fd(map), prev, next.data()) == 0) {
    ++count;
    key.swap(next);
    prev = key.data();
  }
  if (errno != ENOENT) return absl::InternalError(absl::StrCat("iterate map ", name, ": ", Errno(errno)));
  return count;
}

}  // namespace vigil::engine

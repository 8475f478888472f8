#include "vigil/engine/containers.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace vigil::engine {
namespace {

bool IsHexId(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// Calls `visit(path below root, stat)` for every directory of the tree under
// `root`, the root itself first ("/"); unreadable directories are skipped.
template <typename Visit>
void WalkCgroupTree(const std::string& root, Visit visit) {
  struct stat st {};
  if (stat(root.c_str(), &st) == 0) visit(std::string("/"), st);
  std::error_code ec;
  for (auto entry = std::filesystem::recursive_directory_iterator(
           root, std::filesystem::directory_options::skip_permission_denied, ec);
       !ec && entry != std::filesystem::recursive_directory_iterator(); entry.increment(ec)) {
    if (!entry->is_directory(ec)) continue;
    if (stat(entry->path().c_str(), &st) != 0) continue;
    visit(entry->path().string().substr(root.size()), st);
  }
}

// The path's components, without empty ones.
std::vector<std::string_view> Components(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

// "kubepods-besteffort-pod<uid, '_' for '-'>.slice" (systemd driver) or
// "pod<uid>" (cgroupfs driver): the pod's UID, or "".
std::string PodUid(std::string_view part) {
  if (part.ends_with(".slice")) part.remove_suffix(6);
  size_t at = part.rfind("-pod");
  if (at != std::string_view::npos)
    part.remove_prefix(at + 4);
  else if (part.starts_with("pod"))
    part.remove_prefix(3);
  else
    return "";
  std::string uid(part);
  std::replace(uid.begin(), uid.end(), '_', '-');
  if (uid.size() != 36) return "";  // 8-4-4-4-12
  for (size_t i = 0; i < uid.size(); ++i) {
    const char c = uid[i];
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return "";
  }
  return uid;
}

}  // namespace

ContainerCgroupInfo DescribeContainerCgroup(std::string_view path) {
  ContainerCgroupInfo info;
  info.id = ContainerIdFromCgroupPath(path);
  if (info.id.empty()) return info;
  const std::vector<std::string_view> parts = Components(path);
  // The innermost component that holds the id names the runtime by its prefix.
  size_t holder = parts.size();
  for (size_t i = parts.size(); i-- > 0;)
    if (ContainerIdFromCgroupPath(parts[i]) == info.id) {
      holder = i;
      break;
    }
  info.is_root = holder + 1 == parts.size();
  const std::string_view own = parts[holder];
  const std::string_view parent = holder > 0 ? parts[holder - 1] : std::string_view();
  if (own.starts_with("docker-") || parent == "docker")
    info.runtime = "docker";
  else if (own.starts_with("cri-containerd-"))
    info.runtime = "containerd";
  else if (own.starts_with("crio-"))
    info.runtime = "crio";
  else if (own.starts_with("libpod-"))
    info.runtime = "podman";
  else
    info.runtime = "unknown";  // a bare id (kubepods with the cgroupfs driver): containerd or CRI-O
  for (size_t i = 0; i < holder; ++i)
    if (std::string uid = PodUid(parts[i]); !uid.empty()) info.pod_uid = uid;
  return info;
}

namespace {

uint64_t ClockNs(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

// The start of the oldest process in the cgroup directory `dir` (its own
// processes, not those below it), since the epoch; 0 when it has none.
uint64_t OldestProcessStart(const std::string& dir) {
  std::ifstream procs(dir + "/cgroup.procs");
  const uint64_t boot_epoch_ns = ClockNs(CLOCK_REALTIME) - ClockNs(CLOCK_BOOTTIME);
  const long ticks_per_s = sysconf(_SC_CLK_TCK);
  uint64_t oldest = 0;
  std::string pid;
  for (int n = 0; n < 4096 && std::getline(procs, pid); ++n) {
    std::ifstream stat("/proc/" + pid + "/stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // Field 22 (starttime, clock ticks since boot) counts from after the
    // command name, which may hold spaces and parentheses.
    size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(line.substr(close + 2));
    std::string field;
    for (int i = 3; i < 22 && fields >> field;) ++i;
    uint64_t ticks = 0;
    if (!(fields >> ticks) || ticks_per_s <= 0) continue;
    const uint64_t start = boot_epoch_ns + ticks * (1000000000ULL / static_cast<uint64_t>(ticks_per_s));
    if (oldest == 0 || start < oldest) oldest = start;
  }
  return oldest;
}

}  // namespace

std::vector<FoundContainer> FindContainerCgroups(const std::string& cgroup_root) {
  std::vector<FoundContainer> found;
  if (cgroup_root.empty()) return found;
  WalkCgroupTree(cgroup_root, [&](const std::string& path, const struct stat& st) {
    if (!DescribeContainerCgroup(path).is_root) return;
    uint64_t start = OldestProcessStart(cgroup_root + path);
    if (start == 0)
      start = static_cast<uint64_t>(st.st_ctim.tv_sec) * 1000000000ULL +
              static_cast<uint64_t>(st.st_ctim.tv_nsec);
    found.push_back({.cgroup_id = static_cast<uint64_t>(st.st_ino), .path = path, .ctime_ns = start});
  });
  return found;
}

std::string ContainerIdFromCgroupPath(std::string_view path) {
  // The innermost path component that holds a 64-hex id, with or without a
  // runtime prefix and a ".scope" suffix.
  std::string_view best;
  size_t start = 0;
  while (start < path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part.ends_with(".scope")) part.remove_suffix(6);
    if (size_t dash = part.rfind('-'); dash != std::string_view::npos && part.size() - dash - 1 == 64)
      part.remove_prefix(dash + 1);
    if (IsHexId(part)) best = part;
    start = end + 1;
  }
  return std::string(best);
}

std::string Cgroup2MountPoint(std::istream& mountinfo) {
  std::string line;
  while (std::getline(mountinfo, line)) {
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

std::string Cgroup2MountPoint() {
  std::ifstream in("/proc/self/mountinfo");
  return Cgroup2MountPoint(in);
}

ContainerResolver::ContainerResolver(std::string cgroup_root, size_t capacity)
    : root_(std::move(cgroup_root)), capacity_(std::max<size_t>(capacity, 1)) {
  if (root_.empty()) root_ = Cgroup2MountPoint();
}

void ContainerResolver::Start() {
  if (!root_.empty() && !walker_.joinable()) walker_ = std::thread([this] { Walker(); });
}

ContainerResolver::~ContainerResolver() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (walker_.joinable()) walker_.join();
}

uint64_t ContainerResolver::walks() const {
  std::lock_guard<std::mutex> lock(mu_);
  return walks_;
}

// "0::/system.slice/docker-<id>.scope" (cgroup v2), checked to be `cgroup_id`:
// the process may have moved, or its pid been reused.
bool ContainerResolver::FromProc(uint64_t cgroup_id, uint32_t pid, std::string& id) const {
  if (pid == 0) return false;
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("0::")) continue;
    std::string path = line.substr(3);
    struct stat st {};
    if (stat((root_ + path).c_str(), &st) != 0 || st.st_ino != cgroup_id) return false;
    id = ContainerIdFromCgroupPath(path);
    return true;
  }
  return false;
}

void ContainerResolver::Put(uint64_t cgroup_id, const std::string& id) {
  while (cache_.size() >= capacity_ && !order_.empty()) {
    cache_.erase(order_.front());
    order_.pop_front();
  }
  cache_.emplace(cgroup_id, id);
  order_.push_back(cgroup_id);
}

void ContainerResolver::Note(uint64_t cgroup_id, const std::string& id) {
  if (!cache_.contains(cgroup_id)) Put(cgroup_id, id);
}

std::string ContainerResolver::IdOf(uint64_t cgroup_id, uint32_t pid) {
  if (auto it = cache_.find(cgroup_id); it != cache_.end()) return it->second;
  if (root_.empty()) return "";
  std::string id;
  if (FromProc(cgroup_id, pid, id)) {
    Put(cgroup_id, id);
    return id;
  }
  std::shared_ptr<const std::unordered_map<uint64_t, std::string>> index;
  {
    std::lock_guard<std::mutex> lock(mu_);
    index = index_;
    if (index == nullptr || !index->contains(cgroup_id)) walk_requested_ = true;
  }
  if (index != nullptr) {
    if (auto it = index->find(cgroup_id); it != index->end()) {
      Put(cgroup_id, it->second);
      return it->second;
    }
  }
  wake_.notify_one();
  return "";  // not cached: a later event finds it in the next walk's index
}

// Walks the tree when asked, at most once a second, and publishes an index of
// every cgroup's container id.
void ContainerResolver::Walker() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || walk_requested_; });
    if (stopping_) return;
    auto next = last_walk_ + std::chrono::seconds(1);
    if (wake_.wait_until(lock, next, [this] { return stopping_; })) return;
    walk_requested_ = false;
    lock.unlock();
    auto index = std::make_shared<std::unordered_map<uint64_t, std::string>>();
    WalkCgroupTree(root_, [&](const std::string& path, const struct stat& st) {
      index->emplace(st.st_ino, ContainerIdFromCgroupPath(path));
    });
    lock.lock();
    index_ = std::move(index);
    last_walk_ = std::chrono::steady_clock::now();
    ++walks_;
  }
}

}  // namespace vigil::engine

#include "vigil/engine/containers.h"

#include <sys/stat.h>

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

}  // namespace

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
    std::error_code ec;
    for (auto entry = std::filesystem::recursive_directory_iterator(
             root_, std::filesystem::directory_options::skip_permission_denied, ec);
         !ec && entry != std::filesystem::recursive_directory_iterator(); entry.increment(ec)) {
      if (!entry->is_directory(ec)) continue;
      struct stat st {};
      if (stat(entry->path().c_str(), &st) != 0) continue;
      index->emplace(st.st_ino, ContainerIdFromCgroupPath(entry->path().string().substr(root_.size())));
    }
    struct stat st {};
    if (stat(root_.c_str(), &st) == 0) index->emplace(st.st_ino, "");
    lock.lock();
    index_ = std::move(index);
    last_walk_ = std::chrono::steady_clock::now();
    ++walks_;
  }
}

}  // namespace vigil::engine

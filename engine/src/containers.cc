#include "vigil/engine/containers.h"

#include <sys/stat.h>

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

ContainerResolver::ContainerResolver(std::string cgroup_root) : root_(std::move(cgroup_root)) {
  if (root_.empty()) root_ = Cgroup2MountPoint();
}

const std::string& ContainerResolver::IdOf(uint64_t cgroup_id) {
  auto it = cache_.find(cgroup_id);
  if (it != cache_.end()) return it->second;
  std::string& id = cache_[cgroup_id];
  if (root_.empty()) return id;
  std::error_code ec;
  for (auto entry = std::filesystem::recursive_directory_iterator(
           root_, std::filesystem::directory_options::skip_permission_denied, ec);
       !ec && entry != std::filesystem::recursive_directory_iterator(); entry.increment(ec)) {
    if (!entry->is_directory(ec)) continue;
    struct stat st {};
    if (stat(entry->path().c_str(), &st) != 0 || st.st_ino != cgroup_id) continue;
    id = ContainerIdFromCgroupPath(entry->path().string().substr(root_.size()));
    break;
  }
  return id;
}

}  // namespace vigil::engine

#include "vigil/engine/containers.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <limits>
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

ContainerResolver::ContainerResolver(std::string cgroup_root) : root_(std::move(cgroup_root)) {
  if (!root_.empty()) return;
  std::ifstream mounts("/proc/self/mounts");
  std::string device, dir, type;
  while (mounts >> device >> dir >> type) {
    if (type == "cgroup2") {
      root_ = dir;
      break;
    }
    mounts.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
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

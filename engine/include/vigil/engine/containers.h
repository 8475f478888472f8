// Container ids from cgroup v2 paths (docker, containerd/CRI, CRI-O, podman),
// keyed by the cgroup id every record carries (the cgroup directory's inode).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace vigil::engine {

// The container id a cgroup path names, or "" for a host cgroup.
//   /system.slice/docker-<64 hex>.scope            docker (systemd driver)
//   /docker/<64 hex>                               docker (cgroupfs driver)
//   /kubepods.slice/.../cri-containerd-<hex>.scope containerd (CRI)
//   /kubepods/.../<64 hex>                         containerd/CRI (cgroupfs)
//   /machine.slice/libpod-<64 hex>.scope           podman
//   /kubepods.slice/.../crio-<64 hex>.scope        CRI-O
std::string ContainerIdFromCgroupPath(std::string_view path);

class ContainerResolver {
 public:
  // `cgroup_root`: the cgroup v2 mount; empty: found in /proc/self/mounts
  // (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts).
  explicit ContainerResolver(std::string cgroup_root = "");
  // Looks the cgroup up once (a walk of the cgroup tree), then from cache.
  const std::string& IdOf(uint64_t cgroup_id);

 private:
  std::string root_;
  std::unordered_map<uint64_t, std::string> cache_;
};

}  // namespace vigil::engine

// Container ids from cgroup v2 paths (docker, containerd/CRI, CRI-O, podman),
// keyed by the cgroup id every record carries (the cgroup directory's inode).
#pragma once

#include <cstdint>
#include <istream>
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

// Where the cgroup v2 hierarchy's root is mounted, from mountinfo text
// (/proc/self/mountinfo when none is given): /sys/fs/cgroup on unified
// systems, /sys/fs/cgroup/unified on hybrid ones; bind mounts of a cgroup
// below the root are skipped. "" when it is not mounted.
std::string Cgroup2MountPoint(std::istream& mountinfo);
std::string Cgroup2MountPoint();

class ContainerResolver {
 public:
  // `cgroup_root`: the cgroup v2 mount; empty: Cgroup2MountPoint().
  explicit ContainerResolver(std::string cgroup_root = "");
  // Looks the cgroup up once (a walk of the cgroup tree), then from cache.
  const std::string& IdOf(uint64_t cgroup_id);

 private:
  std::string root_;
  std::unordered_map<uint64_t, std::string> cache_;
};

}  // namespace vigil::engine

// Container ids from cgroup v2 paths (docker, containerd/CRI, CRI-O, podman),
// keyed by the cgroup id every record carries (the cgroup directory's inode).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <istream>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace vigil::engine {

// The container id a cgroup path names, or "" for a host cgroup.
//   /system.slice/docker-<64 hex>.scope            docker (systemd driver)
//   /docker/<64 hex>                               docker (cgroupfs driver)
//   /kubepods.slice/.../cri-containerd-<hex>.scope containerd (CRI)
//   /kubepods/.../<64 hex>                         containerd/CRI (cgroupfs)
//   /machine.slice/libpod-<64 hex>.scope           podman
//   /kubepods.slice/.../crio-<64 hex>.scope        CRI-O
std::string ContainerIdFromCgroupPath(std::string_view path);

// What a host sensor can tell of a container from its cgroup path alone.
struct ContainerCgroupInfo {
  std::string id;        // as ContainerIdFromCgroupPath; "" for a host cgroup
  std::string runtime;   // Tracee's names: docker, containerd, crio, podman; unknown
  std::string pod_uid;   // a Kubernetes pod's UID from its pod<uid> cgroup, or ""
  bool is_root = false;  // the path is the container's own cgroup, not one below it
};
ContainerCgroupInfo DescribeContainerCgroup(std::string_view path);

// A container's own cgroup, found by walking the cgroup v2 tree.
struct FoundContainer {
  uint64_t cgroup_id = 0;  // the directory's inode number
  std::string path;        // below the hierarchy's root, "/system.slice/docker-<id>.scope"
  // When the container started, since the epoch: its oldest process's start
  // (a cgroup directory has no creation time; its inode's times are those
  // of its first lookup), else the directory's ctime when it has none.
  uint64_t ctime_ns = 0;
};
// Every container root cgroup under `cgroup_root` (the cgroup v2 mount),
// in walk order.
std::vector<FoundContainer> FindContainerCgroups(const std::string& cgroup_root);

// Where the cgroup v2 hierarchy's root is mounted, from mountinfo text
// (/proc/self/mountinfo when none is given): /sys/fs/cgroup on unified
// systems, /sys/fs/cgroup/unified on hybrid ones; bind mounts of a cgroup
// below the root are skipped. "" when it is not mounted.
std::string Cgroup2MountPoint(std::istream& mountinfo);
std::string Cgroup2MountPoint();

// Resolves cgroup ids to container ids without walking the cgroup tree on the
// caller's path: a cached id, else the event's process's /proc/<pid>/cgroup
// (one read and one stat, checked against the id), else the index of the last
// walk of the tree, made on a background thread at start-up and again (at most
// once a second) after a lookup the index missed; until the next walk the id is
// "" and not cached. The cache holds at most `capacity` ids, the
// oldest evicted first.
class ContainerResolver {
 public:
  // `cgroup_root`: the cgroup v2 mount; empty: Cgroup2MountPoint().
  explicit ContainerResolver(std::string cgroup_root = "", size_t capacity = 4096);
  ~ContainerResolver();
  ContainerResolver(const ContainerResolver&) = delete;
  ContainerResolver& operator=(const ContainerResolver&) = delete;

  // Starts the walker thread (its first walk at once). Call it once the
  // process's capability sets are final, at the end of set-up: the thread
  // keeps the sets it starts with, and one made in the steady state would map
  // its stack then. Before it, an id missing from /proc stays "".
  void Start();

  // `pid`: a host pid in the cgroup (0: none known).
  std::string IdOf(uint64_t cgroup_id, uint32_t pid = 0);

  // What a container_create said: `cgroup_id` is container `id`'s cgroup, so
  // that its first processes' events (often gone from /proc by the time
  // they are read, and made before the next walk) carry the id.
  void Note(uint64_t cgroup_id, const std::string& id);

  size_t cached() const { return cache_.size(); }
  // The cgroup v2 mount it reads ("" when there is none).
  const std::string& root() const { return root_; }
  // Walks completed by the background thread (for tests).
  uint64_t walks() const;

 private:
  bool FromProc(uint64_t cgroup_id, uint32_t pid, std::string& id) const;
  void Put(uint64_t cgroup_id, const std::string& id);
  void Walker();

  std::string root_;
  size_t capacity_;
  std::unordered_map<uint64_t, std::string> cache_;
  std::deque<uint64_t> order_;  // insertion order, for eviction

  mutable std::mutex mu_;  // guards the fields below, shared with the walker
  std::condition_variable wake_;
  bool walk_requested_ = true, stopping_ = false;  // the first walk at start-up
  std::chrono::steady_clock::time_point last_walk_{};
  std::shared_ptr<const std::unordered_map<uint64_t, std::string>> index_;  // from the last walk
  uint64_t walks_ = 0;
  std::thread walker_;
};

}  // namespace vigil::engine

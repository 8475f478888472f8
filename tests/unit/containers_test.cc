#include "vigil/engine/containers.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

namespace vigil::engine {
namespace {

const std::string kId = "3f2c9d1e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e";

TEST(ContainerIdFromCgroupPath, RuntimePatterns) {
  EXPECT_EQ(ContainerIdFromCgroupPath("/system.slice/docker-" + kId + ".scope"), kId);
  EXPECT_EQ(ContainerIdFromCgroupPath("/docker/" + kId), kId);
  EXPECT_EQ(ContainerIdFromCgroupPath("/kubepods.slice/kubepods-burstable.slice/"
                                      "kubepods-burstable-pod1234.slice/cri-containerd-" +
                                      kId + ".scope"),
            kId);
  EXPECT_EQ(ContainerIdFromCgroupPath("/kubepods/besteffort/pod1234/" + kId), kId);
  EXPECT_EQ(ContainerIdFromCgroupPath("/machine.slice/libpod-" + kId + ".scope"), kId);
  EXPECT_EQ(ContainerIdFromCgroupPath("/kubepods.slice/crio-" + kId + ".scope"), kId);
}

TEST(ContainerIdFromCgroupPath, HostCgroupsHaveNone) {
  EXPECT_EQ(ContainerIdFromCgroupPath("/"), "");
  EXPECT_EQ(ContainerIdFromCgroupPath("/user.slice/user-1000.slice/session-2.scope"), "");
  EXPECT_EQ(ContainerIdFromCgroupPath("/system.slice/docker.service"), "");
  // 63 hex digits, or an upper-case one, is not a container id.
  EXPECT_EQ(ContainerIdFromCgroupPath("/docker/" + kId.substr(1)), "");
  EXPECT_EQ(ContainerIdFromCgroupPath("/docker/" + std::string(64, 'A')), "");
}

TEST(ContainerIdFromCgroupPath, InnermostIdWins) {
  std::string other(64, 'a');
  EXPECT_EQ(ContainerIdFromCgroupPath("/docker/" + other + "/docker/" + kId), kId);
}

TEST(Cgroup2MountPoint, TheHierarchysRootMountUnescaped) {
  std::istringstream hybrid(
      "25 1 0:23 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro\n"
      "30 25 0:27 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n"
      "31 25 0:28 /docker/abc /mnt/bound rw - cgroup2 cgroup2 rw\n"
      "32 25 0:28 / /sys/fs/cgroup/uni\\040fied rw,nosuid - cgroup2 cgroup2 rw\n");
  // The bind mount of a cgroup below the root is not the hierarchy's root.
  EXPECT_EQ(Cgroup2MountPoint(hybrid), "/sys/fs/cgroup/uni fied");
  std::istringstream none("22 1 0:21 / /proc rw - proc proc rw\n");
  EXPECT_EQ(Cgroup2MountPoint(none), "");
}

// A cgroup tree in a temporary directory (inode numbers stand for cgroup ids).
class ResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("vigil-containers-test-" + std::to_string(getpid()));
    std::filesystem::create_directories(root_ / "system.slice" / ("docker-" + kId + ".scope"));
    std::filesystem::create_directories(root_ / "user.slice");
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  uint64_t Ino(const std::filesystem::path& p) {
    struct stat st {};
    EXPECT_EQ(stat(p.c_str(), &st), 0) << p;
    return st.st_ino;
  }
  // The id, once the background walk has indexed it (the first lookups return "").
  // `walks`: how many walks index the cgroup.
  std::string Resolve(ContainerResolver& r, uint64_t cgroup_id, uint64_t walks = 1) {
    for (int i = 0; i < 300; ++i) {
      const bool indexed = r.walks() >= walks;
      std::string id = r.IdOf(cgroup_id);
      if (!id.empty() || indexed) return id;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return "timeout";
  }
  std::filesystem::path root_;
};

TEST_F(ResolverTest, TheWalkRunsInTheBackgroundNotInTheLookup) {
  ContainerResolver r(root_.string());
  r.Start();
  const uint64_t container = Ino(root_ / "system.slice" / ("docker-" + kId + ".scope"));
  EXPECT_EQ(Resolve(r, container), kId) << "indexed by the walk at start-up";
  EXPECT_EQ(r.IdOf(Ino(root_ / "user.slice")), "");
  EXPECT_EQ(r.cached(), 2u);
  // A cgroup made after that walk: the lookup returns at once, without walking,
  // and the id is not cached as a host cgroup's; the next walk finds it.
  const std::string later(64, 'b');
  std::filesystem::create_directories(root_ / "docker" / later);
  const uint64_t fresh = Ino(root_ / "docker" / later);
  const uint64_t walks = r.walks();
  EXPECT_EQ(r.IdOf(fresh), "");
  EXPECT_EQ(r.walks(), walks);
  EXPECT_EQ(r.cached(), 2u);
  EXPECT_EQ(Resolve(r, fresh, walks + 1), later);
}

TEST_F(ResolverTest, ProcCgroupOfTheEventsProcessResolvesWithoutAWalk) {
  // This process's own cgroup, under the real cgroup v2 mount.
  std::string mount = Cgroup2MountPoint();
  if (mount.empty()) GTEST_SKIP() << "no cgroup v2 mount";
  std::ifstream in("/proc/self/cgroup");
  std::string line, path;
  while (std::getline(in, line))
    if (line.starts_with("0::")) path = line.substr(3);
  ASSERT_FALSE(path.empty());
  ContainerResolver r(mount);
  const uint64_t own = Ino(mount + path);
  EXPECT_EQ(r.IdOf(own, static_cast<uint32_t>(getpid())), ContainerIdFromCgroupPath(path));
  EXPECT_EQ(r.cached(), 1u) << "resolved from /proc, so cached at once";
  EXPECT_EQ(r.walks(), 0u);
  // A pid that is not in the cgroup: the id is checked, not trusted.
  ContainerResolver other(mount);
  EXPECT_EQ(other.IdOf(own + 1000000007ull, static_cast<uint32_t>(getpid())), "");
  EXPECT_EQ(other.cached(), 0u);
}

TEST_F(ResolverTest, TheCacheIsBounded) {
  for (int i = 0; i < 20; ++i) std::filesystem::create_directories(root_ / ("c" + std::to_string(i)));
  ContainerResolver r(root_.string(), /*capacity=*/8);
  r.Start();
  ASSERT_EQ(Resolve(r, Ino(root_ / "system.slice" / ("docker-" + kId + ".scope"))), kId);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(Resolve(r, Ino(root_ / ("c" + std::to_string(i)))), "");
  EXPECT_LE(r.cached(), 8u);
  // Evicted ids resolve again from the walk's index.
  EXPECT_EQ(Resolve(r, Ino(root_ / "system.slice" / ("docker-" + kId + ".scope"))), kId);
}

TEST(DescribeContainerCgroup, RuntimePodAndRootFromThePath) {
  const std::string pod = "6d1a3f02-58c4-4f8e-9a3b-2c1d0e9f8a7b";
  std::string pod_systemd = pod;
  std::replace(pod_systemd.begin(), pod_systemd.end(), '-', '_');
  struct Case {
    std::string path, runtime, pod_uid;
    bool is_root;
  };
  for (const Case& c : std::vector<Case>{
           {"/system.slice/docker-" + kId + ".scope", "docker", "", true},
           {"/docker/" + kId, "docker", "", true},
           {"/docker/" + kId + "/init.scope", "docker", "", false},
           {"/machine.slice/libpod-" + kId + ".scope/container", "podman", "", false},
           {"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + pod_systemd +
                ".slice/cri-containerd-" + kId + ".scope",
            "containerd", pod, true},
           {"/kubepods.slice/kubepods-pod" + pod_systemd + ".slice/crio-" + kId + ".scope", "crio", pod,
            true},
           {"/kubepods/besteffort/pod" + pod + "/" + kId, "unknown", pod, true},
       }) {
    ContainerCgroupInfo info = DescribeContainerCgroup(c.path);
    EXPECT_EQ(info.id, kId) << c.path;
    EXPECT_EQ(info.runtime, c.runtime) << c.path;
    EXPECT_EQ(info.pod_uid, c.pod_uid) << c.path;
    EXPECT_EQ(info.is_root, c.is_root) << c.path;
  }
  ContainerCgroupInfo host = DescribeContainerCgroup("/user.slice/user-1000.slice");
  EXPECT_EQ(host.id, "");
  EXPECT_EQ(host.runtime, "");
  EXPECT_FALSE(host.is_root);
  // A pod slice whose UID is not one has none.
  EXPECT_EQ(DescribeContainerCgroup("/kubepods/podnotauid/" + kId).pod_uid, "");
}

TEST_F(ResolverTest, FindContainerCgroupsListsContainerRootsOnly) {
  const std::string other(64, 'c');
  std::filesystem::create_directories(root_ / "docker" / other / "init.scope");
  std::vector<FoundContainer> found = FindContainerCgroups(root_.string());
  std::map<std::string, FoundContainer> by_path;
  for (const FoundContainer& f : found) by_path[f.path] = f;
  ASSERT_EQ(by_path.size(), 2u);
  const std::string docker = "/system.slice/docker-" + kId + ".scope";
  ASSERT_TRUE(by_path.contains(docker));
  ASSERT_TRUE(by_path.contains("/docker/" + other));
  EXPECT_EQ(by_path[docker].cgroup_id, Ino(root_ / "system.slice" / ("docker-" + kId + ".scope")));
  // No cgroup.procs here: the directory's ctime stands in for the start.
  struct stat st {};
  ASSERT_EQ(stat((root_.string() + docker).c_str(), &st), 0);
  EXPECT_EQ(by_path[docker].ctime_ns, static_cast<uint64_t>(st.st_ctim.tv_sec) * 1000000000ULL +
                                          static_cast<uint64_t>(st.st_ctim.tv_nsec));
  // A cgroup.procs naming this process: its start time, which is before now.
  std::ofstream(root_.string() + docker + "/cgroup.procs") << getpid() << "\n";
  found = FindContainerCgroups(root_.string());
  for (const FoundContainer& f : found) by_path[f.path] = f;
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  const uint64_t now_ns = static_cast<uint64_t>(now.tv_sec) * 1000000000ULL + now.tv_nsec;
  EXPECT_LT(by_path[docker].ctime_ns, now_ns);
  EXPECT_GT(by_path[docker].ctime_ns, now_ns - 3600ULL * 1000000000ULL)
      << "this test started within the hour";
  EXPECT_TRUE(FindContainerCgroups("").empty());
}

TEST_F(ResolverTest, NotedCgroupsResolveWithoutAWalk) {
  ContainerResolver r(root_.string());
  const std::string fresh(64, 'd');
  r.Note(123456789, fresh);
  EXPECT_EQ(r.IdOf(123456789), fresh);
  EXPECT_EQ(r.walks(), 0u);
}

}  // namespace
}  // namespace vigil::engine

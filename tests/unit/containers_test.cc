#include "vigil/engine/containers.h"

#include <gtest/gtest.h>

#include <sstream>

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

}  // namespace
}  // namespace vigil::engine

// The cgroup_mkdir / cgroup_rmdir programs (bpf/containers.bpf.h): a child
// makes and removes runtime-style cgroups in the cgroup v2 hierarchy, through
// the tp_btf programs and through their raw_tp fallback.
#include "vigil/engine/containers.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "harness.h"
#include "vigil/engine/bpf_sensor.h"

namespace vigil::ktest {
namespace {

using engine::BpfSensor;
using events::Event;

uint64_t UintArgOf(const Event& e, std::string_view name) {
  const events::Arg* a = ArgOf(e, name);
  return a == nullptr ? 0 : static_cast<uint64_t>(a->Integer().value_or(0));
}

class ContainersKernelTest : public BpfTest, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    BpfTest::SetUp();
    if (IsSkipped()) return;
    root_ = engine::Cgroup2MountPoint();
    ASSERT_FALSE(root_.empty()) << "no cgroup v2 mount";
    parent_ = root_ + "/" + UniqueName("vigil-ktest-cgroups");
  }
  void TearDown() override {
    if (parent_.empty()) return;
    for (const std::string& d : {container_ + "/inner", container_, plain_, parent_})
      if (!d.empty()) rmdir(d.c_str());
  }
  std::string root_, parent_, container_, plain_;
};

TEST_P(ContainersKernelTest, ContainerCgroupsAreCreatedAndRemoved) {
  const bool raw = GetParam();
  BpfSensor::Options options;
  options.track_processes = false;
  if (raw) options.refused_programs = {"vg_btf_cg_cgroup_mkdir", "vg_btf_cg_cgroup_rmdir"};
  auto s = Sensor::Start({"cgroup_tracking", "container_create", "container_remove"}, options);
  ASSERT_NE(s, nullptr);
  int via_raw = 0;
  for (const std::string& line : s->bpf().attach_log())
    via_raw += line.find("via raw_tp") != std::string::npos;
  EXPECT_EQ(via_raw, raw ? 2 : 0);

  const std::string id = std::string(32, 'a') + std::string(32, '7');
  container_ = parent_ + "/docker-" + id + ".scope";
  plain_ = parent_ + "/plain.scope";
  pid_t child = Spawn([&] {
    if (mkdir(parent_.c_str(), 0755) != 0 || mkdir(plain_.c_str(), 0755) != 0) return 1;
    if (mkdir(container_.c_str(), 0755) != 0 || mkdir((container_ + "/inner").c_str(), 0755) != 0) return 2;
    if (rmdir((container_ + "/inner").c_str()) != 0 || rmdir(container_.c_str()) != 0) return 3;
    return 0;
  });
  ASSERT_EQ(WaitExit(child), 0);
  const std::string path = container_.substr(root_.size());
  const Event* created = s->Await("container_create", child);
  ASSERT_NE(created, nullptr);
  EXPECT_EQ(StrArg(*created, "cgroup_path"), path);
  EXPECT_NE(UintArgOf(*created, "cgroup_id"), 0u);
  EXPECT_EQ(created->cgroup_id, UintArgOf(*created, "cgroup_id"))
      << "the header names the container's cgroup";
  const Event* removed = s->Await("container_remove", child);
  ASSERT_NE(removed, nullptr);
  EXPECT_EQ(StrArg(*removed, "cgroup_path"), path);
  EXPECT_EQ(UintArgOf(*removed, "cgroup_id"), UintArgOf(*created, "cgroup_id"));
  s->DrainFor(200);
  // Neither the plain cgroup nor the one below the container is a container.
  EXPECT_EQ(s->Find("container_create", child).size(), 1u);
  EXPECT_EQ(s->Find("container_remove", child).size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Probes, ContainersKernelTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) { return p.param ? "RawTp" : "TpBtf"; });

}  // namespace
}  // namespace vigil::ktest

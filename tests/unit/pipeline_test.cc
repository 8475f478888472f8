// Unit tests of the user-space pipeline (engine/src/pipeline.cc): each stage
// driven with synthetic events, no kernel needed.
#include "vigil/engine/pipeline.h"

#include <fcntl.h>

#include <filesystem>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "synthetic_event.h"
#include "vigil/engine/json.h"
#include "vigil/events/format.h"
#include "vigil/events/registry.h"
#include "vigil/policies/compile.h"

namespace vigil::engine {
namespace {

using events::Event;

using test_support::Def;  // tests/support/synthetic_event.h

Event Make(const char* name, uint32_t pid, uint32_t ppid, const std::string& comm, uint64_t policies) {
  Event e;
  e.def = &Def(name);
  e.host_pid = e.host_tid = e.pid = e.tid = pid;
  e.host_ppid = e.ppid = ppid;
  e.comm = comm;
  e.start_time_ns = 1000 + pid;
  e.policies = policies;
  return e;
}

using test_support::AddArg;  // tests/support/synthetic_event.h

Event Exec(uint32_t pid, uint32_t ppid, const std::string& comm, const std::string& path, uint64_t policies) {
  Event e = Make("sched_process_exec", pid, ppid, comm, policies);
  AddArg(e, "pathname", path);
  return e;
}

Event Openat(uint32_t pid, uint32_t ppid, const std::string& comm, const std::string& path) {
  Event e = Make("openat", pid, ppid, comm, 1);
  AddArg(e, "dirfd", int64_t{-100});
  AddArg(e, "pathname", path);
  return e;
}

// A cgroup tree with no container in it: every id resolves to "".
class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("vigil-pipeline-test-" + std::to_string(getpid()));
    std::filesystem::create_directories(root_);
    containers_ = std::make_unique<ContainerResolver>(root_.string());
    Enricher::Options o;
    o.host_name = "sensor-host";
    o.own_uts_ns = 111;
    o.start_real_ns = 5000;
    enricher_ = std::make_unique<Enricher>(tree_, *containers_, o);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  policies::CompiledPolicies Compile(const std::vector<std::string>& events) {
    absl::StatusOr<policies::Policy> p = policies::CliPolicy(events, {}, events::Registry::Builtin());
    EXPECT_TRUE(p.ok()) << p.status();
    absl::StatusOr<policies::CompiledPolicies> c = policies::Compile({*p}, events::Registry::Builtin());
    EXPECT_TRUE(c.ok()) << c.status();
    return std::move(*c);
  }

  std::filesystem::path root_;
  ProcessTree tree_;
  std::unique_ptr<ContainerResolver> containers_;
  std::unique_ptr<Enricher> enricher_;
};

TEST_F(PipelineTest, EnricherKeepsTreeOnlyRecordsOutOfTheOutputButInTheTree) {
  Event exec = Exec(200, 100, "curl", "/usr/bin/curl", /*policies=*/0);
  EXPECT_FALSE(enricher_->Apply(exec));
  ASSERT_TRUE(tree_.Find(200));
  EXPECT_EQ(tree_.Find(200)->exe, "/usr/bin/curl");
}

TEST_F(PipelineTest, EnricherNamesExecutableParentHostAndContainer) {
  Event parent = Exec(100, 1, "bash", "/usr/bin/bash", 0);
  enricher_->Apply(parent);
  Event child = Exec(200, 100, "cat", "/usr/bin/cat", 0);
  enricher_->Apply(child);
  Event open = Openat(200, 100, "cat", "/etc/passwd");
  open.uts_ns = 111;
  ASSERT_TRUE(enricher_->Apply(open));
  EXPECT_EQ(open.executable, "/usr/bin/cat");
  EXPECT_EQ(open.parent_comm, "bash");
  EXPECT_EQ(open.host_name, "sensor-host");
  EXPECT_EQ(open.container_id, "");
}

TEST_F(PipelineTest, EnricherNamesOtherUtsNamespacesAfterTheirNodename) {
  Event exec = Exec(300, 1, "sh", "/bin/sh", 0);
  exec.uts_ns = 222;
  AddArg(exec, "nodename", std::string("web-1"));
  enricher_->Apply(exec);
  Event open = Openat(300, 1, "sh", "/etc/hosts");
  open.uts_ns = 222;
  ASSERT_TRUE(enricher_->Apply(open));
  EXPECT_EQ(open.host_name, "web-1");
  Event same_ns = Openat(301, 1, "sh", "/etc/hosts");
  same_ns.uts_ns = 111;
  ASSERT_TRUE(enricher_->Apply(same_ns));
  EXPECT_EQ(same_ns.host_name, "sensor-host");
}

TEST_F(PipelineTest, EnricherMarksExecutablesWrittenSinceStart) {
  for (auto [ctime, written] : {std::pair<uint64_t, bool>{4999, false}, {5000, true}, {9000, true}}) {
    Event exec = Exec(400, 1, "dropper", "/tmp/dropper", 1);
    AddArg(exec, "ctime", ctime);
    ASSERT_TRUE(enricher_->Apply(exec));
    const events::Arg* w = exec.FindArg("written_since_start");
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(std::get<bool>(w->value), written) << ctime;
  }
}

TEST_F(PipelineTest, PipelineEmitsWhatPoliciesMatchAndDropsTheRest) {
  policies::CompiledPolicies policies = Compile({"openat.data.pathname=/etc/*"});
  events::Decoder decoder(events::Registry::Builtin(), 0);
  std::vector<std::string> seen;
  Pipeline pipeline(decoder, *enricher_, policies, [&](const Event& e) {
    seen.push_back(std::get<std::string>(e.FindArg("pathname")->value));
  });
  Event hit = Openat(500, 1, "cat", "/etc/shadow");
  Event miss = Openat(500, 1, "cat", "/home/user/notes");
  Event tree_only = Exec(501, 500, "ls", "/usr/bin/ls", 0);
  pipeline.OnEvent(hit);
  pipeline.OnEvent(miss);
  pipeline.OnEvent(tree_only);
  EXPECT_THAT(seen, ::testing::ElementsAre("/etc/shadow"));
  EXPECT_EQ(pipeline.counters().emitted, 1u);
  EXPECT_EQ(pipeline.counters().tree_only, 1u);
  EXPECT_EQ(policies.total_drops(), 1u);
}

TEST_F(PipelineTest, AnEventTheMatcherDropsIsNeverRendered) {
  // flags and mode travel as integers; only the sink renders them.
  policies::CompiledPolicies policies = Compile({"openat.data.pathname=/etc/*"});
  events::Decoder decoder(events::Registry::Builtin(), 0);
  std::vector<std::string> lines;
  Pipeline pipeline(decoder, *enricher_, policies, [&](const Event& e) {
    AppendEventJson(lines.emplace_back(), e, policies.names());
  });
  auto open = [&](const std::string& path) {
    Event e = Openat(510, 1, "cat", path);
    AddArg(e, "flags", uint64_t{O_WRONLY | O_CREAT});
    AddArg(e, "mode", uint64_t{0644});
    return e;
  };
  Event miss = open("/home/user/notes");
  const uint64_t before = events::RenderCount();
  pipeline.OnEvent(miss);
  EXPECT_EQ(policies.total_drops(), 1u);
  EXPECT_EQ(events::RenderCount(), before) << "dropped in user space: nothing rendered";
  EXPECT_TRUE(lines.empty());

  Event hit = open("/etc/shadow");
  pipeline.OnEvent(hit);
  EXPECT_EQ(events::RenderCount(), before + 2) << "written: flags and mode rendered, once each";
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], ::testing::HasSubstr(R"({"name":"flags","type":"int","value":"O_WRONLY|O_CREAT"})"));
  EXPECT_THAT(lines[0], ::testing::HasSubstr(R"({"name":"mode","type":"mode_t","value":"0644"})"));
}

TEST_F(PipelineTest, PipelineStopsAtMaxEvents) {
  policies::CompiledPolicies policies = Compile({"openat"});
  events::Decoder decoder(events::Registry::Builtin(), 0);
  int emitted = 0;
  Pipeline pipeline(decoder, *enricher_, policies, [&](const Event&) { ++emitted; });
  pipeline.set_max_events(2);
  for (int i = 0; i < 5; ++i) {
    Event e = Openat(600, 1, "cat", "/etc/passwd");
    pipeline.OnEvent(e);
  }
  EXPECT_EQ(emitted, 2);
  EXPECT_TRUE(pipeline.reached_max());
}

TEST_F(PipelineTest, PipelineCountsUndecodableRecords) {
  policies::CompiledPolicies policies = Compile({"openat"});
  events::Decoder decoder(events::Registry::Builtin(), 0);
  int emitted = 0;
  Pipeline pipeline(decoder, *enricher_, policies, [&](const Event&) { ++emitted; });
  const uint8_t garbage[7] = {1, 2, 3, 4, 5, 6, 7};
  pipeline.OnRecord(garbage);
  EXPECT_EQ(emitted, 0);
  EXPECT_EQ(pipeline.counters().records, 1u);
  EXPECT_EQ(pipeline.counters().decode_errors, 1u);
  EXPECT_FALSE(pipeline.counters().last_decode_error.empty());
}

TEST(ProcessTreeForDetections, ArgvFollowsExecAndForkWithinItsBound) {
  ProcessTree tree;
  Event exec = Exec(100, 1, "bash", "/usr/bin/bash", 0);
  AddArg(exec, "argv", std::vector<std::string>{"bash", "-c", "id"});
  tree.Apply(exec);
  ASSERT_NE(tree.Argv(100), nullptr);
  EXPECT_THAT(*tree.Argv(100), ::testing::ElementsAre("bash", "-c", "id"));
  Event fork = Make("sched_process_fork", 100, 1, "bash", 0);
  AddArg(fork, "child_pid", int64_t{101});
  AddArg(fork, "start_time", uint64_t{5});
  tree.Apply(fork);
  ASSERT_NE(tree.Argv(101), nullptr);
  EXPECT_THAT(*tree.Argv(101), ::testing::ElementsAre("bash", "-c", "id"));
  Event big = Exec(101, 100, "python3", "/usr/bin/python3", 0);
  big.start_time_ns = 5;
  AddArg(big, "argv", std::vector<std::string>{"python3", std::string(10000, 'x'), "tail"});
  tree.Apply(big);
  ASSERT_NE(tree.Argv(101), nullptr);
  size_t bytes = 0;
  for (const std::string& a : *tree.Argv(101)) bytes += a.size();
  EXPECT_LE(bytes, ProcessTree::kMaxArgvBytes);
  EXPECT_EQ(tree.Argv(101)->front(), "python3");
  EXPECT_EQ(tree.Argv(999), nullptr);
}

TEST(ProcessTreeForDetections, AncestorAtWalksWithoutCopying) {
  ProcessTree tree;
  tree.Apply(Exec(10, 1, "sshd", "/usr/sbin/sshd", 0));
  tree.Apply(Exec(20, 10, "bash", "/usr/bin/bash", 0));
  tree.Apply(Exec(30, 20, "curl", "/usr/bin/curl", 0));
  uint32_t pid = 0;
  const std::string *comm = nullptr, *exe = nullptr;
  ASSERT_TRUE(tree.AncestorAt(30, 1, pid, comm, exe));
  EXPECT_EQ(pid, 20u);
  EXPECT_EQ(*comm, "bash");
  ASSERT_TRUE(tree.AncestorAt(30, 2, pid, comm, exe));
  EXPECT_EQ(*exe, "/usr/sbin/sshd");
  EXPECT_FALSE(tree.AncestorAt(30, 4, pid, comm, exe));  // pid 1 is not in the tree
  // A cycle (pid reuse seen out of order) ends the walk.
  tree.Apply(Exec(10, 30, "sshd", "/usr/sbin/sshd", 0));
  EXPECT_FALSE(tree.AncestorAt(30, 3, pid, comm, exe));
}

// A registry with openat, close and a detection consuming openat.
const events::Registry& DetectionRegistry() {
  static const events::Registry* registry = [] {
    std::vector<events::EventDef> defs = {*events::Registry::Builtin().Find("openat"),
                                          *events::Registry::Builtin().Find("close")};
    events::EventDef detection;
    detection.id = 6999;
    detection.name = "opens_shadow";
    detection.sets = {"signatures"};
    detection.dependencies = {"openat"};
    defs.push_back(detection);
    return new events::Registry(defs);
  }();
  return *registry;
}

// Emits one detection per openat of /etc/shadow, in the trigger's envelope.
class FakeDetections : public DetectStage {
 public:
  void OnEvent(const Event& input, uint64_t policies, const EmitDetection& emit) override {
    inputs.push_back(input.def->name);
    consumed_policies |= policies;
    const events::Arg* path = input.FindArg("pathname");
    if (path == nullptr || std::get<std::string>(path->value) != "/etc/shadow") return;
    Event d = input;
    d.def = DetectionRegistry().Find("opens_shadow");
    d.args.clear();
    d.triggered_by = std::make_shared<Event>(input);
    emit(d);
  }
  std::vector<std::string> inputs;
  uint64_t consumed_policies = 0;
};

TEST_F(PipelineTest, DetectionsConsumeInputsThatOnlyTheirPoliciesSelect) {
  // Policy 0 selects the detection only; policy 1 selects close. openat
  // reaches the detector but never the outputs.
  const events::Registry& registry = DetectionRegistry();
  std::vector<policies::Policy> ps;
  for (auto [name, event] : {std::pair{"detect", "opens_shadow"}, {"closes", "close"}}) {
    absl::StatusOr<policies::Policy> p = policies::CliPolicy({event}, {}, registry);
    ASSERT_TRUE(p.ok()) << p.status();
    p->name = name;
    ps.push_back(*p);
  }
  absl::StatusOr<policies::CompiledPolicies> policies = policies::Compile(ps, registry);
  ASSERT_TRUE(policies.ok()) << policies.status();
  const std::map<uint32_t, uint64_t> inputs = {{registry.Find("openat")->id, 0b01}};
  events::Decoder decoder(registry, 0);
  std::vector<std::pair<std::string, uint64_t>> seen;
  Pipeline pipeline(decoder, *enricher_, *policies,
                    [&](const Event& e) { seen.emplace_back(e.def->name, e.policies); });
  FakeDetections detections;
  pipeline.set_detect_stage(&detections, &inputs);

  auto open = [&](const std::string& path) {
    Event e;
    e.def = registry.Find("openat");
    e.host_pid = e.pid = 700;
    e.comm = "cat";
    e.policies = 0b11;  // as the kernel captured it for both policies' scopes
    AddArg(e, "pathname", path);
    return e;
  };
  Event benign = open("/etc/passwd");
  Event shadow = open("/etc/shadow");
  pipeline.OnEvent(benign);
  pipeline.OnEvent(shadow);
  Event close;
  close.def = registry.Find("close");
  close.policies = 0b11;
  pipeline.OnEvent(close);

  EXPECT_THAT(detections.inputs, ::testing::ElementsAre("openat", "openat"));
  EXPECT_EQ(detections.consumed_policies, 0b01u);
  EXPECT_THAT(seen, ::testing::ElementsAre(std::pair<std::string, uint64_t>{"opens_shadow", 0b01},
                                           std::pair<std::string, uint64_t>{"close", 0b10}));
  EXPECT_EQ(pipeline.counters().detections, 1u);
  EXPECT_EQ(pipeline.counters().emitted, 2u);
}

}  // namespace
}  // namespace vigil::engine

namespace vigil::engine {
namespace {

// container_create / container_remove / existing_container: Tracee's
// arguments from the cgroup path, and the policies' container scope matched
// against the container they are about (not the runtime that made it).
TEST_F(PipelineTest, ContainerEventsCarryTraceesArgumentsAndTheContainersScope) {
  absl::StatusOr<policies::Policy> p =
      policies::CliPolicy({"container_create,container_remove,existing_container"}, {"container=new"},
                          events::Registry::Builtin());
  ASSERT_TRUE(p.ok()) << p.status();
  absl::StatusOr<policies::CompiledPolicies> policies = policies::Compile({*p}, events::Registry::Builtin());
  ASSERT_TRUE(policies.ok()) << policies.status();
  events::Decoder decoder(events::Registry::Builtin(), 0);
  std::vector<Event> seen;
  Pipeline pipeline(decoder, *enricher_, *policies, [&](const Event& e) { seen.push_back(e); });
  ContainerEvents stage(containers_.get());
  pipeline.set_container_events(&stage);

  const std::string old_id(64, 'a'), new_id(64, 'b');
  const std::string old_path = "/system.slice/docker-" + old_id + ".scope";
  const std::string new_path = "/system.slice/docker-" + new_id + ".scope";
  std::vector<Event> existing = stage.Existing({{.cgroup_id = 41, .path = old_path, .ctime_ns = 7}}, 1, 9000);
  ASSERT_EQ(existing.size(), 1u);
  pipeline.OnEvent(existing[0]);  // existing, so not container=new
  auto lifecycle = [&](const char* name, uint64_t cgroup_id, const std::string& path) {
    Event e = Make(name, 700, 1, "runc", 1);
    e.timestamp_ns = 12345;
    AddArg(e, "cgroup_id", cgroup_id);
    AddArg(e, "cgroup_path", path);
    return e;
  };
  Event create = lifecycle("container_create", 42, new_path);
  Event create_existing = lifecycle("container_create", 41, old_path);  // made between attach and walk
  Event remove_new = lifecycle("container_remove", 42, new_path);
  Event remove_old = lifecycle("container_remove", 41, old_path);
  for (Event* e : {&create, &create_existing, &remove_new, &remove_old}) pipeline.OnEvent(*e);

  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].def->name, "container_create");
  EXPECT_EQ(seen[0].container_id, new_id);
  EXPECT_EQ(seen[0].comm, "runc");
  std::vector<std::string> names;
  for (const events::Arg& a : seen[0].args) names.push_back(a.def->name);
  EXPECT_THAT(names,
              ::testing::ElementsAre("runtime", "container_id", "ctime", "container_image",
                                     "container_image_digest", "container_name", "pod_name", "pod_namespace",
                                     "pod_uid", "pod_sandbox", "cgroup_id", "cgroup_path"));
  EXPECT_EQ(std::get<std::string>(seen[0].FindArg("runtime")->value), "docker");
  EXPECT_EQ(std::get<std::string>(seen[0].FindArg("container_id")->value), new_id);
  EXPECT_EQ(std::get<uint64_t>(seen[0].FindArg("ctime")->value), 12345u);
  EXPECT_EQ(std::get<std::string>(seen[0].FindArg("container_image")->value), "");
  EXPECT_EQ(std::get<bool>(seen[0].FindArg("pod_sandbox")->value), false);
  EXPECT_EQ(std::get<uint64_t>(seen[0].FindArg("cgroup_id")->value), 42u);
  EXPECT_EQ(seen[1].def->name, "container_remove");
  EXPECT_EQ(seen[1].container_id, new_id);
  EXPECT_EQ(seen[1].args.size(), 4u);
  // The new container's later events carry its id without a walk.
  EXPECT_EQ(containers_->IdOf(42), new_id);
  EXPECT_EQ(pipeline.counters().container_scope, 3u);
}

TEST(ContainerEventsTest, ExistingContainersAreRememberedEvenWhenUnselected) {
  ContainerEvents stage;
  std::vector<Event> none =
      stage.Existing({{.cgroup_id = 5, .path = "/docker/" + std::string(64, 'e')}}, 0, 1);
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(stage.existing(), 1u);
  std::vector<Event> one =
      stage.Existing({{.cgroup_id = 6, .path = "/docker/" + std::string(64, 'f'), .ctime_ns = 3}}, 4, 1);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].def->name, "existing_container");
  EXPECT_EQ(one[0].policies, 4u);
  EXPECT_EQ(one[0].cgroup_id, 6u);
  EXPECT_EQ(one[0].host_pid, 0u);
}

}  // namespace
}  // namespace vigil::engine

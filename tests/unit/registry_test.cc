// events/ registry: the built-in catalogue is consistent (ids, names, args,
// probes that name real programs of the embedded BPF object, dependencies),
// and -e selection expands names, sets, prefixes and exclusions.
#include "vigil/events/registry.h"

#include <bpf/libbpf.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "unit_matchers.h"
#include "vigil/events/event_ids.h"

// The record layout first: the generated skeleton uses its structs.
#include "vigil_event.h"
//
#include "vigil.skel.h"

namespace vigil::events {
namespace {

const Registry& Builtin() { return Registry::Builtin(); }

// Program name -> ELF section, read from the object embedded in the binary.
// Opening (not loading) needs no privileges and no kernel support.
std::map<std::string, std::string> EmbeddedPrograms() {
  size_t size = 0;
  const void* bytes = vigil_bpf::elf_bytes(&size);
  EXPECT_NE(bytes, nullptr);
  EXPECT_GT(size, 0u);
  std::map<std::string, std::string> out;
  bpf_object* obj = bpf_object__open_mem(bytes, size, nullptr);
  EXPECT_NE(obj, nullptr) << "bpf_object__open_mem on the embedded object failed";
  if (obj == nullptr) return out;
  bpf_program* prog;
  bpf_object__for_each_program(prog, obj) { out[bpf_program__name(prog)] = bpf_program__section_name(prog); }
  bpf_object__close(obj);
  return out;
}

// ------------------------------------------------------------ consistency

TEST(BuiltinRegistry, IdsAndNamesAreUnique) {
  std::set<uint32_t> ids;
  std::set<std::string> names;
  for (const EventDef& d : Builtin().all()) {
    EXPECT_TRUE(ids.insert(d.id).second) << "duplicate id " << d.id << " (" << d.name << ")";
    EXPECT_TRUE(names.insert(d.name).second) << "duplicate name " << d.name;
    EXPECT_FALSE(d.name.empty()) << "event " << d.id << " has no name";
    EXPECT_LT(d.id, static_cast<uint32_t>(VG_MAX_EVENTS)) << d.name << ": id beyond the kernel's event table";
    EXPECT_EQ(Builtin().Find(d.name), &d) << d.name;
    EXPECT_EQ(Builtin().FindId(d.id), &d) << d.name;
  }
}

TEST(BuiltinRegistry, HasEveryX8664SyscallAndTheLifecycleEvents) {
  int syscalls = 0;
  for (const EventDef& d : Builtin().all()) syscalls += d.is_syscall();
  EXPECT_GE(syscalls, 330);
  for (const char* name :
       {"execve", "execveat", "openat", "openat2", "read", "write", "close", "connect", "clone", "clone3",
        "exit_group", "ptrace", "bpf", "sched_process_exec", "sched_process_fork", "sched_process_exit"})
    EXPECT_NE(Builtin().Find(name), nullptr) << name;
}

TEST(BuiltinRegistry, SyscallEventIdsAreTheirX8664Numbers) {
  const std::map<std::string, int> known = {
      {"read", 0},    {"write", 1},        {"open", 2},     {"close", 3},      {"connect", 42}, {"clone", 56},
      {"execve", 59}, {"exit_group", 231}, {"openat", 257}, {"execveat", 322}, {"clone3", 435}};
  for (const auto& [name, nr] : known) {
    const EventDef* d = Builtin().Find(name);
    ASSERT_NE(d, nullptr) << name;
    EXPECT_EQ(d->syscall_nr, nr) << name;
    EXPECT_EQ(d->id, static_cast<uint32_t>(nr)) << name << ": eventId must be the syscall number";
  }
  for (const EventDef& d : Builtin().all()) {
    if (!d.is_syscall()) continue;
    EXPECT_EQ(d.id, static_cast<uint32_t>(d.syscall_nr)) << d.name;
    EXPECT_LT(d.syscall_nr, VG_MAX_SYSCALLS) << d.name;
    EXPECT_THAT(d.sets, Contains("syscalls")) << d.name;
  }
}

TEST(BuiltinRegistry, LifecycleEventsUseTraceeIds) {
  EXPECT_EQ(Builtin().Find("sched_process_fork")->id, kSchedProcessFork);
  EXPECT_EQ(Builtin().Find("sched_process_exec")->id, kSchedProcessExec);
  EXPECT_EQ(Builtin().Find("sched_process_exit")->id, kSchedProcessExit);
  EXPECT_EQ(kSchedProcessFork, 1002u);
  EXPECT_EQ(kSchedProcessExec, 1003u);
  EXPECT_EQ(kSchedProcessExit, 1004u);
  for (const char* name : {"sched_process_fork", "sched_process_exec", "sched_process_exit"}) {
    const EventDef* d = Builtin().Find(name);
    EXPECT_FALSE(d->is_syscall()) << name;
    EXPECT_THAT(d->sets, IsSupersetOf({"default", "proc"})) << name;
  }
}

std::vector<std::pair<std::string, std::string>> NamesAndTypes(const EventDef& d) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const ArgDef& a : d.args) out.emplace_back(a.name, a.type);
  return out;
}

TEST(BuiltinRegistry, OpenatArgsAreTheOnesTheJsonSpecShows) {
  const EventDef* d = Builtin().Find("openat");
  ASSERT_NE(d, nullptr);
  using P = std::pair<std::string, std::string>;
  EXPECT_THAT(NamesAndTypes(*d), ElementsAre(P{"dirfd", "int"}, P{"pathname", "const char*"},
                                             P{"flags", "int"}, P{"mode", "mode_t"}));
  EXPECT_EQ(d->args[0].format, ArgFormat::kDirfd);
  EXPECT_EQ(d->args[1].format, ArgFormat::kString);
  EXPECT_EQ(d->args[1].capture, Capture::kString) << "the kernel must copy the path string";
  EXPECT_EQ(d->args[2].format, ArgFormat::kOpenFlags);
  EXPECT_EQ(d->args[3].format, ArgFormat::kMode);
  EXPECT_FALSE(d->emit_at_entry) << "openat is emitted at exit, with its return value";
}

TEST(BuiltinRegistry, ExecveCapturesPathnameAndArgv) {
  const EventDef* d = Builtin().Find("execve");
  ASSERT_NE(d, nullptr);
  ASSERT_EQ(d->args.size(), 3u);
  EXPECT_EQ(d->args[0].name, "pathname");
  EXPECT_EQ(d->args[0].capture, Capture::kString);
  EXPECT_EQ(d->args[1].name, "argv");
  EXPECT_EQ(d->args[1].capture, Capture::kStringArray);
  EXPECT_EQ(d->args[1].format, ArgFormat::kStringArray);
  EXPECT_EQ(d->args[2].name, "envp");
  // A successful execve never returns to its caller: it is emitted from the
  // exec hook (with the kernel's copy of its arguments), a failed one at exit.
  EXPECT_TRUE(d->deferred_exec);
  EXPECT_FALSE(d->emit_at_entry);
  EXPECT_NE(std::find(d->dependencies.begin(), d->dependencies.end(), "sched_process_exec"),
            d->dependencies.end());
}

TEST(BuiltinRegistry, LifecycleArgsMatchTheKernelSideIndexes) {
  // bpf/vigil.bpf.c writes these by index; a reordering here would mislabel values.
  auto names = [](const char* event) {
    std::vector<std::string> out;
    for (const ArgDef& a : Builtin().Find(event)->args) out.push_back(a.name);
    return out;
  };
  EXPECT_THAT(
      names("sched_process_exec"),
      ElementsAre("cmdpath", "pathname", "dev", "inode", "ctime", "inode_mode", "interpreter_pathname",
                  "argv", "argc", "stdin_type", "written_since_start", "env", "nodename"));
  EXPECT_THAT(names("sched_process_fork"),
              ElementsAre("parent_tid", "parent_pid", "child_tid", "child_pid", "child_ns_tid",
                          "child_ns_pid", "start_time", "nodename"));
  EXPECT_THAT(names("sched_process_exit"), ElementsAre("exit_code", "signal", "process_group_exit"));
  EXPECT_EQ(Builtin().Find("sched_process_exec")->args[7].format, ArgFormat::kArgvBlob);
  EXPECT_EQ(Builtin().Find("sched_process_exit")->args[1].format, ArgFormat::kSignal);
}

TEST(BuiltinRegistry, EveryArgumentHasANameAndAType) {
  for (const EventDef& d : Builtin().all()) {
    EXPECT_LT(d.args.size(), 256u) << d.name << ": a record's argument index is one byte";
    if (d.is_syscall()) {
      EXPECT_LE(d.args.size(), 6u) << d.name;
    }
    std::set<std::string> seen;
    for (const ArgDef& a : d.args) {
      EXPECT_FALSE(a.name.empty()) << d.name;
      EXPECT_FALSE(a.type.empty()) << d.name << "." << a.name;
      EXPECT_TRUE(seen.insert(a.name).second) << d.name << ": duplicate argument " << a.name;
      if (!d.is_syscall()) continue;
      // The kernel side captures what the registry asks for; a string capture
      // of a non-pointer would read user memory at a random address.
      if (a.capture == Capture::kString || a.capture == Capture::kStringArray ||
          a.capture == Capture::kSockaddr) {
        EXPECT_NE(a.type.find('*'), std::string::npos) << d.name << "." << a.name << " (" << a.type << ")";
      }
    }
  }
}

TEST(BuiltinRegistry, EveryProbeNamesProgramsOfTheEmbeddedObjectWithTheRightSection) {
  const std::map<std::string, std::string> programs = EmbeddedPrograms();
  ASSERT_FALSE(programs.empty());
  for (const EventDef& d : Builtin().all()) {
    // Events that share programs (the DNS packet events) get them through an
    // internal event they depend on: a program is attached once.
    bool through_internal = d.probes.empty() && !d.dependencies.empty();
    for (const std::string& dep : d.dependencies) {
      const EventDef* owner = Builtin().Find(dep);
      through_internal = through_internal && owner != nullptr && owner->internal && !owner->probes.empty();
    }
    EXPECT_TRUE(!d.probes.empty() || through_internal) << d.name << " has no probe";
    for (const ProbeDef& p : d.probes) {
      EXPECT_FALSE(p.alternatives.empty()) << d.name << ": probe " << p.name << " has no alternative";
      for (const ProbeAlternative& alt : p.alternatives) {
        EXPECT_FALSE(alt.programs.empty()) << d.name << ": " << p.name;
        EXPECT_FALSE(alt.target.empty()) << d.name << ": " << p.name;
        for (const std::string& prog : alt.programs) {
          auto it = programs.find(prog);
          if (it == programs.end()) {
            ADD_FAILURE() << d.name << ": probe " << p.name << " names program " << prog
                          << ", which the embedded BPF object does not have";
            continue;
          }
          const std::string& section = it->second;
          switch (alt.kind) {
            case AttachKind::kTpBtf:
              EXPECT_EQ(section, "tp_btf/" + alt.target) << d.name << ": " << prog;
              break;
            case AttachKind::kRawTracepoint:
              EXPECT_EQ(section, "raw_tp/" + alt.target) << d.name << ": " << prog;
              break;
            case AttachKind::kTracepoint:
            case AttachKind::kSyscallTracepoints:
              EXPECT_TRUE(section == "tracepoint" || section.starts_with("tracepoint/") ||
                          section.starts_with("tp/"))
                  << d.name << ": " << prog << " is in section " << section;
              break;
            case AttachKind::kRawSyscalls:
              EXPECT_TRUE(section == "raw_tp/sys_enter" || section == "raw_tp/sys_exit")
                  << d.name << ": " << prog << " is in section " << section;
              break;
          }
        }
      }
    }
  }
}

TEST(BuiltinRegistry, SyscallTracepointProgramReadsNoMoreArgumentsThanTheTracepointHas) {
  // The kernel refuses to attach a program that reads past a tracepoint's
  // record: sys_enter_X needs the entry program for exactly X's arg count.
  for (const EventDef& d : Builtin().all()) {
    if (!d.is_syscall()) continue;
    for (const ProbeDef& p : d.probes)
      for (const ProbeAlternative& alt : p.alternatives) {
        if (alt.kind != AttachKind::kSyscallTracepoints) continue;
        EXPECT_EQ(alt.target, d.name);
        ASSERT_EQ(alt.programs.size(), 2u) << d.name;
        EXPECT_EQ(alt.programs[0], "vg_tp_sys_enter" + std::to_string(d.args.size())) << d.name;
        EXPECT_EQ(alt.programs[1], "vg_tp_sys_exit") << d.name;
      }
    // Every syscall can fall back to the dispatcher, which needs no tracefs.
    ASSERT_FALSE(d.probes.empty());
    EXPECT_EQ(d.probes.front().alternatives.back().kind, AttachKind::kRawSyscalls) << d.name;
  }
}

TEST(BuiltinRegistry, LifecycleEventsPreferTpBtfAndFallBackToRawTracepoints) {
  for (const char* name : {"sched_process_fork", "sched_process_exec", "sched_process_exit"}) {
    const EventDef* d = Builtin().Find(name);
    ASSERT_EQ(d->probes.size(), 1u) << name;
    const ProbeDef& p = d->probes[0];
    EXPECT_TRUE(p.required);
    ASSERT_EQ(p.alternatives.size(), 2u) << name;
    EXPECT_EQ(p.alternatives[0].kind, AttachKind::kTpBtf);
    EXPECT_EQ(p.alternatives[1].kind, AttachKind::kRawTracepoint);
    EXPECT_EQ(p.alternatives[0].target, name);
    EXPECT_EQ(p.alternatives[1].target, name);
  }
}

TEST(BuiltinRegistry, EveryDependencyResolvesAndNoneIsCircular) {
  for (const EventDef& d : Builtin().all()) {
    for (const std::string& dep : d.dependencies) {
      EXPECT_NE(Builtin().Find(dep), nullptr) << d.name << " depends on unknown event " << dep;
      EXPECT_NE(dep, d.name) << d.name << " depends on itself";
    }
    // An event is never its own (transitive) dependent.
    EXPECT_THAT(Builtin().Dependents(d.id, Builtin().WithDependencies({d.id})), Not(Contains(d.id)));
  }
}

TEST(BuiltinRegistry, DefaultSetIsNotEmpty) {
  absl::StatusOr<std::set<uint32_t>> ids = Builtin().Expand({"tag=default"});
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_THAT(*ids, IsSupersetOf({kSchedProcessExec, kSchedProcessExit, kSchedProcessFork}));
}

// ------------------------------------------------------------ Expand (-e)

std::set<uint32_t> Ids(std::initializer_list<const char*> names) {
  std::set<uint32_t> out;
  for (const char* n : names) {
    const EventDef* d = Registry::Builtin().Find(n);
    EXPECT_NE(d, nullptr) << n;
    if (d) out.insert(d->id);
  }
  return out;
}

std::set<std::string> Names(const std::set<uint32_t>& ids) {
  std::set<std::string> out;
  for (uint32_t id : ids) out.insert(Registry::Builtin().FindId(id)->name);
  return out;
}

TEST(Expand, Names) {
  absl::StatusOr<std::set<uint32_t>> ids = Builtin().Expand({"execve", "openat", "sched_process_exit"});
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_EQ(*ids, Ids({"execve", "openat", "sched_process_exit"}));
}

TEST(Expand, EmptyItemsAreIgnoredAndDuplicatesCollapse) {
  absl::StatusOr<std::set<uint32_t>> ids = Builtin().Expand({"", "openat", "openat"});
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_EQ(*ids, Ids({"openat"}));
}

TEST(Expand, TagSelectsEveryEventOfTheSet) {
  absl::StatusOr<std::set<uint32_t>> ids = Builtin().Expand({"tag=net"});
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_THAT(Names(*ids), IsSupersetOf({"socket", "connect", "bind", "listen", "accept4"}));
  EXPECT_THAT(Names(*ids), Not(Contains("openat")));
  for (uint32_t id : *ids) EXPECT_THAT(Builtin().FindId(id)->sets, Contains("net"));

  absl::StatusOr<std::set<uint32_t>> all = Builtin().Expand({"tag=syscalls"});
  ASSERT_TRUE(all.ok());
  EXPECT_GE(all->size(), 330u);
  EXPECT_THAT(*all, Not(Contains(kSchedProcessExec)));
}

TEST(Expand, PrefixSelectsEveryNameStartingWithIt) {
  absl::StatusOr<std::set<uint32_t>> ids = Builtin().Expand({"open*"});
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_THAT(Names(*ids), IsSupersetOf({"open", "openat", "openat2", "open_by_handle_at", "open_tree"}));
  for (const std::string& n : Names(*ids)) EXPECT_TRUE(n.starts_with("open")) << n;
  absl::StatusOr<std::set<uint32_t>> sched = Builtin().Expand({"sched_process_*"});
  ASSERT_TRUE(sched.ok());
  EXPECT_EQ(*sched, Ids({"sched_process_exec", "sched_process_exit", "sched_process_fork"}));
}

TEST(Expand, ExclusionAppliesLastWhateverItsPosition) {
  absl::StatusOr<std::set<uint32_t>> ids = Builtin().Expand({"open*", "-open_tree"});
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_THAT(Names(*ids), Contains("openat"));
  EXPECT_THAT(Names(*ids), Not(Contains("open_tree")));

  ids = Builtin().Expand({"-openat", "open*"});
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_THAT(Names(*ids), Not(Contains("openat")));
  EXPECT_THAT(Names(*ids), Contains("openat2"));

  ids = Builtin().Expand({"tag=proc_life", "-tag=proc_life"});
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_TRUE(ids->empty());

  ids = Builtin().Expand({"tag=net", "-connect*"});
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_THAT(Names(*ids), Not(Contains("connect")));
  EXPECT_THAT(Names(*ids), Contains("bind"));
}

TEST(Expand, UnknownNameIsAnErrorNamingIt) {
  absl::StatusOr<std::set<uint32_t>> ids = Builtin().Expand({"openat", "no_such_event"});
  ASSERT_FALSE(ids.ok());
  EXPECT_EQ(ids.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(ids.status()), HasSubstr("no_such_event"));

  ids = Builtin().Expand({"-no_such_event"});
  ASSERT_FALSE(ids.ok()) << "excluding an unknown name is a typo the user should hear about";
  EXPECT_THAT(Message(ids.status()), HasSubstr("no_such_event"));
}

TEST(Expand, UnknownSetIsAnErrorNamingIt) {
  absl::StatusOr<std::set<uint32_t>> ids = Builtin().Expand({"tag=no_such_set"});
  ASSERT_FALSE(ids.ok());
  EXPECT_EQ(ids.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(ids.status()), HasSubstr("no_such_set"));
  EXPECT_THAT(Message(ids.status()), HasSubstr("net")) << "the message should list the known sets";
}

TEST(Expand, PrefixMatchingNothingIsAnError) {
  absl::StatusOr<std::set<uint32_t>> ids = Builtin().Expand({"zzz_nothing*"});
  ASSERT_FALSE(ids.ok());
  EXPECT_THAT(Message(ids.status()), HasSubstr("zzz_nothing*"));
}

// ------------------------------------------------------------ a fake registry

EventDef Fake(uint32_t id, std::string name, std::vector<std::string> deps, caps::CapSet base = {},
              caps::CapSet ebpf = {}, bool internal = false) {
  EventDef d;
  d.id = id;
  d.name = std::move(name);
  d.sets = {"fake"};
  d.dependencies = std::move(deps);
  d.caps.base = base;
  d.caps.ebpf = ebpf;
  d.internal = internal;
  return d;
}

Registry FakeRegistry() {
  using caps::Cap;
  std::vector<EventDef> defs;
  defs.push_back(Fake(1, "top", {"middle"}, {Cap::kSysPtrace}));
  defs.push_back(Fake(2, "middle", {"bottom"}, {}, {Cap::kNetAdmin}));
  defs.push_back(Fake(3, "bottom", {}, {Cap::kSyslog}));
  defs.push_back(Fake(4, "alone", {}));
  defs.push_back(Fake(5, "hidden", {}, {}, {}, /*internal=*/true));
  defs.push_back(Fake(6, "uses_hidden", {"hidden"}));
  return Registry(std::move(defs));
}

TEST(Dependencies, ClosureIsTransitive) {
  Registry r = FakeRegistry();
  EXPECT_EQ(r.WithDependencies({1}), (std::set<uint32_t>{1, 2, 3}));
  EXPECT_EQ(r.WithDependencies({2, 4}), (std::set<uint32_t>{2, 3, 4}));
  EXPECT_EQ(r.WithDependencies({6}), (std::set<uint32_t>{5, 6}));
}

TEST(Dependencies, DependentsAreTheEventsToCancelWithIt) {
  Registry r = FakeRegistry();
  std::set<uint32_t> all = {1, 2, 3, 4, 5, 6};
  EXPECT_EQ(r.Dependents(3, all), (std::set<uint32_t>{1, 2}));
  EXPECT_EQ(r.Dependents(2, all), (std::set<uint32_t>{1}));
  EXPECT_TRUE(r.Dependents(1, all).empty());
  EXPECT_TRUE(r.Dependents(4, all).empty());
  EXPECT_EQ(r.Dependents(3, {2, 3, 4}), (std::set<uint32_t>{2})) << "only among the given events";
}

TEST(Dependencies, CapabilitiesIncludeThoseOfDependencies) {
  using caps::Cap;
  Registry r = FakeRegistry();
  EventCaps top = r.CapsClosure(1);
  EXPECT_EQ(top.base, (caps::CapSet{Cap::kSysPtrace, Cap::kSyslog}));
  EXPECT_EQ(top.ebpf, (caps::CapSet{Cap::kNetAdmin}));
  EventCaps bottom = r.CapsClosure(3);
  EXPECT_EQ(bottom.base, (caps::CapSet{Cap::kSyslog}));
  EXPECT_TRUE(bottom.ebpf.empty());
}

TEST(Dependencies, InternalEventsAreNotSelectableButAreStillDependencies) {
  Registry r = FakeRegistry();
  EXPECT_FALSE(r.Expand({"hidden"}).ok());
  absl::StatusOr<std::set<uint32_t>> fake = r.Expand({"tag=fake"});
  ASSERT_TRUE(fake.ok());
  EXPECT_THAT(*fake, Not(Contains(5u)));
  absl::StatusOr<std::set<uint32_t>> prefix = r.Expand({"*"});
  ASSERT_TRUE(prefix.ok());
  EXPECT_EQ(*prefix, (std::set<uint32_t>{1, 2, 3, 4, 6}));
}

}  // namespace
}  // namespace vigil::events

namespace vigil::events {
namespace {

// io_uring operations (bpf/io_uring.bpf.h) reach their twins through two
// internal events whose probes are optional: a kernel without the
// tracepoints runs the twins without them instead of cancelling them.
TEST(BuiltinRegistry, IoUringTwinsDependOnTheOptionalIoUringEvents) {
  for (const char* name : {"io_uring_submit_req", "io_uring_complete"}) {
    const EventDef* d = Builtin().Find(name);
    ASSERT_NE(d, nullptr) << name;
    EXPECT_TRUE(d->internal) << name;
    ASSERT_EQ(d->probes.size(), 1u) << name;
    EXPECT_FALSE(d->probes[0].required) << name;
    ASSERT_EQ(d->probes[0].alternatives.size(), 2u) << name;
    EXPECT_EQ(d->probes[0].alternatives[0].kind, AttachKind::kTpBtf) << name;
    EXPECT_EQ(d->probes[0].alternatives[1].kind, AttachKind::kRawTracepoint) << name;
    EXPECT_TRUE(d->caps.base.empty() && d->caps.ebpf.empty()) << name << ": tracing programs only";
  }
  const std::map<std::string, std::string> twins = {
      {"openat", "IORING_OP_OPENAT"},        {"openat2", "IORING_OP_OPENAT2"},
      {"connect", "IORING_OP_CONNECT"},      {"write", "IORING_OP_WRITE"},
      {"writev", "IORING_OP_WRITEV"},        {"renameat2", "IORING_OP_RENAMEAT"},
      {"unlinkat", "IORING_OP_UNLINKAT"},    {"mkdirat", "IORING_OP_MKDIRAT"},
      {"security_socket_connect", "IORING_OP_CONNECT"}, {"security_inode_rename", "IORING_OP_RENAMEAT"},
      {"security_inode_unlink", "IORING_OP_UNLINKAT"}, {"magic_write", "IORING_OP_WRITE"},
  };
  for (const auto& [name, op] : twins) {
    const EventDef* d = Builtin().Find(name);
    ASSERT_NE(d, nullptr) << name;
    ASSERT_EQ(d->io_uring_ops.size(), 1u) << name;
    EXPECT_EQ(d->io_uring_ops[0].op, op) << name;
    EXPECT_THAT(d->dependencies, Contains("io_uring_submit_req")) << name;
    EXPECT_THAT(d->description, HasSubstr(op)) << name;
  }
  const EventDef* open = Builtin().Find("security_file_open");
  ASSERT_NE(open, nullptr);
  EXPECT_THAT(open->dependencies, Contains("io_uring_complete"));
  ASSERT_EQ(open->io_uring_ops.size(), 2u);
  EXPECT_EQ(open->io_uring_ops[0].tracepoint, "io_uring_complete");
  // Selecting a twin selects the io_uring programs (as the sensor's selection does).
  std::set<uint32_t> with = Builtin().WithDependencies({Builtin().Find("openat")->id});
  EXPECT_TRUE(with.contains(Builtin().Find("io_uring_submit_req")->id));
  // io_uring_setup is an event of its own.
  EXPECT_NE(Builtin().Find("io_uring_setup"), nullptr);
}

}  // namespace
}  // namespace vigil::events

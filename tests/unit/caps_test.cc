// caps/: names, set algebra, the eBPF privilege against fake kernels, ring
// planning, cancellation messages, --capabilities parsing, `caps plan` formats,
// and (where the process may change capabilities) rings on a real thread.
#include <sys/prctl.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "unit_matchers.h"
#include "vigil/caps/cap_set.h"
#include "vigil/caps/kernel_probe.h"
#include "vigil/caps/options.h"
#include "vigil/caps/plan_format.h"
#include "vigil/caps/process_caps.h"
#include "vigil/caps/ring_guard.h"
#include "vigil/caps/rings.h"

namespace vigil::caps {
namespace {

// ---------------------------------------------------------------- names, sets

TEST(ParseCap, AcceptsEverySpelling) {
  for (const char* spelling :
       {"cap_syslog", "CAP_SYSLOG", "syslog", "SYSLOG", "Cap_SysLog", "  syslog  "}) {
    absl::StatusOr<Cap> cap = ParseCap(spelling);
    ASSERT_TRUE(cap.ok()) << spelling << ": " << cap.status();
    EXPECT_EQ(*cap, Cap::kSyslog) << spelling;
  }
}

TEST(ParseCap, RoundTripsEveryKnownCapability) {
  for (int number = 0; number <= kMaxCap; ++number) {
    const std::string name = CapName(number);
    ASSERT_THAT(name, StartsWith("cap_"));
    for (const std::string& spelling : {name, absl::AsciiStrToUpper(name), name.substr(4),
                                        absl::AsciiStrToUpper(name.substr(4))}) {
      absl::StatusOr<Cap> cap = ParseCap(spelling);
      ASSERT_TRUE(cap.ok()) << spelling;
      EXPECT_EQ(static_cast<int>(*cap), number) << spelling;
    }
  }
  EXPECT_EQ(CapName(39), "cap_bpf");
  EXPECT_EQ(CapName(38), "cap_perfmon");
  EXPECT_EQ(CapName(40), "cap_checkpoint_restore");
}

TEST(ParseCap, UnknownNameIsAnErrorNamingIt) {
  for (const char* bad : {"cap_foo", "", "cap_", "sys admin", "41"}) {
    absl::StatusOr<Cap> cap = ParseCap(bad);
    ASSERT_FALSE(cap.ok()) << bad;
    EXPECT_EQ(cap.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(Message(cap.status()), HasSubstr(absl::StrCat("'", bad, "'")));
  }
}

TEST(CapSet, ParsesListsAndPrintsInNumberOrder) {
  absl::StatusOr<CapSet> set = CapSet::Parse("PERFMON, cap_bpf,,sys_admin");
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->ToString(), "cap_bpf,cap_perfmon,cap_sys_admin");
  EXPECT_EQ(set->ToUpperList(" "), "CAP_SYS_ADMIN CAP_PERFMON CAP_BPF");
  EXPECT_EQ(set->ToUpperList(",", /*strip_prefix=*/true), "SYS_ADMIN,PERFMON,BPF");
  EXPECT_EQ(set->size(), 3);
  EXPECT_TRUE(CapSet::Parse("").value().empty());

  absl::StatusOr<CapSet> bad = CapSet::Parse("bpf,cap_nope");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(Message(bad.status()), HasSubstr("'cap_nope'"));
}

TEST(CapSet, Algebra) {
  const CapSet a{Cap::kBpf, Cap::kPerfmon, Cap::kNetAdmin};
  const CapSet b{Cap::kPerfmon, Cap::kSysAdmin};
  EXPECT_EQ(a | b, (CapSet{Cap::kBpf, Cap::kPerfmon, Cap::kNetAdmin, Cap::kSysAdmin}));
  EXPECT_EQ(a & b, CapSet{Cap::kPerfmon});
  EXPECT_EQ(a - b, (CapSet{Cap::kBpf, Cap::kNetAdmin}));
  EXPECT_TRUE(a.Contains(CapSet{Cap::kBpf}));
  EXPECT_TRUE(a.Contains(CapSet{}));
  EXPECT_FALSE(a.Contains(b));
  EXPECT_TRUE(a.Has(Cap::kNetAdmin));
  EXPECT_FALSE(a.Has(Cap::kSysAdmin));

  CapSet c = a;
  c &= b;
  EXPECT_EQ(c, CapSet{Cap::kPerfmon});
  c |= CapSet{Cap::kChown};
  c -= CapSet{Cap::kPerfmon};
  EXPECT_EQ(c, CapSet{Cap::kChown});
  c.Remove(Cap::kChown);
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(DescribeCaps(c), "none");
  EXPECT_EQ(DescribeCaps(a), "cap_bpf,cap_net_admin,cap_perfmon");
}

// ---------------------------------------------------------------- kernel facts

FakeKernelFacts Kernel(int major, int minor, int last_cap, int paranoid) {
  FakeKernelFacts kernel;
  kernel.kernel = {major, minor};
  kernel.last_cap = last_cap;
  kernel.paranoid = paranoid;
  kernel.memlock_applies = MemlockLimitsBpf(kernel.kernel);
  return kernel;
}

CapSet ReasonCaps(const EbpfPrivilege& privilege) {
  CapSet caps;
  for (const CapReason& reason : privilege.reasons) {
    EXPECT_FALSE(caps.Has(reason.cap))
        << "two reasons for " << CapName(static_cast<int>(reason.cap));
    EXPECT_FALSE(reason.reason.empty());
    caps.Add(reason.cap);
  }
  return caps;
}

TEST(KernelRelease, ParsesMajorMinor) {
  EXPECT_EQ(ParseKernelRelease("6.18.44-fc-v657").value(), (KernelVersion{6, 18}));
  EXPECT_EQ(ParseKernelRelease("5.10.0-28-amd64").value(), (KernelVersion{5, 10}));
  EXPECT_EQ(ParseKernelRelease("4.18.0-513.el8.x86_64").value(), (KernelVersion{4, 18}));
  EXPECT_EQ(ParseKernelRelease("6.1").value(), (KernelVersion{6, 1}));
  EXPECT_EQ(ParseKernelRelease("6.9-rc1").value(), (KernelVersion{6, 9}));
  for (const char* bad : {"6", "", "x.1", "6.x", "6a.1"}) {
    absl::StatusOr<KernelVersion> version = ParseKernelRelease(bad);
    ASSERT_FALSE(version.ok()) << bad;
    EXPECT_THAT(Message(version.status()), HasSubstr(absl::StrCat("'", bad, "'")));
  }
  EXPECT_LT((KernelVersion{5, 10}), (KernelVersion{5, 11}));
  EXPECT_LT((KernelVersion{4, 20}), (KernelVersion{5, 0}));
  EXPECT_EQ((KernelVersion{6, 18}).ToString(), "6.18");
}

TEST(KernelRelease, MemlockAccountingEndsAt511) {
  EXPECT_TRUE(MemlockLimitsBpf({4, 19}));
  EXPECT_TRUE(MemlockLimitsBpf({5, 10}));
  EXPECT_FALSE(MemlockLimitsBpf({5, 11}));
  EXPECT_FALSE(MemlockLimitsBpf({6, 0}));
}

TEST(DecideEbpfPrivilege, CurrentKernelNeedsBpfAndPerfmon) {
  const FakeKernelFacts kernel = Kernel(6, 18, 40, 2);
  const EbpfPrivilege privilege = DecideEbpfPrivilege(kernel, /*needs_tracefs=*/true);
  EXPECT_EQ(privilege.caps.ToString(), "cap_bpf,cap_perfmon");
  EXPECT_EQ(ReasonCaps(privilege), privilege.caps);
  ASSERT_EQ(privilege.reasons.size(), 2u);
  EXPECT_EQ(privilege.reasons[0].cap, Cap::kPerfmon);
  EXPECT_THAT(privilege.reasons[0].reason, HasSubstr("perf_event_paranoid is 2"));
  EXPECT_THAT(privilege.reasons[1].reason, HasSubstr("kernel 6.18 has CAP_BPF"));
}

TEST(DecideEbpfPrivilege, LowParanoidLevelsStillUseBpfAndPerfmon) {
  for (int paranoid : {-1, 0, 1}) {
    EXPECT_EQ(DecideEbpfPrivilege(Kernel(6, 1, 40, paranoid), false).caps,
              (CapSet{Cap::kBpf, Cap::kPerfmon}))
        << paranoid;
  }
}

TEST(DecideEbpfPrivilege, OldKernelNeedsSysAdminAndMemlockCaps) {
  const EbpfPrivilege privilege = DecideEbpfPrivilege(Kernel(5, 4, 37, 2), false);
  EXPECT_EQ(privilege.caps, (CapSet{Cap::kSysAdmin, Cap::kSysResource, Cap::kIpcLock}));
  EXPECT_EQ(ReasonCaps(privilege), privilege.caps);
  ASSERT_EQ(privilege.reasons.size(), 3u);  // ascending: ipc_lock 14, sys_admin 21, sys_resource 24
  EXPECT_EQ(privilege.reasons[0].cap, Cap::kIpcLock);
  EXPECT_THAT(privilege.reasons[0].reason, HasSubstr("kernel 5.4 < 5.11 charges BPF maps"));
  EXPECT_EQ(privilege.reasons[1].cap, Cap::kSysAdmin);
  EXPECT_THAT(privilege.reasons[1].reason,
              HasSubstr("kernel 5.4 predates CAP_BPF and CAP_PERFMON (cap_last_cap 37 < 39)"));
}

TEST(DecideEbpfPrivilege, BackportedCapBpfBefore511KeepsMemlockCaps) {
  const EbpfPrivilege privilege = DecideEbpfPrivilege(Kernel(5, 10, 40, 2), false);
  EXPECT_EQ(privilege.caps, (CapSet{Cap::kBpf, Cap::kPerfmon, Cap::kSysResource, Cap::kIpcLock}));
  EXPECT_EQ(ReasonCaps(privilege), privilege.caps);
}

TEST(DecideEbpfPrivilege, DebianParanoid3NeedsSysAdmin) {
  for (int paranoid : {3, 4}) {
    const EbpfPrivilege privilege = DecideEbpfPrivilege(Kernel(6, 1, 40, paranoid), false);
    EXPECT_EQ(privilege.caps, CapSet{Cap::kSysAdmin}) << paranoid;
    ASSERT_EQ(privilege.reasons.size(), 1u);
    EXPECT_THAT(privilege.reasons[0].reason,
                HasSubstr(absl::StrCat("perf_event_paranoid is ", paranoid)));
  }
}

TEST(DecideEbpfPrivilege, UnreadableTracefsNeedsDacReadSearchOnlyWhenTracefsIsUsed) {
  FakeKernelFacts kernel = Kernel(6, 18, 40, 2);
  kernel.tracefs_readable_by_uid = false;
  const EbpfPrivilege with_tracefs = DecideEbpfPrivilege(kernel, /*needs_tracefs=*/true);
  EXPECT_EQ(with_tracefs.caps, (CapSet{Cap::kDacReadSearch, Cap::kBpf, Cap::kPerfmon}));
  EXPECT_EQ(ReasonCaps(with_tracefs), with_tracefs.caps);
  EXPECT_EQ(with_tracefs.reasons[0].cap, Cap::kDacReadSearch);
  EXPECT_THAT(with_tracefs.reasons[0].reason, HasSubstr("/sys/kernel/tracing/events"));

  EXPECT_EQ(DecideEbpfPrivilege(kernel, /*needs_tracefs=*/false).caps,
            (CapSet{Cap::kBpf, Cap::kPerfmon}));

  kernel.tracefs_readable_by_uid = true;
  EXPECT_EQ(DecideEbpfPrivilege(kernel, /*needs_tracefs=*/true).caps,
            (CapSet{Cap::kBpf, Cap::kPerfmon}));
}

TEST(HostKernelFacts, AgreesWithProcAndUname) {
  absl::StatusOr<HostKernelFacts> host = HostKernelFacts::Probe();
  ASSERT_TRUE(host.ok()) << host.status();
  std::ifstream last_cap_file("/proc/sys/kernel/cap_last_cap");
  int last_cap = -1;
  last_cap_file >> last_cap;
  EXPECT_EQ(host->cap_last_cap(), last_cap);
  std::ifstream paranoid_file("/proc/sys/kernel/perf_event_paranoid");
  int paranoid = -100;
  paranoid_file >> paranoid;
  EXPECT_EQ(host->perf_event_paranoid(), paranoid);
  EXPECT_EQ(host->memlock_limits_bpf(), MemlockLimitsBpf(host->version()));
  EXPECT_EQ(host->tracefs_readable(),
            access(host->tracefs_mounted() ? "/sys/kernel/tracing/events" : "/sys/kernel/tracing",
                   R_OK | X_OK) == 0);

  // The machines vigil is developed on (6.x, paranoid 2, root) must get exactly this.
  if (host->has_cap_bpf_and_perfmon() && host->perf_event_paranoid() <= 2 &&
      !host->memlock_limits_bpf() && host->tracefs_readable()) {
    EXPECT_EQ(DecideEbpfPrivilege(*host, /*needs_tracefs=*/true).caps.ToString(),
              "cap_bpf,cap_perfmon");
  }
}

TEST(CheckEbpfPrivilege, PassesWhenPermittedHoldsIt) {
  const EbpfPrivilege needed = DecideEbpfPrivilege(Kernel(6, 18, 40, 2), false);
  absl::StatusOr<EbpfPrivilege> checked =
      CheckEbpfPrivilege(needed, CapSet{Cap::kBpf, Cap::kPerfmon, Cap::kNetAdmin}, CapSet{});
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_EQ(checked->caps, needed.caps);
}

TEST(CheckEbpfPrivilege, FallsBackToSysAdminWhenThatIsWhatTheProcessHolds) {
  const EbpfPrivilege needed = DecideEbpfPrivilege(Kernel(5, 10, 40, 2), false);
  absl::StatusOr<EbpfPrivilege> checked = CheckEbpfPrivilege(
      needed, CapSet{Cap::kSysAdmin, Cap::kSysResource, Cap::kIpcLock}, CapSet{});
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_EQ(checked->caps, (CapSet{Cap::kSysAdmin, Cap::kSysResource, Cap::kIpcLock}));
  EXPECT_EQ(ReasonCaps(*checked), checked->caps);

  // drop=cap_bpf with CAP_SYS_ADMIN available: Tracee's documented workaround.
  checked = CheckEbpfPrivilege(DecideEbpfPrivilege(Kernel(6, 18, 40, 2), false),
                               CapSet{Cap::kBpf, Cap::kPerfmon, Cap::kSysAdmin}, CapSet{Cap::kBpf});
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_EQ(checked->caps, CapSet{Cap::kSysAdmin});
}

TEST(CheckEbpfPrivilege, MissingPrivilegeIsFatalWithAFix) {
  const EbpfPrivilege needed = DecideEbpfPrivilege(Kernel(6, 18, 40, 2), false);
  absl::StatusOr<EbpfPrivilege> checked =
      CheckEbpfPrivilege(needed, CapSet{Cap::kBpf, Cap::kNetAdmin}, CapSet{});
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.status().code(), absl::StatusCode::kFailedPrecondition);
  const std::string message(Message(checked.status()));
  EXPECT_THAT(message, StartsWith("cannot run: loading and attaching BPF programs on this kernel "
                                  "needs cap_bpf,cap_perfmon; this process does not have "
                                  "cap_perfmon (permitted: cap_bpf,cap_net_admin)."));
  EXPECT_THAT(message, HasSubstr("--inh-caps=+perfmon,+bpf --ambient-caps=+perfmon,+bpf"));
  EXPECT_THAT(message, HasSubstr("vigil caps plan"));

  checked = CheckEbpfPrivilege(needed, CapSet{}, CapSet{});
  ASSERT_FALSE(checked.ok());
  EXPECT_THAT(Message(checked.status()), HasSubstr("(permitted: none)"));
}

TEST(CheckEbpfPrivilege, DroppedPrivilegeIsFatalAndSaysSo) {
  const EbpfPrivilege needed = DecideEbpfPrivilege(Kernel(6, 18, 40, 2), false);
  absl::StatusOr<EbpfPrivilege> checked =
      CheckEbpfPrivilege(needed, CapSet{Cap::kBpf, Cap::kPerfmon}, CapSet{Cap::kBpf});
  ASSERT_FALSE(checked.ok());
  EXPECT_THAT(Message(checked.status()), HasSubstr("--capabilities drop= removes cap_bpf"));
  EXPECT_THAT(Message(checked.status()), HasSubstr("Remove cap_bpf from --capabilities drop="));
  EXPECT_THAT(Message(checked.status()), Not(HasSubstr("setpriv")));
}

// ---------------------------------------------------------------- rings

TEST(PlanRings, ComputesEveryRing) {
  RingInputs in;
  in.base_events = CapSet{Cap::kSysPtrace};
  in.ebpf_events = CapSet{Cap::kNetAdmin};
  in.ebpf_privilege = CapSet{Cap::kBpf, Cap::kPerfmon};
  in.specific = CapSet{Cap::kSysAdmin};
  in.specific_after_setup = CapSet{Cap::kDacReadSearch};
  in.add = CapSet{Cap::kSyslog};
  const RingPlan plan = PlanRings(in);
  EXPECT_EQ(plan.base, (CapSet{Cap::kSysPtrace, Cap::kSyslog}));
  EXPECT_EQ(plan.ebpf,
            (CapSet{Cap::kSysPtrace, Cap::kSyslog, Cap::kNetAdmin, Cap::kBpf, Cap::kPerfmon}));
  EXPECT_EQ(plan.specific,
            (CapSet{Cap::kSysPtrace, Cap::kSyslog, Cap::kSysAdmin, Cap::kDacReadSearch}));
  EXPECT_EQ(plan.permitted_needed, plan.base | plan.ebpf | plan.specific);
  EXPECT_EQ(plan.after_setup, (CapSet{Cap::kSysPtrace, Cap::kSyslog, Cap::kDacReadSearch}));
  EXPECT_EQ(plan.For(Ring::kBase), plan.base);
  EXPECT_EQ(plan.For(Ring::kEbpf), plan.ebpf);
  EXPECT_EQ(plan.For(Ring::kSpecific), plan.specific);
  EXPECT_EQ(plan.For(Ring::kFull), plan.permitted_needed);
}

TEST(PlanRings, DropRemovesFromEveryRingIncludingThePrivilege) {
  RingInputs in;
  in.base_events = CapSet{Cap::kSysPtrace, Cap::kNetAdmin};
  in.ebpf_events = CapSet{Cap::kNetAdmin};
  in.ebpf_privilege = CapSet{Cap::kBpf, Cap::kPerfmon};
  in.specific = CapSet{Cap::kSysAdmin, Cap::kNetAdmin};
  in.specific_after_setup = CapSet{Cap::kNetAdmin};
  in.add = CapSet{Cap::kSyslog};
  in.drop = CapSet{Cap::kNetAdmin, Cap::kBpf};
  const RingPlan plan = PlanRings(in);
  for (CapSet ring :
       {plan.base, plan.ebpf, plan.specific, plan.permitted_needed, plan.after_setup}) {
    EXPECT_FALSE(ring.Has(Cap::kNetAdmin)) << ring.ToString();
    EXPECT_FALSE(ring.Has(Cap::kBpf)) << ring.ToString();
  }
  EXPECT_EQ(plan.base, (CapSet{Cap::kSysPtrace, Cap::kSyslog}));
  EXPECT_EQ(plan.ebpf, (CapSet{Cap::kSysPtrace, Cap::kSyslog, Cap::kPerfmon}));
  EXPECT_EQ(plan.specific, (CapSet{Cap::kSysPtrace, Cap::kSyslog, Cap::kSysAdmin}));
}

TEST(PlanRings, RingNames) {
  EXPECT_EQ(RingName(Ring::kBase), "base");
  EXPECT_EQ(RingName(Ring::kEbpf), "ebpf");
  EXPECT_EQ(RingName(Ring::kSpecific), "specific");
  EXPECT_EQ(RingName(Ring::kFull), "full");
}

TEST(FindCancelledEvents, SpecMessage) {
  const std::vector<EventCancellation> cancelled =
      FindCancelledEvents({{"openat", {}, {}},
                           {"security_socket_connect", {}, CapSet{Cap::kNetAdmin}},
                           {"sched_process_exec", CapSet{Cap::kSysPtrace}, {}}},
                          CapSet{Cap::kBpf, Cap::kPerfmon, Cap::kSysPtrace});
  ASSERT_EQ(cancelled.size(), 1u);
  EXPECT_EQ(cancelled[0].event, "security_socket_connect");
  EXPECT_EQ(cancelled[0].missing_ebpf, CapSet{Cap::kNetAdmin});
  EXPECT_TRUE(cancelled[0].missing_base.empty());

  const std::vector<EventCancellation> spec_example = FindCancelledEvents(
      {{"security_socket_connect", {}, CapSet{Cap::kNetAdmin}}}, CapSet{Cap::kBpf, Cap::kPerfmon});
  ASSERT_EQ(spec_example.size(), 1u);
  EXPECT_EQ(spec_example[0].message,
            "event security_socket_connect cancelled: needs CAP_NET_ADMIN (ebpf), which this "
            "process does not have (permitted: cap_bpf,cap_perfmon)");
}

TEST(FindCancelledEvents, NamesEveryMissingCapOnceWithItsRing) {
  const std::vector<EventCancellation> cancelled =
      FindCancelledEvents({{"hidden_kernel_module", CapSet{Cap::kSyslog, Cap::kSysPtrace},
                            CapSet{Cap::kSyslog, Cap::kNetAdmin, Cap::kBpf}}},
                          CapSet{});
  ASSERT_EQ(cancelled.size(), 1u);
  EXPECT_EQ(cancelled[0].missing_base, (CapSet{Cap::kSyslog, Cap::kSysPtrace}));
  EXPECT_EQ(cancelled[0].missing_ebpf, (CapSet{Cap::kNetAdmin, Cap::kBpf}));
  EXPECT_EQ(cancelled[0].message,
            "event hidden_kernel_module cancelled: needs CAP_SYS_PTRACE,CAP_SYSLOG (base) and "
            "CAP_NET_ADMIN,CAP_BPF (ebpf), which this process does not have (permitted: none)");
}

TEST(FindCancelledEvents, NothingCancelledWhenPermittedSuffices) {
  EXPECT_THAT(FindCancelledEvents(
                  {{"openat", {}, {}}, {"security_socket_connect", {}, CapSet{Cap::kNetAdmin}}},
                  CapSet{Cap::kNetAdmin}),
              IsEmpty());
}

// ---------------------------------------------------------------- options

EnvLookup Env(std::map<std::string, std::string, std::less<>> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(CapabilityOptions, DefaultsToNoBypassNoChanges) {
  absl::StatusOr<CapabilityOptions> options = ParseCapabilityOptions({}, Env({}));
  ASSERT_TRUE(options.ok());
  EXPECT_FALSE(options->bypass);
  EXPECT_TRUE(options->add.empty());
  EXPECT_TRUE(options->drop.empty());
  EXPECT_TRUE(ParseCapabilityOptions({}, nullptr).ok());
}

TEST(CapabilityOptions, ParsesFlags) {
  absl::StatusOr<CapabilityOptions> options =
      ParseCapabilityOptions({"bypass=1", "add=syslog,CAP_SYS_PTRACE", "add=cap_net_raw",
                              "drop=net_admin", "bypass=false"},
                             Env({}));
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_FALSE(options->bypass);  // the last bypass= wins
  EXPECT_EQ(options->add, (CapSet{Cap::kSyslog, Cap::kSysPtrace, Cap::kNetRaw}));
  EXPECT_EQ(options->drop, CapSet{Cap::kNetAdmin});

  for (const char* truthy : {"bypass=true", "bypass=1", "bypass=TRUE"}) {
    EXPECT_TRUE(ParseCapabilityOptions({truthy}, Env({})).value().bypass) << truthy;
  }
  for (const char* falsy : {"bypass=false", "bypass=0"}) {
    EXPECT_FALSE(ParseCapabilityOptions({falsy}, Env({})).value().bypass) << falsy;
  }
  EXPECT_TRUE(ParseCapabilityOptions({"add="}, Env({})).value().add.empty());
}

TEST(CapabilityOptions, EnvironmentFillsKeysFlagsLeaveOut) {
  const EnvLookup env = Env({{"CAPABILITIES_BYPASS", "1"},
                             {"CAPABILITIES_ADD", "syslog"},
                             {"CAPABILITIES_DROP", "net_admin"}});
  absl::StatusOr<CapabilityOptions> from_env = ParseCapabilityOptions({}, env);
  ASSERT_TRUE(from_env.ok()) << from_env.status();
  EXPECT_TRUE(from_env->bypass);
  EXPECT_EQ(from_env->add, CapSet{Cap::kSyslog});
  EXPECT_EQ(from_env->drop, CapSet{Cap::kNetAdmin});

  // A flag for a key replaces the environment's value for that key only.
  absl::StatusOr<CapabilityOptions> mixed =
      ParseCapabilityOptions({"bypass=false", "add=sys_ptrace"}, env);
  ASSERT_TRUE(mixed.ok()) << mixed.status();
  EXPECT_FALSE(mixed->bypass);
  EXPECT_EQ(mixed->add, CapSet{Cap::kSysPtrace});
  EXPECT_EQ(mixed->drop, CapSet{Cap::kNetAdmin});

  // The container entrypoint passes empty variables: they mean "unset".
  absl::StatusOr<CapabilityOptions> empty = ParseCapabilityOptions(
      {}, Env({{"CAPABILITIES_BYPASS", ""}, {"CAPABILITIES_ADD", ""}, {"CAPABILITIES_DROP", ""}}));
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_FALSE(empty->bypass);
}

TEST(CapabilityOptions, UnknownKey) {
  absl::StatusOr<CapabilityOptions> options = ParseCapabilityOptions({"foo=1"}, Env({}));
  ASSERT_FALSE(options.ok());
  EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(options.status()),
            "--capabilities foo=1: unknown key 'foo' (expected bypass, add or drop)");

  options = ParseCapabilityOptions({"bypass"}, Env({}));
  ASSERT_FALSE(options.ok());
  EXPECT_EQ(Message(options.status()),
            "--capabilities bypass: expected KEY=VALUE with KEY bypass, add or drop");
}

TEST(CapabilityOptions, BadBypassValue) {
  for (const char* bad : {"bypass=yes", "bypass=", "bypass=2"}) {
    absl::StatusOr<CapabilityOptions> options = ParseCapabilityOptions({bad}, Env({}));
    ASSERT_FALSE(options.ok()) << bad;
    EXPECT_EQ(Message(options.status()),
              absl::StrCat("--capabilities ", bad, ": bypass must be true, false, 1 or 0"));
  }
  absl::StatusOr<CapabilityOptions> options =
      ParseCapabilityOptions({}, Env({{"CAPABILITIES_BYPASS", "on"}}));
  ASSERT_FALSE(options.ok());
  EXPECT_EQ(Message(options.status()),
            "CAPABILITIES_BYPASS=on: bypass must be true, false, 1 or 0");
  // A flag replaces a bad environment value, so the environment is not even read.
  EXPECT_TRUE(ParseCapabilityOptions({"bypass=0"}, Env({{"CAPABILITIES_BYPASS", "on"}})).ok());
}

TEST(CapabilityOptions, UnknownCapabilityNamesIt) {
  absl::StatusOr<CapabilityOptions> options =
      ParseCapabilityOptions({"add=bpf,cap_bogus"}, Env({}));
  ASSERT_FALSE(options.ok());
  EXPECT_THAT(Message(options.status()), StartsWith("--capabilities add=bpf,cap_bogus: "));
  EXPECT_THAT(Message(options.status()), HasSubstr("unknown capability 'cap_bogus'"));

  options = ParseCapabilityOptions({}, Env({{"CAPABILITIES_DROP", "nonsense"}}));
  ASSERT_FALSE(options.ok());
  EXPECT_THAT(Message(options.status()), StartsWith("CAPABILITIES_DROP=nonsense: "));
  EXPECT_THAT(Message(options.status()), HasSubstr("'nonsense'"));
}

TEST(CapabilityOptions, SameCapAddedAndDroppedNamesItAndBothSources) {
  absl::StatusOr<CapabilityOptions> options =
      ParseCapabilityOptions({"add=NET_ADMIN,syslog", "drop=cap_net_admin"}, Env({}));
  ASSERT_FALSE(options.ok());
  EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(options.status()),
            "cap_net_admin is both added (--capabilities add=NET_ADMIN,syslog) and dropped "
            "(--capabilities drop=cap_net_admin); a capability may be added or dropped, not both");

  options = ParseCapabilityOptions({"add=syslog"}, Env({{"CAPABILITIES_DROP", "syslog,bpf"}}));
  ASSERT_FALSE(options.ok());
  EXPECT_THAT(Message(options.status()),
              HasSubstr("cap_syslog is both added (--capabilities add=syslog) and dropped "
                        "(CAPABILITIES_DROP=syslog,bpf)"));
}

// ---------------------------------------------------------------- plan formats

PlanSources ExampleSources() {
  PlanSources sources;
  sources.selection = "-e openat,security_socket_connect,sched_process_exec";
  sources.events = {{"openat", {}, {}},
                    {"security_socket_connect", {}, CapSet{Cap::kNetAdmin}},
                    {"sched_process_exec", CapSet{Cap::kSysPtrace}, {}}};
  sources.privilege = DecideEbpfPrivilege(Kernel(6, 18, 40, 2), false);
  sources.specific = {{Cap::kSysAdmin, "mount tracefs at /sys/kernel/tracing"}};
  sources.options.add = CapSet{Cap::kSyslog};
  return sources;
}

TEST(PlanFormat, ParsesNamesAndListsThemOnError) {
  EXPECT_EQ(ParsePlanFormat("text").value(), PlanFormat::kText);
  EXPECT_EQ(ParsePlanFormat("json").value(), PlanFormat::kJson);
  EXPECT_EQ(ParsePlanFormat("systemd").value(), PlanFormat::kSystemd);
  EXPECT_EQ(ParsePlanFormat("docker").value(), PlanFormat::kDocker);
  EXPECT_EQ(ParsePlanFormat("k8s").value(), PlanFormat::kK8s);
  absl::StatusOr<PlanFormat> bad = ParsePlanFormat("xml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(
      Message(bad.status()),
      "--format xml: unknown plan format 'xml' (expected text, json, systemd, docker or k8s)");
}

TEST(PlanFormat, DescribesWhoNeedsEachCapability) {
  const PlanDescription d = DescribePlan(ExampleSources());
  EXPECT_EQ(d.plan.permitted_needed.ToString(),
            "cap_bpf,cap_net_admin,cap_perfmon,cap_sys_admin,cap_sys_ptrace,cap_syslog");
  ASSERT_EQ(d.base.size(), 2u);
  EXPECT_EQ(d.base[0].cap, Cap::kSysPtrace);
  EXPECT_THAT(d.base[0].needed_by, ElementsAre("sched_process_exec"));
  EXPECT_THAT(d.base[1].needed_by, ElementsAre("--capabilities add="));
  ASSERT_EQ(d.ebpf.size(), 5u);
  EXPECT_EQ(d.ebpf[0].cap, Cap::kNetAdmin);
  EXPECT_THAT(d.ebpf[0].needed_by, ElementsAre("security_socket_connect"));
  EXPECT_THAT(d.ebpf[1].needed_by, ElementsAre("base ring"));
  EXPECT_EQ(d.ebpf[3].cap, Cap::kPerfmon);
  ASSERT_EQ(d.ebpf[3].needed_by.size(), 1u);
  EXPECT_THAT(d.ebpf[3].needed_by[0], StartsWith("kernel: kernel 6.18 has CAP_PERFMON"));
  ASSERT_EQ(d.specific.size(), 3u);
  EXPECT_EQ(d.specific[1].cap, Cap::kSysAdmin);
  EXPECT_THAT(d.specific[1].needed_by, ElementsAre("mount tracefs at /sys/kernel/tracing"));
}

TEST(PlanFormat, Systemd) {
  EXPECT_EQ(RenderPlan(DescribePlan(ExampleSources()), PlanFormat::kSystemd),
            "# vigil capabilities for: -e openat,security_socket_connect,sched_process_exec\n"
            "[Service]\n"
            "CapabilityBoundingSet=CAP_NET_ADMIN CAP_SYS_PTRACE CAP_SYS_ADMIN CAP_SYSLOG "
            "CAP_PERFMON CAP_BPF\n"
            "AmbientCapabilities=CAP_NET_ADMIN CAP_SYS_PTRACE CAP_SYS_ADMIN CAP_SYSLOG "
            "CAP_PERFMON CAP_BPF\n"
            "NoNewPrivileges=yes\n");
}

TEST(PlanFormat, Docker) {
  EXPECT_EQ(RenderPlan(DescribePlan(ExampleSources()), PlanFormat::kDocker),
            "--cap-drop=ALL --cap-add=NET_ADMIN --cap-add=SYS_PTRACE --cap-add=SYS_ADMIN "
            "--cap-add=SYSLOG --cap-add=PERFMON --cap-add=BPF\n");
}

TEST(PlanFormat, Kubernetes) {
  EXPECT_EQ(RenderPlan(DescribePlan(ExampleSources()), PlanFormat::kK8s),
            "securityContext:\n"
            "  allowPrivilegeEscalation: false\n"
            "  capabilities:\n"
            "    drop:\n"
            "      - ALL\n"
            "    add:\n"
            "      - NET_ADMIN\n"
            "      - SYS_PTRACE\n"
            "      - SYS_ADMIN\n"
            "      - SYSLOG\n"
            "      - PERFMON\n"
            "      - BPF\n");
  EXPECT_THAT(RenderPlan(PlanDescription{}, PlanFormat::kK8s), HasSubstr("    add: []\n"));
}

TEST(PlanFormat, Json) {
  PlanSources sources;
  sources.selection = "-e \"odd\"";
  sources.events = {{"security_socket_connect", {}, CapSet{Cap::kNetAdmin}}};
  sources.privilege.caps = CapSet{Cap::kBpf};
  sources.privilege.reasons = {{Cap::kBpf, "load"}};
  sources.options.drop = CapSet{Cap::kSyslog};
  EXPECT_EQ(RenderPlan(DescribePlan(sources), PlanFormat::kJson),
            R"({"selection":"-e \"odd\"","rings":{"base":[],"ebpf":[)"
            R"({"cap":"cap_net_admin","needed_by":["security_socket_connect"]},)"
            R"({"cap":"cap_bpf","needed_by":["kernel: load"]}],"specific":[]},)"
            R"("minimal_grant":["cap_net_admin","cap_bpf"],"after_setup":[],)"
            R"("dropped":["cap_syslog"]})"
            "\n");
}

TEST(PlanFormat, Text) {
  const std::string text = RenderPlan(DescribePlan(ExampleSources()), PlanFormat::kText);
  EXPECT_THAT(text, StartsWith("capability plan for: -e openat,"));
  EXPECT_THAT(text, HasSubstr("base ring (every thread, the whole run): cap_sys_ptrace,cap_syslog\n"
                              "  cap_sys_ptrace       sched_process_exec\n"
                              "  cap_syslog           --capabilities add=\n"));
  EXPECT_THAT(text, HasSubstr("  cap_net_admin        security_socket_connect\n"));
  EXPECT_THAT(text, HasSubstr("  cap_sys_admin        mount tracefs at /sys/kernel/tracing\n"));
  EXPECT_THAT(text, HasSubstr("\nminimal grant: cap_bpf,cap_net_admin,cap_perfmon,cap_sys_admin,"
                              "cap_sys_ptrace,cap_syslog\n"));
  EXPECT_THAT(text, HasSubstr("kept after set-up: cap_sys_ptrace,cap_syslog\n"));
}

// ---------------------------------------------------------------- the real thread

// /proc/thread-self/status reports the calling thread's sets as hex masks.
std::map<std::string, std::string> ThreadStatus() {
  std::ifstream in("/proc/thread-self/status");
  std::map<std::string, std::string> fields;
  std::string line;
  while (std::getline(in, line)) {
    std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits(":\t", 1));
    fields[kv.first] = kv.second;
  }
  return fields;
}

CapSet StatusCaps(const std::string& field) {
  uint64_t bits = 0;
  EXPECT_TRUE(absl::SimpleHexAtoi(ThreadStatus()[field], &bits)) << field;
  return CapSet(bits);
}

const CapSet kTestBase{Cap::kSysPtrace};
const CapSet kTestPrivilege{Cap::kBpf, Cap::kPerfmon};

RingPlan TestPlan() {
  RingInputs in;
  in.base_events = kTestBase;
  in.ebpf_privilege = kTestPrivilege;
  in.specific = CapSet{Cap::kSysAdmin};
  return PlanRings(in);
}

// Whether this process may change its capabilities the way the tests below do.
// The unit suite runs unprivileged too; these tests need the caps they move.
bool CanChangeCapabilities() {
  absl::StatusOr<ThreadCaps> caps = ReadThreadCaps();
  return caps.ok() &&
         caps->permitted.Contains(TestPlan().permitted_needed | CapSet{Cap::kSetpcap}) &&
         caps->effective.Contains(TestPlan().permitted_needed);
}

#define SKIP_UNLESS_CAPABLE()                                                                    \
  if (!CanChangeCapabilities()) {                                                                \
    GTEST_SKIP() << "needs " << (TestPlan().permitted_needed | CapSet{Cap::kSetpcap}).ToString() \
                 << " permitted and effective (run as root)";                                    \
  }

// Runs `body` on a fresh thread, so changes to its capabilities die with it.
template <typename Body>
void OnThrowawayThread(Body body) {
  std::thread thread(body);
  thread.join();
}

TEST(ThreadCaps, ReadsWhatTheKernelReports) {
  absl::StatusOr<ThreadCaps> caps = ReadThreadCaps();
  ASSERT_TRUE(caps.ok()) << caps.status();
  EXPECT_EQ(caps->effective, StatusCaps("CapEff"));
  EXPECT_EQ(caps->permitted, StatusCaps("CapPrm"));
  EXPECT_EQ(caps->inheritable, StatusCaps("CapInh"));
  EXPECT_EQ(caps->bounding, StatusCaps("CapBnd"));
  EXPECT_EQ(caps->ambient, StatusCaps("CapAmb"));
  EXPECT_EQ(caps->no_new_privs, ThreadStatus()["NoNewPrivs"] == "1");
}

TEST(ThreadCaps, SetThreadEffectiveRoundTripsAndStaysOnItsThread) {
  SKIP_UNLESS_CAPABLE();
  const CapSet main_effective = StatusCaps("CapEff");
  OnThrowawayThread([] {
    const CapSet permitted = StatusCaps("CapPrm");
    ASSERT_TRUE(SetThreadEffective(kTestBase).ok());
    EXPECT_EQ(StatusCaps("CapEff"), kTestBase);
    EXPECT_EQ(StatusCaps("CapPrm"), permitted);
    ASSERT_TRUE(SetThreadEffective(CapSet{}).ok());
    EXPECT_EQ(StatusCaps("CapEff"), CapSet{});
    ASSERT_TRUE(SetThreadEffective(kTestBase | kTestPrivilege).ok());
    EXPECT_EQ(StatusCaps("CapEff"), kTestBase | kTestPrivilege);
  });
  EXPECT_EQ(StatusCaps("CapEff"), main_effective);
}

TEST(ThreadCaps, RefusesEffectiveOutsidePermitted) {
  SKIP_UNLESS_CAPABLE();
  OnThrowawayThread([] {
    ASSERT_TRUE(ShrinkPermitted(kTestBase).ok());
    EXPECT_EQ(StatusCaps("CapPrm"), kTestBase);
    const absl::Status status = SetThreadEffective(kTestBase | CapSet{Cap::kBpf});
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(Message(status), HasSubstr("cap_bpf not in the permitted set (permitted: "
                                           "cap_sys_ptrace)"));
    EXPECT_EQ(StatusCaps("CapEff"), kTestBase);
  });
}

TEST(ThreadCaps, HardenLocksDownOneThread) {
  SKIP_UNLESS_CAPABLE();
  const CapSet main_bounding = StatusCaps("CapBnd");
  OnThrowawayThread([] {
    const RingPlan plan = TestPlan();
    ASSERT_TRUE(Harden(plan.permitted_needed, plan.base, /*drop_bounding=*/true).ok());
    EXPECT_EQ(StatusCaps("CapPrm"), plan.permitted_needed);
    EXPECT_EQ(StatusCaps("CapEff"), plan.base);
    EXPECT_EQ(StatusCaps("CapInh"), CapSet{});
    EXPECT_EQ(StatusCaps("CapAmb"), CapSet{});
    EXPECT_EQ(StatusCaps("CapBnd"), CapSet{});
    EXPECT_EQ(ThreadStatus()["NoNewPrivs"], "1");

    const absl::Status wider = Harden(plan.permitted_needed | CapSet{Cap::kChown}, plan.base, true);
    EXPECT_EQ(wider.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(Message(wider), HasSubstr("this thread does not have cap_chown"));
  });
  EXPECT_EQ(StatusCaps("CapBnd"), main_bounding);
  EXPECT_EQ(ThreadStatus()["NoNewPrivs"], "0");
}

TEST(ScopedRing, RestoresBaseOnEveryPath) {
  SKIP_UNLESS_CAPABLE();
  OnThrowawayThread([] {
    CapabilityEngine engine(TestPlan(), /*bypass=*/false);
    ASSERT_TRUE(engine.Enter(Ring::kBase).ok());
    const CapSet base = engine.plan().base;
    const CapSet ebpf = engine.plan().ebpf;
    ASSERT_EQ(StatusCaps("CapEff"), base);

    {  // normal scope end
      absl::StatusOr<ScopedRing> ring = engine.Raise(Ring::kEbpf, "attach openat");
      ASSERT_TRUE(ring.ok()) << ring.status();
      EXPECT_EQ(StatusCaps("CapEff"), ebpf);
      EXPECT_EQ(engine.effective_now(), ebpf);
      EXPECT_EQ(engine.current_ring(), Ring::kEbpf);
    }
    EXPECT_EQ(StatusCaps("CapEff"), base);
    EXPECT_EQ(engine.current_ring(), Ring::kBase);

    auto fails_midway = [&engine]() -> absl::Status {
      absl::StatusOr<ScopedRing> ring = engine.Raise(Ring::kEbpf, "load maps");
      if (!ring.ok()) return ring.status();
      return absl::PermissionDeniedError("bpf(BPF_MAP_CREATE): EPERM");
    };
    EXPECT_FALSE(fails_midway().ok());
    EXPECT_EQ(StatusCaps("CapEff"), base);

    try {
      absl::StatusOr<ScopedRing> ring = engine.Raise(Ring::kEbpf, "attach execve");
      ASSERT_TRUE(ring.ok());
      throw std::runtime_error("attach failed");
    } catch (const std::runtime_error&) {
    }
    EXPECT_EQ(StatusCaps("CapEff"), base);

    {  // nested: the inner scope returns to the outer ring, the outer to Base
      absl::StatusOr<ScopedRing> outer = engine.Raise(Ring::kEbpf, "set up");
      ASSERT_TRUE(outer.ok());
      {
        absl::StatusOr<ScopedRing> inner =
            engine.Raise(Ring::kSpecific, "mount tracefs", CapSet{Cap::kSysAdmin});
        ASSERT_TRUE(inner.ok()) << inner.status();
        EXPECT_EQ(StatusCaps("CapEff"), base | CapSet{Cap::kSysAdmin});
      }
      EXPECT_EQ(StatusCaps("CapEff"), ebpf);
      ASSERT_TRUE(outer->Leave().ok());
      EXPECT_EQ(StatusCaps("CapEff"), base);
    }
    EXPECT_EQ(StatusCaps("CapEff"), base);

    const std::vector<RingTransition> log = engine.transitions();
    std::vector<std::string> labels;
    for (const RingTransition& transition : log) {
      labels.push_back(absl::StrCat(std::string(RingName(transition.ring)), ":", transition.label,
                                    ":", transition.effective.ToString()));
      EXPECT_EQ(transition.thread_id, gettid());
    }
    const std::string b = base.ToString();
    const std::string e = ebpf.ToString();
    EXPECT_THAT(labels, ElementsAre("base:base:" + b, "ebpf:attach openat:" + e,
                                    "base:end: attach openat:" + b, "ebpf:load maps:" + e,
                                    "base:end: load maps:" + b, "ebpf:attach execve:" + e,
                                    "base:end: attach execve:" + b, "ebpf:set up:" + e,
                                    "specific:mount tracefs:cap_sys_admin,cap_sys_ptrace",
                                    "ebpf:end: mount tracefs:" + e, "base:end: set up:" + b));
    for (size_t i = 1; i < log.size(); ++i) {
      EXPECT_LE(log[i - 1].monotonic_ns, log[i].monotonic_ns);
    }
  });
}

TEST(ScopedRing, OnlyTheControlThreadChangesRings) {
  SKIP_UNLESS_CAPABLE();
  OnThrowawayThread([] {
    CapabilityEngine engine(TestPlan(), /*bypass=*/false);
    ASSERT_TRUE(engine.Enter(Ring::kBase).ok());
    OnThrowawayThread([&engine] {
      const CapSet before = StatusCaps("CapEff");
      absl::StatusOr<ScopedRing> ring = engine.Raise(Ring::kEbpf, "attach from a worker");
      ASSERT_FALSE(ring.ok());
      EXPECT_EQ(ring.status().code(), absl::StatusCode::kFailedPrecondition);
      EXPECT_THAT(Message(ring.status()), HasSubstr("but only the control thread " +
                                                    std::to_string(engine.control_thread())));
      EXPECT_EQ(engine.Enter(Ring::kFull).code(), absl::StatusCode::kFailedPrecondition);
      EXPECT_EQ(StatusCaps("CapEff"), before);
    });
    EXPECT_EQ(StatusCaps("CapEff"), engine.plan().base);
    EXPECT_EQ(engine.transitions().size(), 1u);
  });
}

TEST(ScopedRing, RefusesCapabilitiesOutsideThePlanAndAfterSetup) {
  SKIP_UNLESS_CAPABLE();
  OnThrowawayThread([] {
    CapabilityEngine engine(TestPlan(), /*bypass=*/false);
    ASSERT_TRUE(engine.Harden().ok());
    EXPECT_EQ(StatusCaps("CapEff"), engine.plan().base);

    const absl::Status outside = engine.Enter(Ring::kSpecific, CapSet{Cap::kNetAdmin}, "odd");
    EXPECT_EQ(outside.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(Message(outside), HasSubstr("cap_net_admin not in the capability plan"));

    {
      absl::StatusOr<ScopedRing> ring = engine.Raise(Ring::kEbpf, "attach openat");
      ASSERT_TRUE(ring.ok());
      EXPECT_EQ(engine.FinishSetup().code(), absl::StatusCode::kFailedPrecondition);
    }
    ASSERT_TRUE(engine.FinishSetup().ok());
    EXPECT_EQ(StatusCaps("CapPrm"), engine.plan().after_setup);
    absl::StatusOr<ScopedRing> late = engine.Raise(Ring::kEbpf, "late attach");
    ASSERT_FALSE(late.ok());
    EXPECT_THAT(Message(late.status()), HasSubstr("which left permitted when set-up finished"));
    EXPECT_EQ(StatusCaps("CapEff"), engine.plan().base);
  });
}

TEST(ScopedRing, BypassChangesNothingButStillLogs) {
  // Needs no privilege: bypass never calls capset.
  OnThrowawayThread([] {
    const CapSet inherited = StatusCaps("CapEff");
    const CapSet inherited_permitted = StatusCaps("CapPrm");
    CapabilityEngine engine(TestPlan(), /*bypass=*/true);
    ASSERT_TRUE(engine.Harden().ok());
    {
      absl::StatusOr<ScopedRing> ring = engine.Raise(Ring::kEbpf, "attach openat");
      ASSERT_TRUE(ring.ok());
      EXPECT_EQ(StatusCaps("CapEff"), inherited);
    }
    ASSERT_TRUE(engine.FinishSetup().ok());
    EXPECT_EQ(StatusCaps("CapEff"), inherited);
    EXPECT_EQ(StatusCaps("CapPrm"), inherited_permitted);
    EXPECT_EQ(ThreadStatus()["NoNewPrivs"], "0");
    const std::vector<RingTransition> log = engine.transitions();
    ASSERT_EQ(log.size(), 4u);
    EXPECT_EQ(log[1].ring, Ring::kEbpf);
    EXPECT_EQ(log[1].label, "attach openat");
    EXPECT_EQ(log[1].effective, inherited);
  });
}

}  // namespace
}  // namespace vigil::caps

// policies/: the grammar, every validation error (message and position),
// mask compilation, the kernel scope tables and the user-space matcher,
// against a small fake registry; the shipped policies against the real one.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "vigil/events/event_ids.h"
#include "vigil/events/format.h"
#include "vigil/policies/compile.h"
#include "vigil/policies/kernel_scope.h"
#include "vigil/policies/policy.h"
#include "vigil/rules/rules.h"

#ifndef VIGIL_SOURCE_DIR
#define VIGIL_SOURCE_DIR "."
#endif

namespace vigil::policies {
namespace {

// Detections are events of the registry once the rules are loaded (as the
// sensor does before compiling policies): the shipped policies select them.
class BuiltinDetections : public ::testing::Environment {
 public:
  void SetUp() override {
    auto engine = rules::DetectionEngine::Create({}, events::Registry::Builtin());
    ASSERT_TRUE(engine.ok()) << engine.status();
    ASSERT_TRUE(events::Registry::AddBuiltinDetections((*engine)->event_defs()).ok());
  }
};
const auto* const kDetections = ::testing::AddGlobalTestEnvironment(new BuiltinDetections);

using events::ArgFormat;
using events::Capture;
using events::EventDef;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Message(const absl::Status& st) { return std::string(st.message().data(), st.message().size()); }

const events::Registry& Fake() {
  static const events::Registry* registry = new events::Registry(std::vector<EventDef>{
      {.id = 3,
       .name = "close",
       .sets = {"syscalls", "fs"},
       .args = {{"fd", "unsigned int", ArgFormat::kUint}},
       .syscall_nr = 3},
      {.id = 9,
       .name = "mmap",
       .sets = {"syscalls"},
       .args = {{"addr", "unsigned long", ArgFormat::kHex}, {"len", "size_t", ArgFormat::kUint}},
       .syscall_nr = 9},
      {.id = 42,
       .name = "connect",
       .sets = {"syscalls", "net"},
       .args = {{"sockfd", "int", ArgFormat::kInt},
                {"addr", "struct sockaddr*", ArgFormat::kSockaddr, Capture::kSockaddr},
                {"addrlen", "int", ArgFormat::kInt}},
       .syscall_nr = 42},
      {.id = 59,
       .name = "execve",
       .sets = {"syscalls", "proc"},
       .args = {{"pathname", "const char*", ArgFormat::kString, Capture::kString},
                {"argv", "const char*const*", ArgFormat::kStringArray, Capture::kStringArray}},
       .syscall_nr = 59},
      {.id = 257,
       .name = "openat",
       .sets = {"syscalls", "fs"},
       .args = {{"dirfd", "int", ArgFormat::kDirfd},
                {"pathname", "const char*", ArgFormat::kString, Capture::kString},
                {"flags", "int", ArgFormat::kOpenFlags},
                {"mode", "mode_t", ArgFormat::kMode}},
       .syscall_nr = 257},
      {.id = 437,
       .name = "openat2",
       .sets = {"syscalls", "fs"},
       .args = {{"dirfd", "int", ArgFormat::kDirfd},
                {"pathname", "const char*", ArgFormat::kString, Capture::kString}},
       .syscall_nr = 437},
      {.id = events::kSchedProcessExec,
       .name = "sched_process_exec",
       .sets = {"default", "proc"},
       .args = {{"pathname", "const char*", ArgFormat::kString}}},
      {.id = events::kSchedProcessExit,
       .name = "sched_process_exit",
       .sets = {"default", "proc"},
       .args = {{"exit_code", "int", ArgFormat::kInt}, {"process_group_exit", "bool", ArgFormat::kBool}}},
      {.id = 2000, .name = "hidden", .sets = {"default"}, .internal = true},
  });
  return *registry;
}

absl::StatusOr<CompiledPolicies> CompileText(const std::string& yaml, const std::string& file = "p.yaml") {
  absl::StatusOr<std::vector<Policy>> parsed = ParsePolicies(yaml, file);
  if (!parsed.ok()) return parsed.status();
  return Compile(*parsed, Fake());
}

// The error Compile(Parse(yaml)) reports, or "" when it succeeds.
std::string ErrorOf(const std::string& yaml) {
  absl::StatusOr<CompiledPolicies> c = CompileText(yaml);
  return c.ok() ? "" : Message(c.status());
}

// A vigil.dev/v1 policy with the given scope and rules lines (already
// indented); line 7 is the first scope expression.
std::string Doc(const std::string& name, const std::string& scope, const std::string& rules) {
  return "apiVersion: vigil.dev/v1\n"  // 1
         "kind: Policy\n"              // 2
         "metadata:\n"                 // 3
         "  name: " +
         name +
         "\n"          // 4
         "spec:\n"     // 5
         "  scope:\n"  // 6
         + scope +     // 7...
         "  rules:\n" + rules;
}

// Policy "x", global, with one rule: `event` and its one filter (its line is 10).
std::string Filtered(const std::string& event, const std::string& filter) {
  return Doc("x", "    - global\n", "    - event: " + event + "\n      filters: [" + filter + "]\n");
}

// ------------------------------------------------------------- expressions

TEST(PolicyExprTest, ParsesKeyOperatorAndCommaValues) {
  absl::StatusOr<Expr> e = ParseExpr(" data.pathname = /etc/shadow, /etc/sudoers* ", {});
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->key, "data.pathname");
  EXPECT_EQ(e->op, Op::kEq);
  EXPECT_THAT(e->values, ElementsAre("/etc/shadow", "/etc/sudoers*"));

  for (auto [text, op] : {std::pair{"uid!=5", Op::kNe},
                          {"uid<5", Op::kLt},
                          {"uid>5", Op::kGt},
                          {"uid<=5", Op::kLe},
                          {"uid>=5", Op::kGe}}) {
    absl::StatusOr<Expr> x = ParseExpr(text, {});
    ASSERT_TRUE(x.ok()) << text;
    EXPECT_EQ(x->op, op) << text;
    EXPECT_THAT(x->values, ElementsAre("5")) << text;
  }
  absl::StatusOr<Expr> bare = ParseExpr("follow", {});
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->key, "follow");
  EXPECT_FALSE(bare->op.has_value());
  // What follows the operator is the value, operators included.
  absl::StatusOr<Expr> eq_in_value = ParseExpr("data.argv=a=b", {});
  ASSERT_TRUE(eq_in_value.ok());
  EXPECT_THAT(eq_in_value->values, ElementsAre("a=b"));
}

TEST(PolicyExprTest, RejectsMalformedExpressions) {
  Origin at{.file = "f.yaml", .line = 3, .column = 7};
  struct Case {
    const char* text;
    const char* error;
  } cases[] = {
      {"", "f.yaml:3:7: empty expression (expected KEY or KEY<op>VALUE)"},
      {"=5", "f.yaml:3:7: '=5': expected a name before the operator"},
      {"uid==0", "f.yaml:3:7: 'uid==0': unknown operator (expected one of = != < > <= >=)"},
      {"uid!0", "f.yaml:3:7: 'uid!0': unknown operator (expected one of = != < > <= >=)"},
      {"uid=", "f.yaml:3:7: 'uid=': expected a value after '='"},
      {"comm=a,,b", "f.yaml:3:7: 'comm=a,,b': empty value in the comma list"},
      {"co mm=a",
       "f.yaml:3:7: 'co mm=a': unexpected character ' ' in 'co mm' (expected KEY or KEY<op>VALUE, "
       "op one of = != < > <= >=)"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Expr> e = ParseExpr(c.text, at);
    ASSERT_FALSE(e.ok()) << c.text;
    EXPECT_EQ(Message(e.status()), c.error);
  }
  // The command line has no position: the message stands alone.
  EXPECT_EQ(Message(ParseExpr("uid=", {}).status()), "'uid=': expected a value after '='");
}

// ------------------------------------------------------------- documents

// Tracee before 0.20 (e.g. its examples/policies/signature_events.yaml then).
TEST(PolicyParseTest, AcceptsOlderTraceeApiVersionAndKind) {
  absl::StatusOr<std::vector<Policy>> ps = ParsePolicies(
      "apiVersion: aquasecurity.github.io/v1beta1\n"
      "kind: TraceePolicy\n"
      "metadata:\n"
      "  name: signature-events\n"
      "spec:\n"
      "  scope: [global]\n"
      "  rules:\n"
      "    - event: close\n",
      "old.yaml");
  ASSERT_TRUE(ps.ok()) << ps.status();
  ASSERT_EQ(ps->size(), 1u);
  EXPECT_EQ((*ps)[0].name, "signature-events");
  absl::StatusOr<std::vector<Policy>> wrong_kind =
      ParsePolicies("apiVersion: aquasecurity.github.io/v1beta1\nkind: Policies\n", "old.yaml");
  ASSERT_FALSE(wrong_kind.ok());
  EXPECT_EQ(wrong_kind.status().message(),
            "old.yaml:2:7: unknown kind 'Policies' (expected Policy or TraceePolicy)");
}

TEST(PolicyParseTest, AcceptsBothApiVersionsAndThePlainForm) {
  const std::string yaml =
      "apiVersion: tracee.aquasec.com/v1beta1\n"
      "kind: Policy\n"
      "metadata:\n"
      "  name: openat-data-pathname\n"
      "  labels: {team: sec}\n"
      "  annotations:\n"
      "    description: traces openat under /tmp/*\n"
      "spec:\n"
      "  scope:\n"
      "    - global\n"
      "  defaultActions: [log]\n"
      "  rules:\n"
      "    - event: openat\n"
      "      filters:\n"
      "        - data.pathname=/tmp*\n"
      "      actions: [print]\n"
      "---\n"
      "apiVersion: vigil.dev/v1\n"
      "kind: Policy\n"
      "metadata:\n"
      "  name: uid-high\n"
      "spec:\n"
      "  scope: [uid>=1000, comm=bash]\n"
      "  rules:\n"
      "    - event: close\n"
      "---\n"
      "type: policy\n"
      "name: dig\n"
      "description: traces dns tools\n"
      "scope:\n"
      "  - executable=/usr/bin/dig\n"
      "rules:\n"
      "  - event: connect\n";
  absl::StatusOr<std::vector<Policy>> ps = ParsePolicies(yaml, "all.yaml");
  ASSERT_TRUE(ps.ok()) << ps.status();
  ASSERT_EQ(ps->size(), 3u);
  const Policy& a = (*ps)[0];
  EXPECT_EQ(a.name, "openat-data-pathname");
  EXPECT_EQ(a.description, "traces openat under /tmp/*");
  EXPECT_EQ(a.origin.Describe(), "all.yaml:4:9");
  ASSERT_EQ(a.rules.size(), 1u);
  EXPECT_EQ(a.rules[0].event, "openat");
  EXPECT_EQ(a.rules[0].origin.Describe(), "all.yaml:13:14");
  ASSERT_EQ(a.rules[0].filters.size(), 1u);
  EXPECT_EQ(a.rules[0].filters[0].origin.Describe(), "all.yaml:15:11");
  EXPECT_EQ((*ps)[1].scope.size(), 2u);
  EXPECT_EQ((*ps)[1].scope[1].text, "comm=bash");
  EXPECT_EQ((*ps)[2].name, "dig");
  EXPECT_EQ((*ps)[2].description, "traces dns tools");
  EXPECT_EQ((*ps)[2].scope[0].key, "executable");

  absl::StatusOr<CompiledPolicies> c = Compile(*ps, Fake());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->names(), ElementsAre("openat-data-pathname", "uid-high", "dig"));
}

struct ErrorCase {
  const char* what;
  std::string yaml;
  std::string error;
};

// Each validation error, with the position of what is wrong and what was expected.
TEST(PolicyParseTest, ReportsEveryErrorWithPositionAndExpectation) {
  const std::string rule = "    - event: openat\n";
  const ErrorCase cases[] = {
      {"invalid YAML", "a: [1, 2\n", "p.yaml:2:1: invalid YAML: end of sequence flow not found"},
      {"not a mapping", "- a\n- b\n",
       "p.yaml:1:1: expected a policy (a mapping with apiVersion and kind, or type: policy), got a list"},
      {"neither form", "name: x\n",
       "p.yaml:1:1: expected a policy: apiVersion and kind (tracee.aquasec.com/v1beta1 or vigil.dev/v1, "
       "kind: "
       "Policy) or type: policy"},
      {"unknown apiVersion", "apiVersion: tracee.aquasec.com/v1\nkind: Policy\n",
       "p.yaml:1:13: unknown apiVersion 'tracee.aquasec.com/v1' (expected tracee.aquasec.com/v1beta1 or "
       "vigil.dev/v1)"},
      {"unknown kind", "apiVersion: vigil.dev/v1\nkind: Policies\n",
       "p.yaml:2:7: unknown kind 'Policies' (expected Policy)"},
      {"missing metadata", "apiVersion: vigil.dev/v1\nkind: Policy\nspec: {}\n",
       "p.yaml:1:1: missing field 'metadata' (expected metadata.name)"},
      {"missing name", "apiVersion: vigil.dev/v1\nkind: Policy\nmetadata:\n  labels: {}\n",
       "p.yaml:4:3: missing field 'name' (expected the policy's name)"},
      {"invalid name", Doc("Bad_Name", "    - global\n", rule),
       "p.yaml:4:9: invalid policy name 'Bad_Name' (expected lower-case letters, digits, '-' and '.', "
       "starting "
       "and ending with a letter or digit, at most 253)"},
      {"unknown top field", "apiVersion: vigil.dev/v1\nkind: Policy\nspecs: {}\n",
       "p.yaml:3:1: unknown field 'specs' in a policy (expected apiVersion, kind, metadata, spec)"},
      {"unknown spec field", Doc("x", "    - global\n", rule) + "  rule: []\n",
       "p.yaml:10:3: unknown field 'rule' in spec (expected scope, rules, defaultActions)"},
      {"scope not a list",
       "apiVersion: vigil.dev/v1\nkind: Policy\nmetadata: {name: x}\nspec:\n  scope: global\n",
       "p.yaml:5:10: expected a list of scope expressions for 'scope', got a value"},
      {"no scope", "apiVersion: vigil.dev/v1\nkind: Policy\nmetadata: {name: x}\nspec:\n  rules:\n" + rule,
       "p.yaml:5:3: policy 'x' has no scope (expected spec.scope with at least one expression, e.g. "
       "[global])"},
      {"no rules",
       "apiVersion: vigil.dev/v1\nkind: Policy\nmetadata: {name: x}\nspec:\n  scope: [global]\n"
       "  rules: []\n",
       "p.yaml:6:3: policy 'x' has no rules (expected spec.rules with at least one event)"},
      {"plain form without rules", "type: policy\nname: x\nscope: [global]\n",
       "p.yaml:1:1: policy 'x' has no rules (expected rules with at least one event)"},
      {"rule without event", Doc("x", "    - global\n", "    - filters: [retval=0]\n"),
       "p.yaml:9:7: missing field 'event' (expected an event name)"},
      {"unknown rule field", Doc("x", "    - global\n", "    - event: openat\n      filter: []\n"),
       "p.yaml:10:7: unknown field 'filter' in a rule (expected event, filters, actions)"},
      {"unknown action", Doc("x", "    - global\n", "    - event: openat\n      actions: [alert]\n"),
       "p.yaml:10:17: unknown action 'alert' (expected log or print)"},
      {"filter not a string",
       Doc("x", "    - global\n", "    - event: openat\n      filters:\n        - {a: 1}\n"),
       "p.yaml:11:11: expected filter expressions in 'filters', got a mapping"},
      {"unknown scope keyword", Doc("x", "    - uidd=0\n", rule),
       "p.yaml:7:7: unknown scope 'uidd' in 'uidd=0' (expected global, uid, euid, pid, mntns, pidns, uts, comm, "
       "container, not-container, exec (executable, bin, binary), tree or follow)"},
      {"bad operator for comm", Doc("x", "    - comm<bash\n", rule),
       "p.yaml:7:7: operator '<' is not valid for scope 'comm' (expected = or !=)"},
      {"bad operator for mntns", Doc("x", "    - mntns>=4026531840\n", rule),
       "p.yaml:7:7: operator '>=' is not valid for scope 'mntns' (expected = or !=)"},
      {"ordering with a list", Doc("x", "    - uid>1,2\n", rule),
       "p.yaml:7:7: operator '>' takes one value, got 2 in 'uid>1,2'"},
      {"scope needs a value", Doc("x", "    - uid\n", rule),
       "p.yaml:7:7: scope 'uid' needs an operator and a value (e.g. uid>=1000)"},
      {"scope takes no value", Doc("x", "    - follow=yes\n", rule),
       "p.yaml:7:7: scope 'follow' takes no value, got 'follow=yes'"},
      {"non-integer uid", Doc("x", "    - uid=root\n", rule),
       "p.yaml:7:7: scope 'uid' expects an integer from 0 to 4294967295, got 'root'"},
      {"global with others", Doc("x", "    - global\n    - uid=0\n", rule),
       "p.yaml:7:7: 'global' cannot be combined with other scope expressions (expected either global alone "
       "or "
       "the filters that narrow it)"},
      {"container and not-container", Doc("x", "    - container\n    - not-container\n", rule),
       "p.yaml:8:7: 'container' and 'not-container' together can never match"},
      {"container=started", Doc("x", "    - container=started\n", rule),
       "p.yaml:7:7: 'container=started' is not supported (expected container, not-container, container=new, "
       "container!=new or container=ID)"},
      {"container=new with ids", Doc("x", "    - container=new,abc\n", rule),
       "p.yaml:7:7: 'new' cannot be combined with container ids in 'container=new,abc'"},
      {"container=new and !=new", Doc("x", "    - container=new\n    - container!=new\n", rule),
       "p.yaml:8:7: container=new and container!=new together can never match"},
      {"not-container and container=new", Doc("x", "    - not-container\n    - container=new\n", rule),
       "p.yaml:8:7: 'not-container' and 'container=new' together can never match"},
      {"container!=new and not-container", Doc("x", "    - container!=new\n    - not-container\n", rule),
       "p.yaml:8:7: 'not-container' and container=new or container!=new together can never match"},
      {"relative exec", Doc("x", "    - exec=bash\n", rule),
       "p.yaml:7:7: scope 'exec' expects an absolute path, got 'bash'"},
      {"empty uid set", Doc("x", "    - uid=0\n    - uid=1\n", rule),
       "p.yaml:8:7: scope 'uid=1' leaves no possible uid together with the policy's other uid expressions"},
      {"empty uid range", Doc("x", "    - uid>10\n    - uid<5\n", rule),
       "p.yaml:8:7: scope 'uid<5' leaves no possible uid together with the policy's other uid expressions"},
      {"unknown event", Doc("x", "    - global\n", "    - event: opnat\n"),
       "p.yaml:9:14: unknown event 'opnat' (see `vigil list` for the events and sets)"},
      {"internal event", Doc("x", "    - global\n", "    - event: hidden\n"),
       "p.yaml:9:14: unknown event 'hidden' (see `vigil list` for the events and sets)"},
      {"unknown set", Doc("x", "    - global\n", "    - event: tag=nope\n"),
       "p.yaml:9:14: unknown event set 'nope' in 'tag=nope' (known sets: default, fs, net, proc, syscalls)"},
      {"unmatched prefix", Doc("x", "    - global\n", "    - event: zz*\n"),
       "p.yaml:9:14: no event matches 'zz*'"},
      {"event twice",
       Doc("x", "    - global\n", "    - event: openat\n    - event: close\n    - event: openat\n"),
       "p.yaml:11:14: event 'openat' is selected twice in policy 'x' (first at line 9); an event has at most "
       "one "
       "rule per policy (merge the filters or use another policy)"},
      {"event twice through a set", Doc("x", "    - global\n", "    - event: close\n    - event: tag=fs\n"),
       "p.yaml:10:14: event 'close' is selected twice in policy 'x' (first at line 9); an event has at most "
       "one "
       "rule per policy (merge the filters or use another policy)"},
      {"filters on an exclusion",
       Doc("x", "    - global\n",
           "    - event: tag=fs\n    - event: -close\n"
           "      filters: [retval=0]\n"),
       "p.yaml:11:17: filters on an exclusion ('-close') select nothing"},
      {"nothing left", Doc("x", "    - global\n", "    - event: close\n    - event: -close\n"),
       "p.yaml:4:9: policy 'x' selects no event"},
      {"duplicate names",
       Doc("x", "    - global\n", rule) + "---\n" + Doc("x", "    - global\n", "    - event: close\n"),
       "p.yaml:14:9: duplicate policy name 'x' (also at p.yaml:4:9)"},
      {"control character", std::string("type: policy\nname: x\0,\n", 22),
       "p.yaml:2:8: control character 0x00 is not allowed (expected text)"},
      {"empty file", "# nothing\n",
       "p.yaml: no policy in this file (expected a document with kind: Policy or type: policy)"},
  };
  for (const ErrorCase& c : cases) EXPECT_EQ(ErrorOf(c.yaml), c.error) << c.what;

  // One filter of a rule on line 10: what is wrong with it.
  struct FilterCase {
    const char* event;
    const char* filter;
    std::string error;
  };
  const FilterCase filter_cases[] = {
      {"openat", "data.path=/etc",
       "event 'openat' has no argument 'path' (expected one of: dirfd, pathname, flags, mode)"},
      {"openat,close", "data.pathname=/etc",
       "event 'close' has no argument 'pathname' (expected one of: fd)"},
      {"openat", "data.dirfd=cwd",
       "data.dirfd expects an integer, got 'cwd' in 'data.dirfd=cwd'"},
      {"openat", "data.pathname>a",
       "operator '>' is not valid for data.pathname (not a number) (expected = or !=)"},
      {"openat", "retval<zero",
       "retval expects an integer, got 'zero' in 'retval<zero'"},
      {"openat", "comm>=a",
       "operator '>=' is not valid for comm (expected = or !=)"},
      {"openat", "pid=me",
       "pid expects an integer, got 'me' in 'pid=me'"},
      {"openat", "colour=red",
       "unknown filter 'colour' in 'colour=red' (expected data.ARG, retval, container, host or "
       "a context field: timestamp, processorId, pid, p, processId, tid, threadId, ppid, "
       "parentProcessId, hostPid, hostProcessId, hostTid, hostThreadId, hostParentProcessId, "
       "uid, userId, mntns, mountNamespace, pidns, pidNamespace, cgroupId, comm, processName, "
       "hostName, containerId, executable, syscall)"},
  };
  for (const FilterCase& c : filter_cases)
    EXPECT_EQ(ErrorOf(Filtered(c.event, c.filter)), "p.yaml:10:17: " + c.error) << c.filter;
}

TEST(PolicyParseTest, RejectsMoreThan64Policies) {
  std::string yaml;
  for (int i = 0; i < 65; ++i)
    yaml += Doc("p" + std::to_string(i), "    - global\n", "    - event: close\n") + "---\n";
  // Each document is 9 lines plus the separator: policy 65 starts on line 641.
  EXPECT_EQ(ErrorOf(yaml),
            "p.yaml:644:9: too many policies: 65 (the limit is 64); policy 'p64' is number 65");
  yaml.clear();
  for (int i = 0; i < 64; ++i)
    yaml += Doc("p" + std::to_string(i), "    - global\n", "    - event: close\n") + "---\n";
  absl::StatusOr<CompiledPolicies> c = CompileText(yaml);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->PoliciesOf(3), ~uint64_t{0});
}

TEST(PolicyParseTest, NoInputCrashes) {
  const char* inputs[] = {
      "", "---", "...", "[", "{", "*a", "&a [*a]", "a: &a\n  b: *a\n", "\t", "%YAML 9.9\n---\n",
      "!!binary AAAA", "kind: Policy\napiVersion: [x]\n", "type: [policy]\n",
      "type: policy\nname: x\nscope: [[global]]\nrules: [[]]\n",
      "type: policy\nname: x\nscope: [global]\nrules: [event]\n",
      "type: policy\nname: x\nscope: [global]\nrules:\n  - event: ~\n",
      "type: policy\nname: x\nscope: [global]\nrules:\n  - event: openat\n    filters: x\n",
      "type: policy\nname: x\nscope: [global]\nrules:\n  - {? [a] : b}\n",
      // yaml-cpp 0.7's LoadAll loops forever on these.
      ",:", ",\n,:", "a: 1\n---\n,:\n"};
  for (const char* in : inputs) {
    absl::StatusOr<CompiledPolicies> c = CompileText(in);
    EXPECT_FALSE(c.ok()) << in;
    EXPECT_THAT(Message(c.status()), StartsWith("p.yaml")) << in;
  }
  std::string deep(5000, '[');
  EXPECT_FALSE(CompileText(deep).ok());
}

TEST(PolicyParseTest, SplitsStreamsIntoDocumentsKeepingPositions) {
  const std::string one = "type: policy\nname: a\nscope: [global]\nrules: [{event: close}]\n";
  absl::StatusOr<std::vector<Policy>> ps =
      ParsePolicies("%YAML 1.2\n---\n" + one + "...\n# between\n--- \n" + one.substr(0, 19) + "b" +
                        one.substr(20) + "---\n---\n",
                    "s.yaml");
  ASSERT_TRUE(ps.ok()) << ps.status();
  ASSERT_EQ(ps->size(), 2u);
  EXPECT_EQ((*ps)[0].origin.Describe(), "s.yaml:4:7");
  EXPECT_EQ((*ps)[1].name, "b");
  EXPECT_EQ((*ps)[1].origin.Describe(), "s.yaml:11:7");
  EXPECT_EQ(Message(ParsePolicies(one + "---\n" + "type: policy\nname: [b\n", "s.yaml").status()),
            "s.yaml:8:1: invalid YAML: end of sequence flow not found");
}

TEST(PolicyFilesTest, LoadsFilesAndSortedDirectories) {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("vigil-policies-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir / "sub");
  auto write = [&](const std::string& name, const std::string& text) { std::ofstream(dir / name) << text; };
  write("b.yml", Doc("bee", "    - global\n", "    - event: close\n"));
  write("a.yaml", Doc("ay", "    - global\n", "    - event: openat\n"));
  write("notes.txt", "not a policy");
  write("sub/c.yaml", Doc("sea", "    - global\n", "    - event: close\n"));
  absl::StatusOr<std::vector<Policy>> ps = LoadPolicies({dir.string(), (dir / "sub/c.yaml").string()});
  ASSERT_TRUE(ps.ok()) << ps.status();
  ASSERT_EQ(ps->size(), 3u);
  EXPECT_EQ((*ps)[0].name, "ay");
  EXPECT_EQ((*ps)[1].name, "bee");
  EXPECT_EQ((*ps)[2].name, "sea");
  EXPECT_EQ((*ps)[1].origin.file, (dir / "b.yml").string());

  absl::StatusOr<std::vector<Policy>> missing = LoadPolicies({(dir / "nope.yaml").string()});
  EXPECT_EQ(Message(missing.status()),
            "policy " + (dir / "nope.yaml").string() + ": no such file or directory");
  std::filesystem::create_directories(dir / "empty");
  EXPECT_EQ(Message(LoadPolicies({(dir / "empty").string()}).status()),
            "policy directory " + (dir / "empty").string() + " has no *.yaml or *.yml file");
  write("dup.yaml", Doc("ay", "    - global\n", "    - event: close\n"));
  absl::StatusOr<std::vector<Policy>> dup =
      LoadPolicies({(dir / "a.yaml").string(), (dir / "dup.yaml").string()});
  ASSERT_TRUE(dup.ok());
  EXPECT_EQ(Message(Compile(*dup, Fake()).status()), (dir / "dup.yaml").string() +
                                                         ":4:9: duplicate policy name 'ay' (also at " +
                                                         (dir / "a.yaml").string() + ":4:9)");
  std::filesystem::remove_all(dir);
}

// ------------------------------------------------------------- masks

TEST(PolicyCompileTest, EventMasksCombinePolicies) {
  const std::string yaml =
      Doc("a", "    - global\n", "    - event: openat\n    - event: close\n") + "---\n" +
      Doc("b", "    - comm=bash\n", "    - event: tag=fs\n    - event: -openat2\n") + "---\n" +
      Doc("c", "    - uid=0\n", "    - event: open*\n      filters: [retval<0]\n    - event: connect\n");
  absl::StatusOr<CompiledPolicies> c = CompileText(yaml);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->names(), ElementsAre("a", "b", "c"));
  EXPECT_EQ(c->PoliciesOf(257), 0b111u);  // openat
  EXPECT_EQ(c->PoliciesOf(3), 0b011u);    // close: a, and b through tag=fs
  EXPECT_EQ(c->PoliciesOf(437), 0b100u);  // openat2: excluded from b, selected by c's open*
  EXPECT_EQ(c->PoliciesOf(42), 0b100u);   // connect
  EXPECT_EQ(c->PoliciesOf(59), 0u);       // execve: nobody
  EXPECT_EQ(c->events(), (std::set<uint32_t>{3, 42, 257, 437}));
  ASSERT_NE(c->FiltersOf(2, 257), nullptr);
  EXPECT_EQ(c->FiltersOf(2, 257)->front().text, "retval<0");
  EXPECT_EQ(c->FiltersOf(2, 42), nullptr);
  EXPECT_EQ(c->FiltersOf(0, 257), nullptr);
}

TEST(PolicyCompileTest, ExclusionsApplyWithinTheirRule) {
  // close is left out of tag=fs, so that its own rule may filter it.
  absl::StatusOr<CompiledPolicies> c = CompileText(Doc(
      "x", "    - global\n", "    - event: tag=fs,-close\n    - event: close\n      filters: [retval=3]\n"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->events(), (std::set<uint32_t>{3, 257, 437}));
  EXPECT_NE(c->FiltersOf(0, 3), nullptr);
  EXPECT_EQ(c->FiltersOf(0, 257), nullptr);
  // "net" after tag=fs continues the tag's list.
  c = CompileText(Doc("x", "    - global\n", "    - event: tag=fs,net,-close\n    - event: close\n"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->events(), (std::set<uint32_t>{3, 42, 257, 437}));
}

TEST(PolicyCompileTest, ScopesAndOrAcrossExpressions) {
  absl::StatusOr<CompiledPolicies> c = CompileText(
      Doc("x",
          "    - uid>=1000\n    - uid<2000\n    - uid!=1500\n    - comm=bash,zsh\n    - comm=bash,sh\n"
          "    - pid=new\n    - follow\n    - exec=/usr/bin/../bin/bash\n    - container=abc\n",
          "    - event: close\n"));
  ASSERT_TRUE(c.ok()) << c.status();
  const Scope& s = c->scopes()[0];
  EXPECT_EQ(s.uid.min, 1000u);
  EXPECT_EQ(s.uid.max, 1999u);
  EXPECT_EQ(s.uid.ne, std::set<uint64_t>{1500});
  EXPECT_FALSE(s.uid.eq.has_value());
  EXPECT_EQ(s.comm.eq, std::set<std::string>{"bash"});  // two `=` expressions: both must hold
  EXPECT_EQ(s.new_pid, true);
  EXPECT_TRUE(s.follow);
  EXPECT_EQ(s.exec.eq, std::set<std::string>{"/usr/bin/../bin/bash"});
  EXPECT_EQ(s.container_id.eq, std::set<std::string>{"abc"});
  EXPECT_TRUE(s.HasKernelFilter());
  EXPECT_TRUE(s.HasUserFilter());
}

TEST(PolicyCompileTest, CommIsCutToWhatTheKernelKeeps) {
  absl::StatusOr<CompiledPolicies> c =
      CompileText(Doc("x", "    - comm=systemd-journald\n", "    - event: close\n"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->scopes()[0].comm.eq, std::set<std::string>{"systemd-journal"});
}

TEST(PolicyCompileTest, UtsTakesNamespaceNumbersOrHostNames) {
  absl::StatusOr<CompiledPolicies> c =
      CompileText(Doc("x", "    - uts=4026531838\n    - uts!=web-1\n", "    - event: close\n"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->scopes()[0].utsns.eq, std::set<uint64_t>{4026531838});
  EXPECT_EQ(c->scopes()[0].uts_name.ne, std::set<std::string>{"web-1"});
}

// ------------------------------------------------------------- command line

TEST(PolicyCliTest, EventsAndScopesMakeOnePolicyNamedCli) {
  absl::StatusOr<CompiledPolicies> c = CompileSelection(
      {.events = {"openat,close", "-close"}, .scopes = {"comm=bash", "uid>=1000"}}, Fake(), "");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->names(), ElementsAre("cli"));
  EXPECT_EQ(c->events(), std::set<uint32_t>{257});
  EXPECT_EQ(c->scopes()[0].comm.eq, std::set<std::string>{"bash"});
  EXPECT_EQ(c->scopes()[0].uid.min, 1000u);
  EXPECT_EQ(c->description(), "-e openat,close,-close -s comm=bash -s uid>=1000");
}

TEST(PolicyCliTest, ScopeAloneSelectsTheDefaultSet) {
  absl::StatusOr<CompiledPolicies> c = CompileSelection({.scopes = {"pid=new"}}, Fake(), "");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->events(), (std::set<uint32_t>{events::kSchedProcessExec, events::kSchedProcessExit}));
}

TEST(PolicyCliTest, EventItemsCarryTraceeFilters) {
  // As CLI11 splits -e at commas: the filter's second value arrives alone.
  absl::StatusOr<Policy> p = CliPolicy({"openat.data.pathname=/etc/*", "/root/*", "close",
                                        "openat.scope.comm=cat", "connect.retval<0", "tag=proc"},
                                       {}, Fake());
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->rules.size(), 3u);
  EXPECT_EQ(p->rules[0].event, "close,tag=proc,-openat,-connect");
  EXPECT_EQ(p->rules[1].event, "openat");
  ASSERT_EQ(p->rules[1].filters.size(), 2u);
  EXPECT_THAT(p->rules[1].filters[0].values, ElementsAre("/etc/*", "/root/*"));
  EXPECT_EQ(p->rules[1].filters[1].text, "comm=cat");
  EXPECT_EQ(p->rules[2].event, "connect");
  absl::StatusOr<CompiledPolicies> c = Compile({*p}, Fake());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->events(),
            (std::set<uint32_t>{3, 42, 59, 257, events::kSchedProcessExec, events::kSchedProcessExit}));
  EXPECT_EQ(c->FiltersOf(0, 257)->size(), 2u);

  // An event named plainly and with filters is selected once, with them.
  c = CompileSelection({.events = {"openat", "openat.data.pathname=/tmp*"}}, Fake(), "");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->events(), std::set<uint32_t>{257});
  EXPECT_NE(c->FiltersOf(0, 257), nullptr);
}

TEST(PolicyCliTest, CliErrorsNameTheFlag) {
  EXPECT_EQ(
      Message(CompileSelection({.scopes = {"color=red"}}, Fake(), "").status()),
      "--scope: unknown scope 'color' in 'color=red' (expected global, uid, euid, pid, mntns, pidns, uts, comm, "
      "container, not-container, exec (executable, bin, binary), tree or follow)");
  EXPECT_EQ(Message(CompileSelection({.events = {"opnat"}}, Fake(), "").status()),
            "--events: unknown event 'opnat' (see `vigil list` for the events and sets)");
  EXPECT_EQ(
      Message(CompileSelection({.events = {"openat.data.nope=1"}}, Fake(), "").status()),
      "--events: event 'openat' has no argument 'nope' (expected one of: dirfd, pathname, flags, mode)");
  EXPECT_EQ(
      Message(CompileSelection({.events = {"openat"}, .policy_paths = {"x.yaml"}}, Fake(), "").status()),
      "--policy cannot be combined with --events or --scope: a policy file gives both (use one or the "
      "other)");
  EXPECT_EQ(Message(CompileSelection({.scopes = {"uid=1"}, .policy_paths = {"x.yaml"}}, Fake(), "").status()),
            "--policy cannot be combined with --events or --scope: a policy file gives both (use one or the "
            "other)");
}

TEST(PolicyCliTest, NoFlagsLoadTheDefaultPolicy) {
  std::filesystem::path file =
      std::filesystem::temp_directory_path() / ("vigil-default-" + std::to_string(getpid()) + ".yaml");
  std::ofstream(file) << Doc("dflt", "    - global\n", "    - event: close\n");
  absl::StatusOr<CompiledPolicies> c = CompileSelection({}, Fake(), file.string());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->names(), ElementsAre("dflt"));
  EXPECT_EQ(c->description(), "-p " + file.string());
  std::filesystem::remove(file);
}

// ------------------------------------------------------------- kernel tables

// What bpf/scope.h computes for one task, from the same tables: kept in
// step with vg_scope_eval so that the tables are tested for their meaning.
struct Task {
  uint32_t uid = 0, euid = 0, tgid = 100, tid = 100;
  uint64_t start = 0;
  uint32_t mntns = 1, pidns = 2, utsns = 3;
  std::string comm = "cat", nodename = "host";
  bool new_container = false;     // its cgroup is in vg_new_containers
  bool container_cgroup = false;  // its cgroup is in vg_container_cgroups
  uint64_t exe_inode = 0;
  std::vector<uint32_t> ancestors;  // tgids, parent first
};

uint64_t Pass(const KernelScopeTables& t, vg_scope_kind kind, uint64_t value) {
  auto it = t.values.find({kind, value});
  uint64_t has_eq = t.config.has_eq[kind];
  if (it == t.values.end()) return ~has_eq;
  return (it->second.eq | ~has_eq) & ~it->second.neq;
}

uint64_t KernelMatch(const KernelScopeTables& t, const Task& task, uint64_t candidates) {
  const vg_scope_config& c = t.config;
  uint64_t want = candidates & c.scoped;
  if (!want) return candidates;
  uint64_t res = want;
  res &= Pass(t, VG_SCOPE_UID, task.uid);
  for (int i = 0; i < 64; ++i)
    if ((c.uid_range >> i & 1) && (task.uid < c.uid_min[i] || task.uid > c.uid_max[i])) res &= ~(1ull << i);
  res &= Pass(t, VG_SCOPE_EUID, task.euid);
  for (int i = 0; i < 64; ++i)
    if ((c.euid_range >> i & 1) && (task.euid < c.euid_min[i] || task.euid > c.euid_max[i]))
      res &= ~(1ull << i);
  uint64_t pid_hits = Pass(t, VG_SCOPE_PID, task.tgid);
  if (task.tid != task.tgid) {
    auto a = t.values.find({VG_SCOPE_PID, task.tgid}), b = t.values.find({VG_SCOPE_PID, task.tid});
    uint64_t eq = (a != t.values.end() ? a->second.eq : 0) | (b != t.values.end() ? b->second.eq : 0);
    uint64_t neq = (a != t.values.end() ? a->second.neq : 0) | (b != t.values.end() ? b->second.neq : 0);
    pid_hits = (eq | ~c.has_eq[VG_SCOPE_PID]) & ~neq;
  }
  res &= pid_hits;
  for (int i = 0; i < 64; ++i)
    if ((c.pid_range >> i & 1) && (task.tgid < c.pid_min[i] || task.tgid > c.pid_max[i])) res &= ~(1ull << i);
  res &= task.start > c.start_boot_ns ? ~c.old_pid : ~c.new_pid;
  res &= Pass(t, VG_SCOPE_MNTNS, task.mntns) & Pass(t, VG_SCOPE_PIDNS, task.pidns) &
         Pass(t, VG_SCOPE_UTSNS, task.utsns) & Pass(t, VG_SCOPE_EXEC, task.exe_inode);
  auto strings = [](const std::map<std::string, vg_scope_masks>& m, const std::string& v, uint64_t has_eq) {
    auto it = m.find(v);
    return it == m.end() ? ~has_eq : (it->second.eq | ~has_eq) & ~it->second.neq;
  };
  res &= strings(t.comms, task.comm, c.has_eq[VG_SCOPE_COMM]);
  res &= strings(t.uts_names, task.nodename, c.has_eq[VG_SCOPE_UTSNAME]);
  res &= task.container_cgroup ? ~c.host : ~c.container;
  res &= task.new_container ? ~c.old_container : ~c.new_container;
  uint64_t eq = 0, neq = 0;
  std::vector<uint32_t> chain = {task.tgid};
  chain.insert(chain.end(), task.ancestors.begin(), task.ancestors.end());
  for (uint32_t pid : chain) {
    auto it = t.values.find({VG_SCOPE_TREE, pid});
    if (it != t.values.end()) eq |= it->second.eq, neq |= it->second.neq;
  }
  res &= (eq | ~c.has_eq[VG_SCOPE_TREE]) & ~neq;
  return (candidates & ~want) | (res & want);
}

absl::StatusOr<uint64_t> FakeInode(const std::string& path) {
  if (path == "/usr/bin/bash") return 77;
  return absl::NotFoundError("stat " + path + ": ENOENT");
}

TEST(KernelScopeTest, PoliciesWithoutScopeTakeTheFastPath) {
  absl::StatusOr<CompiledPolicies> c = CompileText(Doc("a", "    - global\n", "    - event: close\n"));
  ASSERT_TRUE(c.ok());
  absl::StatusOr<KernelScopeTables> t = BuildKernelScope(*c, 5, FakeInode);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->config.scoped, 0u);
  EXPECT_TRUE(t->values.empty());
  EXPECT_EQ(KernelMatch(*t, Task{}, 1), 1u);
}

TEST(KernelScopeTest, MultiPolicyTablesMatchEachPolicysScope) {
  const std::string close = "    - event: close\n";
  const std::string yaml = Doc("root", "    - uid=0\n", close) + "---\n" +                         // 0
                           Doc("users", "    - uid>=1000\n    - uid!=1001\n", close) + "---\n" +   // 1
                           Doc("bash", "    - comm=bash\n    - follow\n", close) + "---\n" +       // 2
                           Doc("not-cat", "    - comm!=cat\n", close) + "---\n" +                  // 3
                           Doc("new", "    - pid=new\n", close) + "---\n" +                        // 4
                           Doc("tree", "    - tree=42\n", close) + "---\n" +                       // 5
                           Doc("ctr", "    - container\n", close) + "---\n" +                      // 6
                           Doc("host", "    - not-container\n    - mntns=1\n", close) + "---\n" +  // 7
                           Doc("exec", "    - exec=/usr/bin/bash\n", close) + "---\n" +            // 8
                           Doc("gone", "    - exec=/opt/none\n", close) + "---\n" +                // 9
                           Doc("pids", "    - pid=100,200\n    - pid<150\n", close) + "---\n" +    // 10
                           Doc("everyone", "    - global\n", close);                               // 11
  absl::StatusOr<CompiledPolicies> c = CompileText(yaml);
  ASSERT_TRUE(c.ok()) << c.status();
  absl::StatusOr<KernelScopeTables> t = BuildKernelScope(*c, 1000, FakeInode);
  ASSERT_TRUE(t.ok()) << t.status();
  const vg_scope_config& cfg = t->config;
  // exec=/opt/none cannot be resolved: left to user space, so no kernel filter for it.
  EXPECT_EQ(cfg.scoped, 0b0111'1111'1111u & ~(1u << 9));
  EXPECT_EQ(cfg.follow, 1u << 2);
  EXPECT_EQ(cfg.has_eq[VG_SCOPE_UID], 1u << 0);
  EXPECT_EQ(cfg.has[VG_SCOPE_UID], 0b11u);
  EXPECT_EQ(cfg.uid_range, 1u << 1);
  EXPECT_EQ(cfg.uid_min[1], 1000u);
  EXPECT_EQ(cfg.uid_max[1], uint64_t{1} << 32);
  EXPECT_EQ(cfg.has_eq[VG_SCOPE_COMM], 1u << 2);
  EXPECT_EQ(cfg.has[VG_SCOPE_COMM], 0b1100u);
  EXPECT_EQ(t->comms.at("cat").neq, 1u << 3);
  EXPECT_EQ(cfg.new_pid, 1u << 4);
  EXPECT_EQ(cfg.container, 1u << 6);
  EXPECT_EQ(cfg.host, 1u << 7);
  EXPECT_EQ(t->values.at({VG_SCOPE_EXEC, 77}).eq, 1u << 8);
  EXPECT_EQ(cfg.start_boot_ns, 1000u);

  const uint64_t all = (uint64_t{1} << 12) - 1;
  auto match = [&](Task task) { return KernelMatch(*t, task, all); };
  // root, cat, on the host, old, not under 42: root, host, pids(100), gone (user space) and everyone.
  EXPECT_EQ(match(Task{}), (1u << 0) | (1u << 7) | (1u << 9) | (1u << 10) | (1u << 11));
  Task user{.uid = 1000,
            .tgid = 300,
            .tid = 300,
            .start = 2000,
            .mntns = 9,
            .comm = "bash",
            .container_cgroup = true,
            .exe_inode = 77,
            .ancestors = {42, 1}};
  EXPECT_EQ(match(user), (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8) |
                             (1u << 9) | (1u << 11));
  user.uid = 1001;  // uid!=1001
  EXPECT_EQ(match(user) & (1u << 1), 0u);
  Task thread{.tgid = 200, .tid = 120};  // pid=100,200 matches the tgid, pid<150 checks the tgid
  EXPECT_EQ(match(thread) & (1u << 10), 0u);
  thread.tgid = 120, thread.tid = 100;
  EXPECT_EQ(match(thread) & (1u << 10), 1u << 10);
}

// Tracee's container=new: a task whose cgroup the cgroup_mkdir program
// recorded (a container cgroup made after start, or one below it);
// container!=new: one in a container that is not such.
TEST(KernelScopeTest, ContainerNewIsDecidedByTheNewContainersTable) {
  const std::string close = "    - event: close\n";
  absl::StatusOr<CompiledPolicies> c =
      CompileText(Doc("fresh", "    - container=new\n", close) + "---\n" +                        // 0
                  Doc("older", "    - container!=new\n", close) + "---\n" +                       // 1
                  Doc("fresh-bash", "    - container=new\n    - comm=bash\n", close) + "---\n" +  // 2
                  Doc("everyone", "    - global\n", close));                                      // 3
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->scopes()[0].new_container, true);
  EXPECT_FALSE(c->scopes()[0].in_container.has_value());  // the table says "container" by itself
  EXPECT_EQ(c->scopes()[1].new_container, false);
  EXPECT_EQ(c->scopes()[1].in_container, true);  // an older container, not the host
  absl::StatusOr<KernelScopeTables> t = BuildKernelScope(*c, 0, FakeInode);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->config.scoped, 0b0111u);
  EXPECT_EQ(t->config.new_container, 0b0101u);
  EXPECT_EQ(t->config.old_container, 0b0010u);
  EXPECT_EQ(t->config.container, 0b0010u);
  auto match = [&](Task task) { return KernelMatch(*t, task, 0b1111); };
  EXPECT_EQ(match(Task{}), 0b1000u);                                   // the host
  EXPECT_EQ(match(Task{.container_cgroup = true}), 0b1010u);                         // a container older than the sensor
  EXPECT_EQ(match(Task{.new_container = true, .container_cgroup = true}), 0b1001u);  // a new one, not bash
  EXPECT_EQ(match(Task{.comm = "bash", .new_container = true, .container_cgroup = true}), 0b1101u);  // new, bash
}

// Container lifecycle events are about the container: their container
// scope is the container's, the process scope kinds are not applied.
TEST(PolicyMatchTest, ContainerLifecycleEventsMatchTheContainersScope) {
  const std::string rule = "    - event: close\n";
  absl::StatusOr<CompiledPolicies> c =
      CompileText(Doc("fresh", "    - container=new\n", rule) + "---\n" +   // 0
                  Doc("older", "    - container!=new\n", rule) + "---\n" +  // 1
                  Doc("host", "    - not-container\n", rule) + "---\n" +    // 2
                  Doc("any", "    - container\n", rule) + "---\n" +         // 3
                  Doc("bash", "    - comm=bash\n", rule));                  // 4
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->MatchContainerScope(0b11111, true), 0b11001u);
  EXPECT_EQ(c->MatchContainerScope(0b11111, false), 0b11010u);
  EXPECT_EQ(c->MatchContainerScope(0b00100, true), 0u);
  EXPECT_EQ(c->drops(DropReason::kScope), 1u);
}

// uid is the real uid (as Tracee); euid the effective one, with the same operators.
TEST(KernelScopeTest, EuidIsTheEffectiveUidAndUidTheRealOne) {
  const std::string close = "    - event: close\n";
  absl::StatusOr<CompiledPolicies> c = CompileText(Doc("real-root", "    - uid=0\n", close) + "---\n" +
                                                   Doc("eff-root", "    - euid=0\n", close) + "---\n" +
                                                   Doc("eff-users", "    - euid>=1000\n    - euid!=1001\n", close));
  ASSERT_TRUE(c.ok()) << c.status();
  absl::StatusOr<KernelScopeTables> t = BuildKernelScope(*c, 0, FakeInode);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->config.scoped, 0b111u);
  EXPECT_EQ(t->config.has_eq[VG_SCOPE_EUID], 0b010u);
  EXPECT_EQ(t->config.has[VG_SCOPE_EUID], 0b110u);
  EXPECT_EQ(t->config.euid_range, 0b100u);
  EXPECT_EQ(t->config.euid_min[2], 1000u);
  EXPECT_EQ(t->config.has[VG_SCOPE_UID], 0b001u);
  // setresuid(65534, 0, 0): root by euid only.
  EXPECT_EQ(KernelMatch(*t, Task{.uid = 65534, .euid = 0}, 0b111), 0b010u);
  EXPECT_EQ(KernelMatch(*t, Task{.uid = 0, .euid = 1000}, 0b111), 0b101u);
  EXPECT_EQ(KernelMatch(*t, Task{.uid = 0, .euid = 1001}, 0b111), 0b001u);
  const std::string bad = Message(CompileText(Doc("x", "    - euid=root\n", close)).status());
  EXPECT_EQ(bad, "p.yaml:7:7: scope 'euid' expects an integer from 0 to 4294967295, got 'root'");
}

TEST(KernelScopeTest, FollowWithUnresolvableExecIsAnError) {
  absl::StatusOr<CompiledPolicies> c =
      CompileText(Doc("f", "    - exec=/opt/none\n    - follow\n", "    - event: close\n"));
  ASSERT_TRUE(c.ok());
  absl::StatusOr<KernelScopeTables> t = BuildKernelScope(*c, 0, FakeInode);
  EXPECT_EQ(Message(t.status()),
            "policy 'f': exec= with follow is decided in the kernel by the executable's inode, which is not "
            "available: stat /opt/none: ENOENT");
}

TEST(KernelScopeTest, TablesMustFitTheKernelMaps) {
  std::string comms;
  for (int i = 0; i <= VG_SCOPE_ENTRIES; ++i) comms += (comms.empty() ? "" : ",") + std::to_string(i);
  absl::StatusOr<CompiledPolicies> c =
      CompileText(Doc("a", "    - 'uid!=" + comms + "'\n", "    - event: close\n"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(Message(BuildKernelScope(*c, 0, FakeInode).status()),
            "the policies' scopes list 1025 uid, euid, pid, namespace, tree and exec values; the kernel's table "
            "holds 1024");
}

// The tables in the kernel maps' layout, which the loader writes as they are.
TEST(KernelScopeTest, MapEntriesAreTheTablesInTheKernelMapsLayout) {
  const std::string close = "    - event: close\n";
  absl::StatusOr<CompiledPolicies> c =
      CompileText(Doc("a", "    - uid=0\n    - comm=a-very-long-command-name\n", close) + "---\n" +
                  Doc("b", "    - uts!=builder\n", close));
  ASSERT_TRUE(c.ok()) << c.status();
  absl::StatusOr<KernelScopeTables> t = BuildKernelScope(*c, 7, FakeInode);
  ASSERT_TRUE(t.ok()) << t.status();
  ScopeMapEntries m = MapEntries(*t);
  EXPECT_EQ(m.config.scoped, t->config.scoped);
  EXPECT_EQ(m.config.start_boot_ns, 7u);
  ASSERT_EQ(m.values.size(), 1u);
  EXPECT_EQ(m.values[0].first.kind, VG_SCOPE_UID);
  EXPECT_EQ(m.values[0].first.value, 0u);
  EXPECT_EQ(m.values[0].second.eq, 1u);
  // A comm longer than the kernel's is cut to it (the NUL kept), as the task's comm is.
  ASSERT_EQ(m.comms.size(), 1u);
  EXPECT_EQ(std::string(m.comms[0].first.comm), "a-very-long-com");
  EXPECT_EQ(m.comms[0].second.eq, 1u);
  ASSERT_EQ(m.uts_names.size(), 1u);
  EXPECT_EQ(std::string(m.uts_names[0].first.name), "builder");
  EXPECT_EQ(m.uts_names[0].second.neq, 2u);
  EXPECT_EQ(m.uts_names[0].second.eq, 0u);
}

// ------------------------------------------------------------- user space

events::Event MakeEvent(const events::Registry& r, const std::string& name) {
  events::Event e;
  e.def = r.Find(name);
  e.pid = e.host_pid = 4242;
  e.tid = e.host_tid = 4242;
  e.uid = 1000;
  e.comm = "cat";
  e.executable = "/usr/bin/cat";
  e.host_name = "web-1";
  return e;
}

// Sets argument `name` (at its index, as the decoder places it) to `value`.
void SetArg(events::Event& e, const std::string& name, events::Value value) {
  const int index = e.def->ArgIndex(name);
  ASSERT_GE(index, 0) << name;
  e.SetArg(static_cast<size_t>(index)).value = std::move(value);
}

TEST(MatchUserTest, DataFiltersOnStrings) {
  absl::StatusOr<CompiledPolicies> c = CompileText(
      Doc("exact", "    - global\n", "    - event: openat\n      filters: [data.pathname=/etc/shadow]\n") +
      "---\n" +
      Doc("prefix", "    - global\n", "    - event: openat\n      filters: [data.pathname=/etc/sudoers*]\n") +
      "---\n" +
      Doc("suffix", "    - global\n", "    - event: openat\n      filters: ['data.pathname=*.key']\n") +
      "---\n" +
      Doc("contains", "    - global\n", "    - event: openat\n      filters: ['data.pathname=*/.ssh/*']\n") +
      "---\n" +
      Doc("not-tmp", "    - global\n",
          "    - event: openat\n      filters: ['data.pathname!=/tmp*,/dev/*']\n") +
      "---\n" +
      Doc("either", "    - global\n", "    - event: openat\n      filters: ['data.pathname=/a,/b*']\n"));
  ASSERT_TRUE(c.ok()) << c.status();
  auto match = [&](const std::string& path) {
    events::Event e = MakeEvent(Fake(), "openat");
    SetArg(e, "pathname", std::string(path));
    return c->MatchUser(e, ~uint64_t{0});
  };
  EXPECT_EQ(match("/etc/shadow"), 0b010001u);
  EXPECT_EQ(match("/etc/sudoers.d/x"), 0b010010u);
  EXPECT_EQ(match("/srv/tls/server.key"), 0b010100u);
  EXPECT_EQ(match("/home/u/.ssh/id_rsa"), 0b011000u);
  EXPECT_EQ(match("/tmp/x"), 0u);
  EXPECT_EQ(match("/b/c"), 0b110000u);
  EXPECT_EQ(match("/a"), 0b110000u);
  EXPECT_EQ(match("/ab"), 0b010000u);
  EXPECT_EQ(c->drops(DropReason::kData), 1u);  // /tmp/x
  // Only the policies the kernel passed can match.
  events::Event e = MakeEvent(Fake(), "openat");
  SetArg(e, "pathname", std::string("/etc/shadow"));
  EXPECT_EQ(c->MatchUser(e, 0b000001u), 0b000001u);
  EXPECT_EQ(c->MatchUser(e, 0b000010u), 0u);
  // A missing argument matches only `!=`.
  events::Event bare = MakeEvent(Fake(), "openat");
  EXPECT_EQ(c->MatchUser(bare, ~uint64_t{0}), 0b010000u);
}

TEST(MatchUserTest, DataFiltersOnNumbersFlagsAndAddresses) {
  absl::StatusOr<CompiledPolicies> c = CompileText(
      Doc("cwd", "    - global\n", "    - event: openat\n      filters: [data.dirfd=-100]\n") + "---\n" +
      Doc("writes", "    - global\n",
          "    - event: openat\n      filters: ['data.flags=*O_WRONLY*,*O_RDWR*']\n") +
      "---\n" + Doc("inet", "    - global\n", "    - event: connect\n      filters: [data.addr!=AF_UNIX]\n") +
      "---\n" + Doc("local", "    - global\n", "    - event: connect\n      filters: [data.addr=127.*]\n") +
      "---\n" + Doc("low", "    - global\n", "    - event: mmap\n      filters: ['data.addr<0x1000']\n") +
      "---\n" + Doc("argv", "    - global\n", "    - event: execve\n      filters: ['data.argv=*-rf /*']\n"));
  ASSERT_TRUE(c.ok()) << c.status();
  events::Event open = MakeEvent(Fake(), "openat");
  SetArg(open, "dirfd", int64_t{-100});
  SetArg(open, "flags", uint64_t{O_WRONLY | O_CREAT});  // typed, as decoded: the pattern reads its rendering
  EXPECT_EQ(c->MatchUser(open, ~uint64_t{0}), 0b11u);
  SetArg(open, "dirfd", int64_t{3});
  SetArg(open, "flags", uint64_t{O_RDONLY | O_CLOEXEC});
  EXPECT_EQ(c->MatchUser(open, ~uint64_t{0}), 0u);

  events::Event connect = MakeEvent(Fake(), "connect");
  SetArg(connect, "addr",
         events::Fields{{"sa_family", "AF_INET"}, {"sin_addr", "127.0.0.1"}, {"sin_port", "53"}});
  EXPECT_EQ(c->MatchUser(connect, ~uint64_t{0}), 0b1100u);
  SetArg(connect, "addr", events::Fields{{"sa_family", "AF_UNIX"}, {"sun_path", "/run/x"}});
  EXPECT_EQ(c->MatchUser(connect, ~uint64_t{0}), 0u);

  events::Event mmap = MakeEvent(Fake(), "mmap");
  SetArg(mmap, "addr", uint64_t{0x800});
  EXPECT_EQ(c->MatchUser(mmap, ~uint64_t{0}), 0b10000u);
  SetArg(mmap, "addr", uint64_t{0x7f00});
  EXPECT_EQ(c->MatchUser(mmap, ~uint64_t{0}), 0u);

  events::Event exec = MakeEvent(Fake(), "execve");
  SetArg(exec, "argv", std::vector<std::string>{"rm", "-rf", "/"});
  EXPECT_EQ(c->MatchUser(exec, ~uint64_t{0}), 0b100000u);
}

TEST(MatchUserTest, DataFiltersResolveTheirArgumentPerEventAtCompile) {
  // One rule over two events whose `addr` sits at different indexes.
  absl::StatusOr<CompiledPolicies> c = CompileText(
      Doc("addr", "    - global\n", "    - event: mmap,connect\n      filters: [data.addr=0x800]\n"));
  ASSERT_TRUE(c.ok()) << c.status();
  const events::Registry& r = Fake();
  for (const char* name : {"mmap", "connect"}) {
    const std::vector<Filter>* filters = c->FiltersOf(0, r.Find(name)->id);
    ASSERT_NE(filters, nullptr) << name;
    ASSERT_EQ(filters->size(), 1u);
    EXPECT_EQ((*filters)[0].arg_index, r.Find(name)->ArgIndex("addr")) << name;
  }
  EXPECT_NE(r.Find("mmap")->ArgIndex("addr"), r.Find("connect")->ArgIndex("addr"));
  events::Event mmap = MakeEvent(r, "mmap");
  SetArg(mmap, "addr", uint64_t{0x800});
  EXPECT_EQ(c->MatchUser(mmap, 1), 1u);
  events::Event connect = MakeEvent(r, "connect");
  SetArg(connect, "addr", events::Fields{{"sa_family", "AF_INET"}, {"sin_addr", "0x800"}});
  EXPECT_EQ(c->MatchUser(connect, 1), 1u) << "a socket address matches by its fields";
  // A name no event has is still an error at compile.
  EXPECT_EQ(ErrorOf(Filtered("mmap", "data.address=1")),
            "p.yaml:10:17: event 'mmap' has no argument 'address' (expected one of: addr, len)");
}

TEST(MatchUserTest, TypedValuesCompareAsNumbersStringsOrTheirRendering) {
  absl::StatusOr<CompiledPolicies> c = CompileText(
      Doc("fd", "    - global\n", "    - event: close\n      filters: ['data.fd>=3']\n") + "---\n" +
      Doc("hex", "    - global\n", "    - event: mmap\n      filters: ['data.addr=0x7f*']\n") + "---\n" +
      Doc("flags", "    - global\n", "    - event: openat\n      filters: ['data.flags=*O_CREAT*']\n") +
      "---\n" + Doc("path", "    - global\n", "    - event: openat\n      filters: ['data.pathname=/etc/*']\n"));
  ASSERT_TRUE(c.ok()) << c.status();
  const events::Registry& r = Fake();
  events::Event close = MakeEvent(r, "close");
  SetArg(close, "fd", uint64_t{3});
  EXPECT_EQ(c->MatchUser(close, ~uint64_t{0}), 0b0001u) << "an unsigned number, ordered as one";
  SetArg(close, "fd", uint64_t{2});
  EXPECT_EQ(c->MatchUser(close, ~uint64_t{0}), 0u);

  events::Event mmap = MakeEvent(r, "mmap");
  SetArg(mmap, "addr", uint64_t{0x7f00});
  EXPECT_EQ(c->MatchUser(mmap, ~uint64_t{0}), 0b0010u) << "a text pattern on a hex number reads \"0x7f00\"";
  SetArg(mmap, "addr", uint64_t{0x800});
  EXPECT_EQ(c->MatchUser(mmap, ~uint64_t{0}), 0u);

  events::Event open = MakeEvent(r, "openat");
  SetArg(open, "pathname", std::string("/etc/hosts"));
  SetArg(open, "flags", uint64_t{O_RDWR | O_CREAT | O_CLOEXEC});
  const uint64_t before = events::RenderCount();
  EXPECT_EQ(c->MatchUser(open, ~uint64_t{0}), 0b1100u);
  EXPECT_EQ(events::RenderCount(), before + 1) << "the flags pattern renders that one argument";
  SetArg(open, "pathname", std::string("/tmp/x"));
  SetArg(open, "flags", uint64_t{O_RDONLY});
  EXPECT_EQ(c->MatchUser(open, ~uint64_t{0}), 0u);
}

TEST(MatchUserTest, RetvalAndContextFields) {
  const std::string close = "    - event: close\n      filters: [";
  absl::StatusOr<CompiledPolicies> c =
      CompileText(Doc("failed", "    - global\n", close + "retval<0]\n") + "---\n" +                 // 0
                  Doc("ok", "    - global\n", close + "retval=0]\n") + "---\n" +                     // 1
                  Doc("big", "    - global\n", close + "retval>=3]\n") + "---\n" +                   // 2
                  Doc("bash", "    - global\n", close + "comm=bash]\n") + "---\n" +                  // 3
                  Doc("not-cat", "    - global\n", close + "'processName!=cat,dog']\n") + "---\n" +  // 4
                  Doc("pid", "    - global\n", close + "pid=4242]\n") + "---\n" +                    // 5
                  Doc("users", "    - global\n", close + "uid>=1000]\n") + "---\n" +                 // 6
                  Doc("web", "    - global\n", close + "hostName=web-*]\n") + "---\n" +              // 7
                  Doc("ctr", "    - global\n", close + "container]\n") + "---\n" +                   // 8
                  Doc("host", "    - global\n", close + "host]\n") + "---\n" +                       // 9
                  Doc("ctr-id", "    - global\n", close + "containerId=abc*]\n") + "---\n" +         // 10
                  Doc("syscall", "    - global\n", close + "syscall=close]\n"));                     // 11
  ASSERT_TRUE(c.ok()) << c.status();
  events::Event e = MakeEvent(Fake(), "close");
  e.retval = -9;
  EXPECT_EQ(c->MatchUser(e, ~uint64_t{0}), 0b1010'1110'0001u);
  e.retval = 0;
  e.comm = "bash";
  e.container_id = "abcdef";
  e.uid = 0;
  e.host_name = "db-1";
  EXPECT_EQ(c->MatchUser(e, ~uint64_t{0}), 0b1101'0011'1010u);
}

TEST(MatchUserTest, UserSpaceScopesAndDropCounts) {
  absl::StatusOr<CompiledPolicies> c = CompileText(
      Doc("bash", "    - exec=/usr/bin/bash\n", "    - event: close\n") + "---\n" +
      Doc("not-bash", "    - executable!=/usr/bin/bash\n", "    - event: close\n") + "---\n" +
      Doc("ctr", "    - container=abc\n", "    - event: close\n") + "---\n" +
      Doc("not-ctr", "    - container!=abc\n", "    - event: close\n") + "---\n" +
      Doc("followed", "    - exec=/usr/bin/bash\n    - follow\n", "    - event: close\n") + "---\n" +
      Doc("errors", "    - global\n", "    - event: close\n      filters: [retval<0]\n") + "---\n" +
      Doc("opens", "    - global\n", "    - event: openat\n"));
  ASSERT_TRUE(c.ok()) << c.status();
  events::Event e = MakeEvent(Fake(), "close");
  e.executable = "/usr/bin/bash";
  e.container_id = "abc123";
  // Decided in the kernel by inode with follow: user space does not re-check.
  EXPECT_EQ(c->MatchUser(e, ~uint64_t{0}), 0b0010101u);
  e.executable = "/usr/bin/cat";
  e.container_id = "";
  EXPECT_EQ(c->MatchUser(e, ~uint64_t{0}), 0b0011010u);
  e.retval = 0;
  EXPECT_EQ(c->MatchUser(e, 0b000101u), 0u);  // bash fails exec (scope) first
  EXPECT_EQ(c->drops(DropReason::kScope), 1u);
  EXPECT_EQ(c->MatchUser(e, 0b100000u), 0u);
  EXPECT_EQ(c->drops(DropReason::kRetval), 1u);
  EXPECT_EQ(c->total_drops(), 2u);
  // Events no policy selected yield nothing (and are not counted).
  events::Event other = MakeEvent(Fake(), "connect");
  EXPECT_EQ(c->MatchUser(other, ~uint64_t{0}), 0u);
  EXPECT_EQ(c->total_drops(), 2u);
}

// ------------------------------------------------------------- shipped policies

std::vector<std::string> ShippedFiles() {
  std::vector<std::string> files = {std::string(VIGIL_SOURCE_DIR) + "/policies/default.yaml"};
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(VIGIL_SOURCE_DIR) + "/policies/examples"))
    files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

TEST(ShippedPoliciesTest, EveryFileCompilesAgainstTheBuiltinRegistry) {
  std::vector<std::string> files = ShippedFiles();
  ASSERT_GE(files.size(), 5u);
  for (const std::string& file : files) {
    absl::StatusOr<std::vector<Policy>> ps = LoadPolicies({file});
    ASSERT_TRUE(ps.ok()) << ps.status();
    absl::StatusOr<CompiledPolicies> c = Compile(*ps, events::Registry::Builtin());
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_FALSE(c->events().empty()) << file;
    EXPECT_TRUE(BuildKernelScope(*c, 0).ok()) << file;
  }
  // All of them at once (as `-p policies/examples -p policies/default.yaml`).
  absl::StatusOr<std::vector<Policy>> all =
      LoadPolicies({std::string(VIGIL_SOURCE_DIR) + "/policies/examples",
                    std::string(VIGIL_SOURCE_DIR) + "/policies/default.yaml"});
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_TRUE(Compile(*all, events::Registry::Builtin()).ok());
}

TEST(ShippedPoliciesTest, DefaultCoversTheHostSensorBasics) {
  absl::StatusOr<CompiledPolicies> c = CompileSelection(
      {}, events::Registry::Builtin(), std::string(VIGIL_SOURCE_DIR) + "/policies/default.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  const events::Registry& r = events::Registry::Builtin();
  for (const char* name : {"sched_process_exec", "sched_process_exit", "execve", "openat", "connect",
                           "setuid", "setgid", "setresuid", "setresgid", "capset", "init_module",
                           "finit_module", "bpf", "ptrace", "memfd_create", "mount", "unshare", "setns",
                           // musl's open(2)/creat(2), files replaced by rename (issue 9)
                           "open", "creat", "security_inode_rename"})
    EXPECT_NE(c->PoliciesOf(r.Find(name)->id), 0u) << name;
  EXPECT_EQ(c->PoliciesOf(r.Find("read")->id), 0u);
  // A host running the default policy gets alerts: every built-in detection.
  for (const char* name : {"anti_debugging", "fileless_execution", "stdio_over_socket", "ld_preload",
                           "read_sensitive_file_untrusted", "port_scan"})
    EXPECT_NE(c->PoliciesOf(r.Find(name)->id), 0u) << name;

  // /etc/shadow opened for writing matches both file policies; reading /etc/passwd neither.
  events::Event e;
  e.def = r.Find("openat");
  SetArg(e, "pathname", std::string("/etc/shadow"));
  SetArg(e, "flags", uint64_t{O_WRONLY | O_TRUNC});  // typed, as decoded
  uint64_t m = c->MatchUser(e, c->PoliciesOf(e.def->id));
  std::vector<std::string> matched;
  for (size_t i = 0; i < c->names().size(); ++i)
    if (m >> i & 1) matched.push_back(c->names()[i]);
  EXPECT_THAT(matched, ElementsAre("credential-files", "config-changes"));
  SetArg(e, "pathname", std::string("/etc/passwd"));
  SetArg(e, "flags", uint64_t{O_RDONLY | O_CLOEXEC});
  EXPECT_EQ(c->MatchUser(e, c->PoliciesOf(e.def->id)), 0u);
}

TEST(ShippedPoliciesTest, ExamplesMeanWhatTheySay) {
  const events::Registry& r = events::Registry::Builtin();
  auto load = [&](const std::string& name) {
    absl::StatusOr<std::vector<Policy>> ps =
        LoadPolicies({std::string(VIGIL_SOURCE_DIR) + "/policies/examples/" + name});
    EXPECT_TRUE(ps.ok()) << ps.status();
    absl::StatusOr<CompiledPolicies> c = Compile(*ps, r);
    EXPECT_TRUE(c.ok()) << c.status();
    return *std::move(c);
  };
  CompiledPolicies shells = load("interactive-shells.yaml");
  EXPECT_EQ(shells.scopes()[0].comm.eq, (std::set<std::string>{"bash", "dash", "fish", "sh", "zsh"}));
  EXPECT_EQ(shells.scopes()[0].in_container, false);

  CompiledPolicies dns = load("dns-tools.yaml");
  EXPECT_THAT(dns.names(), ElementsAre("dns-tools"));
  EXPECT_TRUE(dns.scopes()[0].HasUserFilter());
  events::Event e;
  e.def = r.Find("connect");
  e.executable = "/usr/bin/dig";
  EXPECT_EQ(dns.MatchUser(e, 1), 1u);
  e.executable = "/usr/bin/curl";
  EXPECT_EQ(dns.MatchUser(e, 1), 0u);

  CompiledPolicies users = load("user-activity.yaml");
  EXPECT_THAT(users.names(), ElementsAre("user-programs", "new-privilege-changes"));
  EXPECT_EQ(users.scopes()[0].uid.min, 1000u);
  EXPECT_EQ(users.scopes()[0].uid.max, 65533u);
  EXPECT_EQ(users.scopes()[1].new_pid, true);

  CompiledPolicies escape = load("container-escape.yaml");
  EXPECT_EQ(escape.scopes()[0].in_container, true);
  CompiledPolicies sensitive = load("sensitive-files.yaml");
  EXPECT_EQ(sensitive.FiltersOf(0, r.Find("openat")->id)->size(), 2u);
}

}  // namespace
}  // namespace vigil::policies

namespace vigil::policies {
namespace {

TEST(ShippedPoliciesTest, DefaultSeesExecutableMemoryAndFilesDroppedInTmp) {
  absl::StatusOr<CompiledPolicies> c = CompileSelection(
      {}, events::Registry::Builtin(), std::string(VIGIL_SOURCE_DIR) + "/policies/default.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  const events::Registry& r = events::Registry::Builtin();
  EXPECT_NE(c->PoliciesOf(r.Find("mem_prot_alert")->id), 0u);
  events::Event e;
  e.def = r.Find("magic_write");
  SetArg(e, "pathname", std::string("/tmp/x/dropper"));
  EXPECT_NE(c->MatchUser(e, c->PoliciesOf(e.def->id)), 0u);
  SetArg(e, "pathname", std::string("/home/user/notes.txt"));
  EXPECT_EQ(c->MatchUser(e, c->PoliciesOf(e.def->id)), 0u);
}

}  // namespace
}  // namespace vigil::policies

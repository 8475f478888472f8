// The condition grammar, every field, the loader (lists, macros, exceptions,
// append/override) and its errors with file:line:column.
#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rules_test_util.h"

namespace vigil::rules {
namespace {

using testing::Ev;
using testing::FakeLookup;
using ::testing::HasSubstr;

absl::StatusOr<std::unique_ptr<DetectionEngine>> Load(const std::string& yaml, bool builtin = false) {
  return DetectionEngine::Create({.builtin = builtin, .texts = {{"t.yaml", yaml}}},
                                 events::Registry::Builtin());
}

std::string Error(const std::string& yaml) {
  auto e = Load(yaml);
  return e.ok() ? "(loaded)" : std::string(e.status().message());
}

std::string RuleWith(const std::string& condition, const std::string& extra = "") {
  return extra + "- rule: t\n  desc: d\n  priority: warning\n  condition: " + condition + "\n";
}

// Does a rule with `condition` fire on `e`?
bool Match(const std::string& condition, const events::Event& e, const ProcessLookup& l = NoProcessLookup(),
           const std::string& extra = "") {
  auto engine = Load(RuleWith(condition, extra));
  EXPECT_TRUE(engine.ok()) << condition << ": " << engine.status();
  if (!engine.ok()) return false;
  (*engine)->Enable(testing::AllIds(**engine));
  return !testing::Fired(**engine, e, l).empty();
}

events::Event OpenAt(const std::string& path, int64_t flags) {
  return Ev("openat", {{"dirfd", -100}, {"pathname", path}, {"flags", flags}, {"mode", 0}});
}

TEST(RulesGrammar, ComparisonOperators) {
  events::Event e = OpenAt("/etc/passwd", 0);
  e.retval = 3;
  EXPECT_TRUE(Match("evt.name = openat and evt.retval = 3", e));
  EXPECT_TRUE(Match("evt.name == openat and evt.retval != 4", e));
  EXPECT_FALSE(Match("evt.name = openat and evt.retval != 3", e));
  EXPECT_TRUE(Match("evt.name = openat and evt.retval < 4 and evt.retval <= 3", e));
  EXPECT_FALSE(Match("evt.name = openat and evt.retval < 3", e));
  EXPECT_TRUE(Match("evt.name = openat and evt.retval > 2 and evt.retval >= 3", e));
  EXPECT_FALSE(Match("evt.name = openat and evt.retval > 3", e));
  // Integers compare as integers, not text: 10 > 9.
  e.retval = 10;
  EXPECT_TRUE(Match("evt.name = openat and evt.retval > 9", e));
  EXPECT_TRUE(Match("evt.name = openat and evt.retval = 0xa", e));
}

TEST(RulesGrammar, StringOperators) {
  events::Event e = OpenAt("/etc/Passwd.bak", 0);
  EXPECT_TRUE(Match("evt.name = openat and fd.name contains Passwd", e));
  EXPECT_FALSE(Match("evt.name = openat and fd.name contains passwd", e));
  EXPECT_TRUE(Match("evt.name = openat and fd.name icontains PASSWD", e));
  EXPECT_TRUE(Match("evt.name = openat and fd.name startswith /etc/", e));
  EXPECT_FALSE(Match("evt.name = openat and fd.name startswith /usr", e));
  EXPECT_TRUE(Match("evt.name = openat and fd.name endswith .bak", e));
  EXPECT_TRUE(Match("evt.name = openat and fd.name glob '/etc/*.bak'", e));
  EXPECT_TRUE(Match("evt.name = openat and fd.name glob '/etc/[OP]asswd.ba?'", e));
  EXPECT_FALSE(Match("evt.name = openat and fd.name glob '/etc/*.txt'", e));
  EXPECT_TRUE(Match("evt.name = openat and fd.name = \"/etc/Passwd.bak\"", e));
  EXPECT_TRUE(Match("evt.name = openat and fd.name > /etc/A", e));
}

TEST(RulesGrammar, ListOperators) {
  events::Event e = OpenAt("/etc/ssh/sshd_config", 0);
  EXPECT_TRUE(Match("evt.name = openat and fd.name in (/etc/hosts, /etc/ssh/sshd_config)", e));
  EXPECT_FALSE(Match("evt.name = openat and fd.name in (/etc/hosts, /etc/ssh)", e));
  EXPECT_TRUE(Match("evt.name = openat and fd.name pmatch (/etc/ssh, /var)", e));
  EXPECT_TRUE(Match("evt.name = openat and fd.name pmatch (/etc)", e));
  EXPECT_FALSE(Match("evt.name = openat and fd.name pmatch (/etc/ss, /var)", e))
      << "path prefix, not text prefix";
  EXPECT_TRUE(Match("evt.name = openat and fd.name pmatch (/etc/s*)", e)) << "globs in pmatch";
  EXPECT_TRUE(Match("evt.name = openat and fd.name intersects (/x, /etc/ssh/sshd_config)", e));
  EXPECT_TRUE(Match("evt.name = openat and evt.retval in (0, 1)", e));
  EXPECT_TRUE(Match("evt.name = openat and fd.name in (cfgs)", e, NoProcessLookup(),
                    "- list: cfgs\n  items: [/etc/ssh/sshd_config]\n"));
  EXPECT_TRUE(Match("evt.name = openat and fd.name in cfgs", e, NoProcessLookup(),
                    "- list: cfgs\n  items: [/etc/ssh/sshd_config]\n"));
}

TEST(RulesGrammar, ListsOfLists) {
  std::string lists =
      "- list: a\n  items: [/etc/hosts]\n- list: b\n  items: [a, /etc/ssh/sshd_config]\n- list: c\n  items: "
      "[b]\n";
  EXPECT_TRUE(
      Match("evt.name = openat and fd.name in (c)", OpenAt("/etc/hosts", 0), NoProcessLookup(), lists));
  EXPECT_TRUE(Match("evt.name = openat and fd.name in (c, /x)", OpenAt("/etc/ssh/sshd_config", 0),
                    NoProcessLookup(), lists));
  EXPECT_FALSE(
      Match("evt.name = openat and fd.name in (c)", OpenAt("/etc/shadow", 0), NoProcessLookup(), lists));
  EXPECT_THAT(Error("- list: a\n  items: [b]\n- list: b\n  items: [a]\n" +
                    RuleWith("evt.name = openat and fd.name in (a)")),
              HasSubstr("contains itself"));
}

TEST(RulesGrammar, ExistsAndFlags) {
  EXPECT_TRUE(Match("evt.name = openat and evt.arg.flags contains O_TRUNC", OpenAt("/x", 01 | 01000)));
  EXPECT_FALSE(Match("evt.name = openat and evt.arg.flags contains O_TRUNC", OpenAt("/x", 01 | 0100)));
  EXPECT_FALSE(Match("evt.name = openat and evt.arg.flags contains O_TRUN", OpenAt("/x", 01 | 01000)))
      << "a flag name, not a substring";
  EXPECT_TRUE(Match("evt.name = openat and evt.arg.flags contains O_RDONLY", OpenAt("/x", 0)));
  EXPECT_TRUE(Match("evt.name = openat and evt.arg.flags contains 512", OpenAt("/x", 01 | 01000))) << "bits";
  EXPECT_TRUE(Match("evt.name = openat and evt.arg.flags in (O_APPEND, O_TRUNC)", OpenAt("/x", 01 | 01000)));
  EXPECT_TRUE(Match("evt.name = openat and evt.arg.flags = 513", OpenAt("/x", 01 | 01000)));
  EXPECT_TRUE(Match("evt.name = openat and evt.arg.pathname exists", OpenAt("/x", 0)));
  events::Event bare = Ev("openat", {{"flags", 0}});
  EXPECT_FALSE(Match("evt.name = openat and evt.arg.pathname exists", bare));
  EXPECT_TRUE(Match("evt.name = openat and not evt.arg.pathname exists", bare));
}

TEST(RulesGrammar, PrecedenceAndParentheses) {
  events::Event e = OpenAt("/a", 0);
  // not > and > or: "a or b and c" is "a or (b and c)".
  EXPECT_TRUE(Match("evt.name = openat and (fd.name = /a or fd.name = /b and fd.name = /c)", e));
  EXPECT_FALSE(Match("evt.name = openat and ((fd.name = /a or fd.name = /b) and fd.name = /c)", e));
  EXPECT_TRUE(Match("evt.name = openat and not fd.name = /b and fd.name = /a", e));
  EXPECT_FALSE(Match("evt.name = openat and not (fd.name = /b or fd.name = /a)", e));
  EXPECT_TRUE(Match("evt.name = openat and not not fd.name = /a", e));
  EXPECT_TRUE(Match("evt.name = close or evt.name = openat and fd.name = /a", e));
}

TEST(RulesGrammar, Macros) {
  std::string macros =
      "- macro: is_open\n  condition: evt.name in (openat, open)\n"
      "- macro: etc\n  condition: fd.name startswith /etc and is_open\n";
  EXPECT_TRUE(Match("etc", OpenAt("/etc/x", 0), NoProcessLookup(), macros));
  EXPECT_FALSE(Match("etc", OpenAt("/tmp/x", 0), NoProcessLookup(), macros));
  EXPECT_TRUE(Match("is_open and not etc", OpenAt("/tmp/x", 0), NoProcessLookup(), macros));
  EXPECT_THAT(Error("- macro: m\n  condition: evt.name = openat and m\n" + RuleWith("m")),
              HasSubstr("uses itself"));
}

TEST(RulesGrammar, ExceptionsRewriteToAndNot) {
  std::string yaml =
      "- rule: t\n  desc: d\n  priority: warning\n  condition: evt.name = openat and fd.name startswith "
      "/etc\n"
      "  exceptions:\n"
      "    - name: writers\n      fields: [proc.name, fd.name]\n      comps: [=, startswith]\n"
      "      values:\n        - [apt, /etc/apt]\n        - [vi, /etc/hosts]\n"
      "    - name: names\n      fields: proc.name\n      values: [dpkg, rpm]\n"
      "    - name: placeholder\n      fields: [proc.name]\n";
  auto engine = Load(yaml);
  ASSERT_TRUE(engine.ok()) << engine.status();
  (*engine)->Enable(testing::AllIds(**engine));
  auto fires = [&](const std::string& comm, const std::string& path) {
    events::Event e = OpenAt(path, 0);
    e.comm = comm;
    return !testing::Fired(**engine, e).empty();
  };
  EXPECT_TRUE(fires("cat", "/etc/apt/sources.list"));
  EXPECT_FALSE(fires("apt", "/etc/apt/sources.list"));
  EXPECT_TRUE(fires("apt", "/etc/hosts"));
  EXPECT_FALSE(fires("vi", "/etc/hosts"));
  EXPECT_FALSE(fires("dpkg", "/etc/x"));
}

TEST(RulesGrammar, AppendOverrideAndDisable) {
  std::string base = RuleWith("evt.name = openat and fd.name = /a") + "- list: l\n  items: [/b]\n";
  auto fires = [](const std::string& yaml, const std::string& path) {
    auto engine = Load(yaml);
    EXPECT_TRUE(engine.ok()) << engine.status();
    if (!engine.ok()) return false;
    (*engine)->Enable(testing::AllIds(**engine));
    return !testing::Fired(**engine, OpenAt(path, 0)).empty();
  };
  EXPECT_TRUE(fires(
      base + "- rule: t\n  condition: or (evt.name = openat and fd.name = /b)\n  append: true\n", "/b"));
  EXPECT_TRUE(fires(base + "- rule: t\n  condition: or (evt.name = openat and fd.name = /b)\n  override:\n   "
                           " condition: append\n",
                    "/b"));
  EXPECT_FALSE(fires(
      base +
          "- rule: t\n  condition: evt.name = openat and fd.name = /c\n  override:\n    condition: replace\n",
      "/a"));
  EXPECT_FALSE(fires(base + "- rule: t\n  enabled: false\n", "/a"));
  EXPECT_TRUE(
      fires(base + "- list: l\n  items: [/c]\n  append: true\n" +
                "- rule: u\n  desc: d\n  priority: info\n  condition: evt.name = openat and fd.name in (l)\n",
            "/c"));
  // A later rule of the same name replaces the earlier one.
  EXPECT_FALSE(fires(base + RuleWith("evt.name = openat and fd.name = /z"), "/a"));
}

// A disabled rule is known by name (never compiled or run): selecting it
// says why it does not run, instead of "unknown event".
TEST(RulesGrammar, DisabledRuleIsKnownAndSaysWhy) {
  auto engine = Load(RuleWith("evt.name = openat and fd.name = /a") +
                     "- rule: off\n  desc: d\n  priority: info\n  condition: evt.name = openat and nope.x = 1\n"
                     "  enabled: false\n");
  ASSERT_TRUE(engine.ok()) << engine.status();  // its broken condition is not compiled
  const auto& defs = (*engine)->event_defs();
  auto off = std::find_if(defs.begin(), defs.end(), [](const events::EventDef& d) { return d.name == "off"; });
  ASSERT_NE(off, defs.end());
  EXPECT_THAT(off->detection->unavailable, ::testing::HasSubstr("is disabled (enabled: false)"));
  auto t = std::find_if(defs.begin(), defs.end(), [](const events::EventDef& d) { return d.name == "t"; });
  ASSERT_NE(t, defs.end());
  EXPECT_TRUE(t->detection->unavailable.empty());
  EXPECT_LT(t->id, off->id);  // enabled rules keep their ids
  (*engine)->Enable(testing::AllIds(**engine));
  EXPECT_EQ(testing::Fired(**engine, OpenAt("/a", 0)).size(), 1u);
}

TEST(RulesGrammar, FalcoKeysAreAccepted) {
  auto e = Load(
      "- required_engine_version: 15\n"
      "- macro: spawned\n  condition: evt.type in (execve, execveat) and evt.dir = <\n"
      "- rule: Falco style\n  desc: d\n  condition: spawned and proc.name = nc\n  output: \"x %proc.name\"\n"
      "  priority: NOTICE\n  source: syscall\n  tags: [a]\n  enabled: true\n"
      "- rule: Plugin rule\n  desc: d\n  condition: ct.name = x\n  output: x\n  priority: ERROR\n  source: "
      "aws_cloudtrail\n");
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_EQ((*e)->event_defs().size(), 1u);
  EXPECT_EQ((*e)->event_defs()[0].name, "falco_style");
  EXPECT_EQ((*e)->event_defs()[0].detection->severity, 0);
  EXPECT_EQ((*e)->event_defs()[0].detection->signature_name, "Falco style");
}

TEST(RulesGrammar, Severities) {
  EXPECT_EQ(*ParseSeverity("emergency"), 4);
  EXPECT_EQ(*ParseSeverity("ALERT"), 4);
  EXPECT_EQ(*ParseSeverity("critical"), 4);
  EXPECT_EQ(*ParseSeverity("error"), 3);
  EXPECT_EQ(*ParseSeverity("warning"), 1);
  EXPECT_EQ(*ParseSeverity("notice"), 0);
  EXPECT_EQ(*ParseSeverity("informational"), 0);
  EXPECT_EQ(*ParseSeverity("medium"), 2);
  EXPECT_EQ(*ParseSeverity("3"), 3);
  EXPECT_FALSE(ParseSeverity("urgent").ok());
}

TEST(RulesGrammar, UserRulesGetIdsAfterTheBuiltins) {
  auto e = Load(RuleWith("evt.name = openat"), true);
  ASSERT_TRUE(e.ok()) << e.status();
  uint32_t max_builtin = 0, user = 0;
  for (const auto& d : (*e)->event_defs()) {
    if (d.name == "t")
      user = d.id;
    else
      max_builtin = std::max(max_builtin, d.id);
  }
  EXPECT_GT(user, max_builtin);
  // Overriding a built-in by name keeps its id.
  auto o = Load(
      "- rule: anti_debugging\n  desc: mine\n  severity: high\n  condition: evt.name = ptrace and "
      "evt.arg.request = 16\n",
      true);
  ASSERT_TRUE(o.ok()) << o.status();
  for (const auto& d : (*o)->event_defs())
    if (d.name == "anti_debugging") {
      EXPECT_EQ(d.id, 6000u);
      EXPECT_EQ(d.detection->severity, 3);
    }
}

TEST(RulesGrammar, RulePathsLoadFilesAndDirectories) {
  auto dir = std::filesystem::temp_directory_path() / ("vigil_rules_test_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "a.yaml") << RuleWith("evt.name = openat", "");
  std::ofstream(dir / "b.yml") << "- rule: u\n  desc: d\n  priority: info\n  condition: evt.name = close\n";
  std::ofstream(dir / "ignored.txt") << "not yaml: [";
  auto e =
      DetectionEngine::Create({.builtin = false, .user_paths = {dir.string()}}, events::Registry::Builtin());
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ((*e)->event_defs().size(), 2u);
  auto missing = DetectionEngine::Create({.builtin = false, .user_paths = {(dir / "nope.yaml").string()}},
                                         events::Registry::Builtin());
  EXPECT_THAT(missing.status().message(), HasSubstr("nope.yaml: no such file"));
  std::filesystem::remove_all(dir);
}

// ---- errors: file:line:column and what was expected

TEST(RulesErrors, YamlSyntax) {
  EXPECT_EQ(Error("- rule: t\n  desc: [unclosed\n"), "t.yaml:3:1: end of sequence flow not found");
  EXPECT_EQ(Error("rule: t\n"), "t.yaml:1:1: expected a sequence of items (- rule:, - macro:, - list:)");
  EXPECT_EQ(Error("- foo: t\n"), "t.yaml:1:3: expected 'rule', 'macro' or 'list'");
  EXPECT_EQ(
      Error("- rule: t\n  desc: d\n  priority: warning\n  condtion: evt.name = openat\n"),
      "t.yaml:4:3: unknown key 'condtion' (expected one of: rule, desc, condition, output, priority, tags, "
      "enabled, exceptions, append, override, source, warn_evttypes, skip-if-unknown-filter, capture, "
      "capture_duration, id, signature_id, event, event_id, signature_name, severity, category, technique, "
      "external_id, tactic, version, description, detector, params, unavailable_reason, needs_exec_env)");
  EXPECT_EQ(
      Error("- rule: t\n  desc: d\n  priority: loud\n  condition: evt.name = openat\n"),
      "t.yaml:3:13: unknown severity 'loud' (expected info, low, medium, high, critical, 0-4, or a Falco "
      "priority: emergency, alert, critical, error, warning, notice, informational, debug)");
  EXPECT_EQ(Error("- rule: t\n  desc: d\n  priority: info\n"), "t.yaml:1:3: rule 't': expected 'condition'");
  EXPECT_EQ(Error("- list: l\n  items: x\n"), "t.yaml:2:10: expected a list for 'items'");
  EXPECT_EQ(Error("- rule: t\n  enabled: maybe\n  condition: evt.name = openat\n"),
            "t.yaml:2:12: expected true or false for 'enabled'");
}

TEST(RulesErrors, ConditionSyntaxPointsIntoTheCondition) {
  EXPECT_EQ(Error(RuleWith("evt.name = openat and (fd.name = /a")),
            "t.yaml:4:49: expected ')' (at the end) in the condition of rule 't'");
  EXPECT_EQ(Error(RuleWith("evt.name = openat and fd.name /a")),
            "t.yaml:4:44: expected an operator after 'fd.name' (=, !=, <, <=, >, >=, contains, icontains, "
            "startswith, endswith, glob, pmatch, in, intersects, exists) (found '/a') in the condition of "
            "rule 't'");
  EXPECT_EQ(
      Error(RuleWith("evt.name = openat and and")),
      "t.yaml:4:36: expected a field, a macro, 'not' or '(' (found 'and') in the condition of rule 't'");
  EXPECT_EQ(Error(RuleWith("evt.name = openat fd.name = /a")),
            "t.yaml:4:32: expected 'and', 'or' or the end of the condition (found 'fd.name') in the "
            "condition of rule 't'");
  EXPECT_EQ(Error(RuleWith("evt.name in (openat")),
            "t.yaml:4:33: expected ',' or ')' (at the end) in the condition of rule 't'");
  EXPECT_EQ(Error(RuleWith("evt.name = 'openat")),
            "t.yaml:4:25: unterminated string (missing closing quote) (found ''openat') in the condition of "
            "rule 't'");
  // A folded block scalar: the line of the offending token.
  EXPECT_EQ(Error("- rule: t\n  desc: d\n  priority: info\n  condition: >\n    evt.name = openat\n    and "
                  "fd.name ==\n"),
            "t.yaml:6:19: expected a value after '==' (at the end) in the condition of rule 't'");
}

TEST(RulesErrors, UnknownNamesAreNamed) {
  EXPECT_EQ(Error(RuleWith("evt.name = openat and fd.nam = /a")),
            "t.yaml:4:36: unknown field 'fd.nam' (found 'fd.nam') in the condition of rule 't'");
  EXPECT_EQ(Error(RuleWith("evt.name = openat and is_etc")),
            "t.yaml:4:36: unknown macro 'is_etc' (found 'is_etc') in the condition of rule 't'");
  EXPECT_EQ(Error(RuleWith("evt.name = openat and fd.name in secret_files")),
            "t.yaml:4:47: unknown list 'secret_files' (or write the values as (a, b)) (found 'secret_files') "
            "in the "
            "condition of rule 't'");
  EXPECT_EQ(Error(RuleWith("evt.name = openat and evt.arg.pathnme = /a")),
            "t.yaml:4:36: unknown argument 'pathnme' (no event of this rule has it: openat) in the condition "
            "of rule 't'");
  EXPECT_EQ(Error(RuleWith("evt.name = openat and proc.pid = abc")),
            "t.yaml:4:36: 'proc.pid' is a number, not 'abc' in the condition of rule 't'");
  // In a macro: the error points into the macro.
  EXPECT_EQ(Error("- macro: m\n  condition: fd.nam = /a\n" + RuleWith("evt.name = openat and m")),
            "t.yaml:2:14: unknown field 'fd.nam' (found 'fd.nam') in the condition of macro 'm'");
}

TEST(RulesErrors, EventTypeMustBeRestricted) {
  EXPECT_EQ(Error(RuleWith("proc.name = cat")),
            "t.yaml:1:3: rule 't': the condition does not restrict the event type (add evt.name = X or "
            "evt.name in (X, Y))");
  EXPECT_EQ(Error(RuleWith("not evt.name = openat")),
            "t.yaml:1:3: rule 't': the condition does not restrict the event type (add evt.name = X or "
            "evt.name in (X, Y))");
  EXPECT_EQ(Error(RuleWith("evt.name = openat and evt.name = close")),
            "t.yaml:1:3: rule 't': the condition matches no event");
}

TEST(RulesErrors, MissingInputsCancelNotFail) {
  auto e = Load(RuleWith("evt.name = no_such_event"));
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_EQ((*e)->cancelled().size(), 1u);
  EXPECT_EQ((*e)->cancelled()[0].reason,
            "its input event no_such_event does not exist in this build of vigil");
}

TEST(RulesErrors, DuplicateEventNames) {
  EXPECT_EQ(Error("- rule: OpenAt\n  desc: d\n  priority: info\n  condition: evt.name = close\n"),
            "t.yaml:1:3: rule 'OpenAt': 'openat' is already an event name; set 'event:' to another name");
  EXPECT_THAT(Error(RuleWith("evt.name = close") +
                    "- rule: T\n  desc: d\n  priority: info\n  condition: evt.name = close\n"),
              HasSubstr("has the event name 't' of rule 't'"));
}

// ---- fields

TEST(RulesFields, EventFields) {
  events::Event e = OpenAt("/etc/hosts", 0);
  e.retval = -2;
  EXPECT_TRUE(Match("evt.type = openat and evt.id = 257 and evt.retval = -2 and evt.res = -2", e));
  EXPECT_TRUE(Match("evt.name = openat and evt.hostname = host-1 and evt.dir = <", e));
  EXPECT_TRUE(
      Match("evt.name = openat and evt.arg.pathname = /etc/hosts and evt.arg[pathname] = /etc/hosts "
            "and data.pathname = /etc/hosts and evt.arg.dirfd = -100",
            e));
}

TEST(RulesFields, ProcessFields) {
  events::Event e = Ev("close", {{"fd", 3}});
  e.pid = 10, e.tid = 11, e.ppid = 9, e.host_pid = 4242;
  e.comm = "python3";
  e.executable = "/usr/bin/python3.11";
  e.parent_comm = "";
  FakeLookup l;
  l.ancestors = {
      {"bash", "/usr/bin/bash"}, {"sshd", "/usr/sbin/sshd"}, {"systemd", "/usr/lib/systemd/systemd"}};
  l.argv[4242] = {"python3", "-c", "print(1)"};
  EXPECT_TRUE(
      Match("evt.name = close and proc.name = python3 and proc.exe = /usr/bin/python3.11 "
            "and proc.pid = 10 and proc.tid = 11 and proc.ppid = 9",
            e, l));
  EXPECT_TRUE(Match(
      "evt.name = close and proc.args = \"-c print(1)\" and proc.cmdline = \"python3 -c print(1)\"", e, l));
  EXPECT_TRUE(Match("evt.name = close and proc.pname = bash and proc.pexe = /usr/bin/bash", e, l));
  EXPECT_TRUE(
      Match("evt.name = close and proc.aname[0] = python3 and proc.aname[1] = bash and proc.aname[2] = sshd "
            "and proc.aexe[3] = /usr/lib/systemd/systemd",
            e, l));
  EXPECT_FALSE(Match("evt.name = close and proc.aname[4] exists", e, l));
  EXPECT_TRUE(Match("evt.name = close and proc.aname in (sshd)", e, l));
  EXPECT_TRUE(Match("evt.name = close and proc.aname = systemd", e, l));
  EXPECT_FALSE(Match("evt.name = close and proc.aname in (nginx, httpd)", e, l));
  EXPECT_TRUE(Match("evt.name = close and proc.aexe endswith sshd", e, l));
  // The enriched parent comm wins over the lookup.
  e.parent_comm = "zsh";
  EXPECT_TRUE(Match("evt.name = close and proc.pname = zsh", e, l));
}

TEST(RulesFields, ExecArgvComesFromTheEvent) {
  events::Event e = Ev("sched_process_exec", {{"pathname", std::string("/usr/bin/grep")},
                                              {"argv", std::vector<std::string>{"grep", "-r", "id_rsa"}}});
  e.executable = "";
  EXPECT_TRUE(
      Match("evt.name = sched_process_exec and proc.args = \"-r id_rsa\" and proc.exe = /usr/bin/grep", e));
  EXPECT_TRUE(Match("evt.name = sched_process_exec and evt.arg.argv = id_rsa", e)) << "lists: any element";
  EXPECT_FALSE(Match("evt.name = sched_process_exec and evt.arg.argv != id_rsa", e));
}

TEST(RulesFields, IdentityFields) {
  events::Event e = Ev("close", {{"fd", 3}});
  e.uid = 0;
  EXPECT_TRUE(Match("evt.name = close and user.uid = 0 and user.euid = 0 and container.id = host", e));
  e.container_id = "abc";
  EXPECT_TRUE(Match("evt.name = close and container.id = abc", e));
}

TEST(RulesFields, FileFields) {
  events::Event w =
      Ev("security_file_open", {{"pathname", std::string("/var/log/syslog")}, {"flags", 01 | 01000}});
  EXPECT_TRUE(
      Match("evt.name = security_file_open and fd.name = /var/log/syslog and fd.directory = /var/log "
            "and fd.filename = syslog and evt.is_open_write = true and evt.is_open_read = false",
            w));
  events::Event rw = OpenAt("/x", 02);
  EXPECT_TRUE(Match("evt.name = openat and evt.is_open_write = true and evt.is_open_read = true", rw));
  events::Event ren =
      Ev("security_inode_rename", {{"old_path", std::string("/a/b")}, {"new_path", std::string("/c/d")}});
  EXPECT_TRUE(Match("evt.name = security_inode_rename and fd.name = /c/d", ren))
      << "the file a rename creates";
  events::Event root = OpenAt("/x", 0);
  EXPECT_TRUE(Match("evt.name = openat and fd.directory = /", root));
  // close has no file argument: the rule could never fire, which is an error.
  EXPECT_EQ(Error(RuleWith("evt.name = close and fd.name exists")),
            "t.yaml:1:3: rule 't': the condition can never be true");
}

TEST(RulesFields, SocketFields) {
  events::Event c = Ev("security_socket_connect",
                       {{"sockfd", 3}, {"type", 1}, {"remote_addr", testing::Inet("10.1.2.3", 443)}});
  EXPECT_TRUE(Match(
      "evt.name = security_socket_connect and fd.rip = 10.1.2.3 and fd.rport = 443 and fd.l4proto = tcp "
      "and fd.rdomain = \"\"",
      c));
  EXPECT_FALSE(Match("evt.name = security_socket_connect and fd.rport > 1000", c));
  events::Event b = Ev("security_socket_bind",
                       {{"sockfd", 3}, {"local_addr", testing::Inet("0.0.0.0", 8080)}, {"type", 2}});
  EXPECT_TRUE(Match(
      "evt.name = security_socket_bind and fd.lip = 0.0.0.0 and fd.lport = 8080 and fd.l4proto = udp", b));
  events::Event u =
      Ev("security_socket_connect", {{"sockfd", 3}, {"remote_addr", testing::Unix("/run/docker.sock")}});
  EXPECT_TRUE(
      Match("evt.name = security_socket_connect and fd.name = /run/docker.sock and not fd.rip exists", u));
}

TEST(RulesFields, ValComparesTwoFields) {
  events::Event e = Ev("process_vm_writev", {{"pid", 10}});
  e.pid = 10;
  EXPECT_TRUE(Match("evt.name = process_vm_writev and evt.arg.pid = val(proc.pid)", e));
  EXPECT_FALSE(Match("evt.name = process_vm_writev and evt.arg.pid != val(proc.pid)", e));
}

}  // namespace
}  // namespace vigil::rules

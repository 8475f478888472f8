// --config: the YAML file's checks (every error names file:line:column) and
// its precedence under the command line, on a CLI11 app shaped like vigil's.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>

#include "vigil/engine/cli_config.h"
#include "vigil/engine/config_file.h"

namespace vigil::engine {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::vector<ConfigKey> kKeys = {
    {"output", ConfigKey::Kind::kList},   {"policy", ConfigKey::Kind::kList},
    {"events", ConfigKey::Kind::kList},   {"log-level", ConfigKey::Kind::kScalar},
    {"listen", ConfigKey::Kind::kScalar}, {"exec-env", ConfigKey::Kind::kFlag},
};

std::string ErrorOf(const std::string& text) {
  absl::StatusOr<ConfigFile> f = ParseConfigText("/etc/vigil/vigil.yaml", text, kKeys);
  EXPECT_FALSE(f.ok()) << text;
  return f.ok() ? "" : std::string(f.status().message());
}

TEST(ConfigFile, ReadsEveryShapeWithItsPosition) {
  absl::StatusOr<ConfigFile> f = ParseConfigText("c.yaml",
                                                 "# comment\n"
                                                 "output: [json:/var/log/vigil/events.json, table]\n"
                                                 "policy:\n"
                                                 "  - /etc/vigil/policies\n"
                                                 "events: openat,execve\n"
                                                 "--log-level: debug\n"
                                                 "exec-env: True\n",
                                                 kKeys);
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_EQ(f->entries.size(), 5u);
  EXPECT_EQ(f->entries[0].key, "output");
  EXPECT_THAT(f->entries[0].values, ElementsAre("json:/var/log/vigil/events.json", "table"));
  EXPECT_EQ(f->Where(f->entries[0]), "c.yaml:2:9: ");
  EXPECT_THAT(f->entries[1].values, ElementsAre("/etc/vigil/policies"));
  EXPECT_THAT(f->entries[2].values, ElementsAre("openat,execve"));  // CLI11 splits it like -e
  EXPECT_EQ(f->entries[3].key, "log-level");
  EXPECT_THAT(f->entries[4].values, ElementsAre("true"));
}

TEST(ConfigFile, EmptyFileSetsNothing) {
  absl::StatusOr<ConfigFile> f = ParseConfigText("c.yaml", "# nothing\n", kKeys);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->entries.empty());
}

TEST(ConfigFile, EveryErrorNamesFileLineAndColumn) {
  EXPECT_THAT(ErrorOf("output: [json\n"), StartsWith("/etc/vigil/vigil.yaml:"));
  EXPECT_THAT(ErrorOf("output: [json\n"), HasSubstr("not valid YAML"));
  EXPECT_EQ(ErrorOf("- output\n"),
            "/etc/vigil/vigil.yaml:1:1: expected a map of flag names to values (e.g. `log-level: info`), "
            "found a list");
  EXPECT_THAT(ErrorOf("log-level: info\noutptu: [json]\n"),
              StartsWith("/etc/vigil/vigil.yaml:2:1: unknown key `outptu`; the keys are the long flag names: "
                         "events, exec-env, listen, log-level, output, policy"));
  EXPECT_EQ(ErrorOf("log-level: info\nlog-level: debug\n"),
            "/etc/vigil/vigil.yaml:2:1: `log-level` is given twice; keep one");
  EXPECT_EQ(ErrorOf("log-level: [info, debug]\n"),
            "/etc/vigil/vigil.yaml:1:12: `log-level` takes a single value, found a list");
  EXPECT_EQ(ErrorOf("listen: {a: 1}\n"),
            "/etc/vigil/vigil.yaml:1:9: `listen` takes a single value, found a map");
  EXPECT_EQ(ErrorOf("exec-env: yes please\n"),
            "/etc/vigil/vigil.yaml:1:11: `exec-env` is a flag: expected true or false");
  EXPECT_EQ(ErrorOf("output: {json: x}\n"),
            "/etc/vigil/vigil.yaml:1:9: `output` takes a list of values, found a map");
  EXPECT_EQ(ErrorOf("output:\n  - [json]\n"),
            "/etc/vigil/vigil.yaml:2:5: `output` takes a list of values, found a list in it");
  EXPECT_EQ(ErrorOf("output: []\n"),
            "/etc/vigil/vigil.yaml:1:9: `output` is an empty list; give a value or remove the line");
  EXPECT_EQ(ErrorOf("\nlisten:\n"),
            "/etc/vigil/vigil.yaml:2:1: `listen` has no value; give one or remove the line");
  EXPECT_EQ(ErrorOf("config: other.yaml\n"),
            "/etc/vigil/vigil.yaml:1:1: `config` cannot be set in a config file; pass --config on the "
            "command line");
  EXPECT_EQ(ErrorOf("[a]: b\n"), "/etc/vigil/vigil.yaml:1:1: expected a flag name as key (e.g. `output:`)");
}

TEST(ConfigFile, UnreadableFile) {
  absl::StatusOr<ConfigFile> f = LoadConfigFile("/nonexistent/vigil.yaml", kKeys);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(std::string(f.status().message()),
            "/nonexistent/vigil.yaml: cannot read the config file (No such file or directory)");
}

// An app with vigil's option shapes: repeatable comma lists, scalars, a flag, a number.
struct App {
  CLI::App app;
  std::vector<std::string> outputs, events;
  std::string log_level = "info", listen;
  uint64_t max_events = 0;
  bool exec_env = false;
  App() {
    app.add_option("-o,--output", outputs)->allow_extra_args(false);
    app.add_option("-e,--events", events)->delimiter(',')->allow_extra_args(false);
    app.add_option("--log-level", log_level);
    app.add_option("--listen", listen);
    app.add_option("--max-events", max_events);
    app.add_flag("--exec-env", exec_env);
    app.add_option("--config", listen);  // never a key
    app.add_subcommand("caps")->add_subcommand("plan")->add_option("--format");
  }
  absl::StatusOr<std::map<std::string, std::string>> Run(std::vector<std::string> args,
                                                         const std::string& yaml) {
    std::vector<const char*> argv = {"vigil"};
    for (const std::string& a : args) argv.push_back(a.c_str());
    app.parse(static_cast<int>(argv.size()), const_cast<char**>(argv.data()));
    absl::StatusOr<ConfigFile> f = ParseConfigText("c.yaml", yaml, ConfigKeysOf(app));
    if (!f.ok()) return f.status();
    return ApplyConfig(app, *f);
  }
};

TEST(ConfigPrecedence, KeysFromTheAppsLongNames) {
  App a;
  std::vector<ConfigKey> keys = ConfigKeysOf(a.app);
  auto kind = [&](const std::string& n) {
    for (const ConfigKey& k : keys)
      if (k.name == n) return static_cast<int>(k.kind);
    return -1;
  };
  EXPECT_EQ(kind("output"), static_cast<int>(ConfigKey::Kind::kList));
  EXPECT_EQ(kind("events"), static_cast<int>(ConfigKey::Kind::kList));
  EXPECT_EQ(kind("log-level"), static_cast<int>(ConfigKey::Kind::kScalar));
  EXPECT_EQ(kind("exec-env"), static_cast<int>(ConfigKey::Kind::kFlag));
  EXPECT_EQ(kind("format"), -1);  // a subcommand's option is no key
  EXPECT_EQ(kind("config"), -1);
  EXPECT_EQ(kind("help"), -1);
}

TEST(ConfigPrecedence, FileFillsWhatTheCommandLineLeftUnset) {
  App a;
  auto applied = a.Run({"--log-level", "debug"},
                       "log-level: warn\noutput: [json:/a, table]\nevents: openat,execve\nexec-env: true\n"
                       "max-events: 7\n");
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(a.log_level, "debug");  // the command line wins
  EXPECT_THAT(a.outputs, ElementsAre("json:/a", "table"));
  EXPECT_THAT(a.events, ElementsAre("openat", "execve"));
  EXPECT_TRUE(a.exec_env);
  EXPECT_EQ(a.max_events, 7u);
  EXPECT_FALSE(applied->contains("log-level"));
  EXPECT_EQ(applied->at("max-events"), "c.yaml:5:13: ");
}

TEST(ConfigPrecedence, CommandLineListReplacesTheFilesList) {
  App a;
  auto applied =
      a.Run({"-o", "table", "-e", "openat"}, "output: [json:/a, json:/b]\nevents: [execve, kill]\n");
  ASSERT_TRUE(applied.ok());
  EXPECT_THAT(a.outputs, ElementsAre("table"));
  EXPECT_THAT(a.events, ElementsAre("openat"));
}

TEST(ConfigPrecedence, BadValueNamesItsPosition) {
  App a;
  auto applied = a.Run({}, "log-level: info\nmax-events: many\n");
  ASSERT_FALSE(applied.ok());
  EXPECT_THAT(std::string(applied.status().message()), StartsWith("c.yaml:2:13: max-events: "));
  EXPECT_THAT(std::string(applied.status().message()), HasSubstr("many"));
}

}  // namespace
}  // namespace vigil::engine

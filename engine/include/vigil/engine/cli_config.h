// Applies a --config file (vigil/engine/config_file.h) to a parsed CLI11 app:
// each key fills the option of the same long name unless the command line
// gave it (so a command-line list replaces the file's list). Header-only:
// only the programs that parse a command line link CLI11.
#pragma once

#include <CLI/CLI.hpp>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "vigil/engine/config_file.h"

namespace vigil::engine {

// Every long option of the sensor's command (`app`, not its subcommands)
// except help and config.
inline std::vector<ConfigKey> ConfigKeysOf(const CLI::App& app) {
  std::vector<ConfigKey> keys;
  auto add = [&keys](const CLI::App& a) {
    for (const CLI::Option* opt : a.get_options()) {
      if (opt->get_lnames().empty()) continue;
      const std::string& name = opt->get_lnames().front();
      if (name == "help" || name == "help-all" || name == "config") continue;
      bool known = false;
      for (const ConfigKey& k : keys) known |= k.name == name;
      if (known) continue;
      // A flag takes no argument; a repeatable option takes many.
      ConfigKey::Kind kind = opt->get_expected_max() == 0        ? ConfigKey::Kind::kFlag
                             : opt->get_items_expected_max() > 1 ? ConfigKey::Kind::kList
                                                                 : ConfigKey::Kind::kScalar;
      keys.push_back({name, kind});
    }
  };
  add(app);
  return keys;
}

// Fills the options of `app` (the sensor's command, or `caps plan`, which
// takes the file's selection and capabilities) that the command line left
// unset from `file`; keys that `app` does not have are left alone. Returns, per key applied, the
// "PATH:LINE:COLUMN: " prefix that later checks of its value should use.
inline absl::StatusOr<std::map<std::string, std::string>> ApplyConfig(CLI::App& app, const ConfigFile& file) {
  std::map<std::string, std::string> applied;
  for (const ConfigEntry& entry : file.entries) {
    CLI::Option* opt = app.get_option_no_throw("--" + entry.key);
    if (opt == nullptr || opt->count() > 0) continue;
    try {
      opt->add_result(entry.values);
      opt->run_callback();
    } catch (const CLI::ParseError& e) {
      return absl::InvalidArgumentError(absl::StrCat(file.Where(entry), entry.key, ": ", e.what()));
    }
    applied[entry.key] = file.Where(entry);
  }
  return applied;
}

}  // namespace vigil::engine

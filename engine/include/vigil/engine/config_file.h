// --config FILE: a YAML map whose keys are the sensor's long flag names
// (`output: [json:/var/log/vigil/events.json]`, `log-level: info`). The file
// is only read and checked here; vigil/engine/cli_config.h applies it under
// the command line (a flag given on the command line wins, and a list given
// there replaces the file's list).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace vigil::engine {

struct ConfigKey {
  enum class Kind {
    kScalar,  // one value: `log-level: info`
    kList,    // a YAML list or one scalar: `output: [json:/a, table]`, `policy: /etc/vigil/policies`
    kFlag,    // true or false: `exec-env: true`
  };
  std::string name;  // the long flag name without "--"
  Kind kind = Kind::kScalar;
};

struct ConfigEntry {
  std::string key;
  std::vector<std::string> values;  // a flag's value is "true" or "false"
  int line = 0;                     // 1-based, of the value
  int column = 0;
};

struct ConfigFile {
  std::string path;
  std::vector<ConfigEntry> entries;  // in file order, each key once

  // "PATH:LINE:COLUMN: " for messages about an entry's value.
  std::string Where(const ConfigEntry& entry) const;
};

// Reads and checks `path` against the known keys. Every error (unreadable
// file, YAML syntax, not a map, unknown or repeated key, wrong shape of
// value) is InvalidArgument "PATH:LINE:COLUMN: what is wrong; what to do".
absl::StatusOr<ConfigFile> LoadConfigFile(const std::string& path, std::span<const ConfigKey> keys);

// The same from text already read (`path` only names it in messages).
absl::StatusOr<ConfigFile> ParseConfigText(const std::string& path, const std::string& text,
                                           std::span<const ConfigKey> keys);

}  // namespace vigil::engine

#include "vigil/engine/config_file.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace vigil::engine {
namespace {

std::string At(const std::string& path, const YAML::Mark& mark) {
  // yaml-cpp counts from 0; editors and compilers from 1.
  return absl::StrCat(path, ":", mark.line + 1, ":", mark.column + 1, ": ");
}

absl::Status Error(const std::string& path, const YAML::Mark& mark, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(At(path, mark), std::string(what)));
}

const char* ShapeOf(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Null:
      return "empty";
    default:
      return "a single value";
  }
}

std::string KnownKeys(std::span<const ConfigKey> keys) {
  std::vector<std::string> names;
  for (const ConfigKey& k : keys) names.push_back(k.name);
  std::sort(names.begin(), names.end());
  return absl::StrJoin(names, ", ");
}

}  // namespace

std::string ConfigFile::Where(const ConfigEntry& entry) const {
  return absl::StrCat(path, ":", entry.line, ":", entry.column, ": ");
}

absl::StatusOr<ConfigFile> ParseConfigText(const std::string& path, const std::string& text,
                                           std::span<const ConfigKey> keys) {
  ConfigFile file{.path = path, .entries = {}};
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Error(path, e.mark, absl::StrCat("not valid YAML: ", e.msg));
  }
  if (root.IsNull()) return file;  // an empty file (or only comments) sets nothing
  if (!root.IsMap())
    return Error(path, root.Mark(),
                 absl::StrCat("expected a map of flag names to values (e.g. `log-level: info`), found ",
                              ShapeOf(root)));
  std::set<std::string> seen;
  for (const auto& item : root) {
    const YAML::Node& key = item.first;
    const YAML::Node& value = item.second;
    if (!key.IsScalar()) return Error(path, key.Mark(), "expected a flag name as key (e.g. `output:`)");
    std::string name = key.Scalar();
    if (name.starts_with("--")) name.erase(0, 2);
    if (name == "config")
      return Error(path, key.Mark(),
                   "`config` cannot be set in a config file; pass --config on the command line");
    const ConfigKey* known = nullptr;
    for (const ConfigKey& k : keys)
      if (k.name == name) known = &k;
    if (known == nullptr)
      return Error(
          path, key.Mark(),
          absl::StrCat("unknown key `", name, "`; the keys are the long flag names: ", KnownKeys(keys)));
    if (!seen.insert(name).second)
      return Error(path, key.Mark(), absl::StrCat("`", name, "` is given twice; keep one"));

    ConfigEntry entry{
        .key = name, .values = {}, .line = value.Mark().line + 1, .column = value.Mark().column + 1};
    if (value.IsNull() || !value.IsDefined())
      return Error(path, key.Mark(), absl::StrCat("`", name, "` has no value; give one or remove the line"));
    switch (known->kind) {
      case ConfigKey::Kind::kScalar:
        if (!value.IsScalar())
          return Error(path, value.Mark(),
                       absl::StrCat("`", name, "` takes a single value, found ", ShapeOf(value)));
        entry.values.push_back(value.Scalar());
        break;
      case ConfigKey::Kind::kFlag: {
        std::string v = value.IsScalar() ? absl::AsciiStrToLower(value.Scalar()) : "";
        if (v != "true" && v != "false")
          return Error(path, value.Mark(), absl::StrCat("`", name, "` is a flag: expected true or false"));
        entry.values.push_back(v);
        break;
      }
      case ConfigKey::Kind::kList:
        if (value.IsScalar()) {
          entry.values.push_back(value.Scalar());
        } else if (value.IsSequence()) {
          for (const YAML::Node& v : value) {
            if (!v.IsScalar())
              return Error(path, v.Mark(),
                           absl::StrCat("`", name, "` takes a list of values, found ", ShapeOf(v), " in it"));
            entry.values.push_back(v.Scalar());
          }
          if (entry.values.empty())
            return Error(path, value.Mark(),
                         absl::StrCat("`", name, "` is an empty list; give a value or remove the line"));
        } else {
          return Error(path, value.Mark(),
                       absl::StrCat("`", name, "` takes a list of values, found ", ShapeOf(value)));
        }
        break;
    }
    file.entries.push_back(std::move(entry));
  }
  return file;
}

absl::StatusOr<ConfigFile> LoadConfigFile(const std::string& path, std::span<const ConfigKey> keys) {
  std::ifstream in(path);
  if (!in)
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": cannot read the config file (", strerror(errno), ")"));
  std::stringstream text;
  text << in.rdbuf();
  return ParseConfigText(path, text.str(), keys);
}

}  // namespace vigil::engine

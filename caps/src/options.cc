#include "vigil/caps/options.h"

#include <array>
#include <cstdlib>
#include <tuple>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "string_views.h"

namespace vigil::caps {
namespace {

constexpr absl::string_view kFlag = "--capabilities";

// Which value introduced each capability, so a conflict names both sides.
struct SourcedCaps {
  CapSet caps;
  std::array<std::string, 64> origin;

  void Add(CapSet more, const std::string& from) {
    for (int number : (more - caps).Numbers()) origin[number] = from;
    caps |= more;
  }
};

absl::StatusOr<bool> ParseBypass(absl::string_view value, absl::string_view origin) {
  const std::string lower = absl::AsciiStrToLower(value);
  if (lower == "true" || lower == "1") return true;
  if (lower == "false" || lower == "0") return false;
  return absl::InvalidArgumentError(absl::StrCat(origin, ": bypass must be true, false, 1 or 0"));
}

absl::StatusOr<CapSet> ParseCapList(absl::string_view value, absl::string_view origin) {
  absl::StatusOr<CapSet> caps = CapSet::Parse(StdView(value));
  if (!caps.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": ", caps.status().message()));
  }
  return caps;
}

}  // namespace

EnvLookup ProcessEnvironment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

absl::StatusOr<CapabilityOptions> ParseCapabilityOptions(
    const std::vector<std::string>& flag_values, const EnvLookup& env) {
  std::optional<bool> bypass;
  SourcedCaps add;
  SourcedCaps drop;
  bool add_from_flags = false;
  bool drop_from_flags = false;

  for (const std::string& item : flag_values) {
    const std::string origin = absl::StrCat(kFlag, " ", item);
    const size_t equals = item.find('=');
    if (equals == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(origin, ": expected KEY=VALUE with KEY bypass, add or drop"));
    }
    const absl::string_view key = absl::string_view(item).substr(0, equals);
    const absl::string_view value = absl::string_view(item).substr(equals + 1);
    if (key == "bypass") {
      absl::StatusOr<bool> parsed = ParseBypass(value, origin);
      if (!parsed.ok()) return parsed.status();
      bypass = *parsed;
    } else if (key == "add" || key == "drop") {
      absl::StatusOr<CapSet> caps = ParseCapList(value, origin);
      if (!caps.ok()) return caps.status();
      (key == "add" ? add : drop).Add(*caps, origin);
      (key == "add" ? add_from_flags : drop_from_flags) = true;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(origin, ": unknown key '", key, "' (expected bypass, add or drop)"));
    }
  }

  // The environment fills only the keys no flag gave.
  auto env_value = [&env](std::string_view name) -> std::optional<std::string> {
    std::optional<std::string> value = env ? env(name) : std::nullopt;
    if (value.has_value() && value->empty()) return std::nullopt;
    return value;
  };
  if (!bypass.has_value()) {
    if (std::optional<std::string> value = env_value("CAPABILITIES_BYPASS")) {
      absl::StatusOr<bool> parsed =
          ParseBypass(*value, absl::StrCat("CAPABILITIES_BYPASS=", *value));
      if (!parsed.ok()) return parsed.status();
      bypass = *parsed;
    }
  }
  for (auto [name, target, from_flags] :
       {std::tuple{std::string_view("CAPABILITIES_ADD"), &add, add_from_flags},
        std::tuple{std::string_view("CAPABILITIES_DROP"), &drop, drop_from_flags}}) {
    if (from_flags) continue;
    if (std::optional<std::string> value = env_value(name)) {
      const std::string origin = absl::StrCat(AbslView(name), "=", *value);
      absl::StatusOr<CapSet> caps = ParseCapList(*value, origin);
      if (!caps.ok()) return caps.status();
      target->Add(*caps, origin);
    }
  }

  const CapSet both = add.caps & drop.caps;
  if (!both.empty()) {
    const int first = both.Numbers().front();
    return absl::InvalidArgumentError(absl::StrCat(
        CapName(first), " is both added (", add.origin[first], ") and dropped (",
        drop.origin[first], "); a capability may be added or dropped, not both",
        both.size() > 1
            ? absl::StrCat(" (also: ", (both - CapSet(uint64_t{1} << first)).ToString(), ")")
            : ""));
  }
  return CapabilityOptions{bypass.value_or(false), add.caps, drop.caps};
}

}  // namespace vigil::caps

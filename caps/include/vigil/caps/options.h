// `--capabilities K=V` values and the CAPABILITIES_* environment (SPEC §1, §3).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "vigil/caps/cap_set.h"

namespace vigil::caps {

struct CapabilityOptions {
  bool bypass = false;
  CapSet add;
  CapSet drop;
};

// Returns the variable's value, or nullopt when it is unset.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

// Reads the real environment (getenv).
EnvLookup ProcessEnvironment();

// `flag_values` are the --capabilities arguments in command-line order:
// "bypass=true|false|1|0" (the last wins), "add=CAP[,CAP]" and "drop=CAP[,CAP]"
// (repeatable, accumulated). CAPABILITIES_BYPASS, CAPABILITIES_ADD and
// CAPABILITIES_DROP supply a key that no flag sets; an empty variable counts as
// unset. Errors are usage errors (exit 2) naming the offending value: an unknown
// key, a bad bypass value, an unknown capability, or one capability both added
// and dropped.
absl::StatusOr<CapabilityOptions> ParseCapabilityOptions(
    const std::vector<std::string>& flag_values, const EnvLookup& env);

}  // namespace vigil::caps

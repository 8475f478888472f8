// The stateful detectors shipped with vigil (selected from YAML by `detector:`).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "vigil/rules/rules.h"

namespace vigil::rules::internal {

// Creates the detector `kind` for detection `name`; `params` are the rule's
// `params:` (numbers as text). Unknown kinds or params are errors.
absl::StatusOr<std::unique_ptr<Detector>> MakeDetector(const std::string& kind, const std::string& name,
                                                       const std::map<std::string, std::string>& params);

}  // namespace vigil::rules::internal

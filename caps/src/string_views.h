// Debian's Abseil is built with its own absl::string_view (not an alias of
// std::string_view), so the two must be converted explicitly at the boundary.
#pragma once

#include <string_view>

#include "absl/strings/string_view.h"

namespace vigil::caps {

inline absl::string_view AbslView(std::string_view text) { return {text.data(), text.size()}; }
inline std::string_view StdView(absl::string_view text) { return {text.data(), text.size()}; }

}  // namespace vigil::caps

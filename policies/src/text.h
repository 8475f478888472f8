// Text helpers for policies/src. Debian's Abseil has its own
// absl::string_view (not std::string_view): convert where the two meet.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "vigil/policies/policy.h"

namespace vigil::policies {

inline absl::string_view AbslView(std::string_view text) { return {text.data(), text.size()}; }
inline std::string_view StdView(absl::string_view text) { return {text.data(), text.size()}; }
inline std::string String(absl::string_view text) { return std::string(text.data(), text.size()); }

inline std::string_view Trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(kSpace) - begin + 1);
}

// "file:line:col: what", or just "what" for the command line.
inline absl::Status ErrorAt(const Origin& origin, std::string_view what) {
  std::string where = origin.Describe();
  if (where.empty()) return absl::InvalidArgumentError(AbslView(what));
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", AbslView(what)));
}

}  // namespace vigil::policies

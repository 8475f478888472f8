// What the unit tests share: gmock's matchers by their bare names in
// namespace vigil (every test lives in one of its namespaces), and the text
// of a status.
#ifndef VIGIL_TESTS_SUPPORT_UNIT_MATCHERS_H_
#define VIGIL_TESTS_SUPPORT_UNIT_MATCHERS_H_

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"

namespace vigil {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::IsSupersetOf;
using ::testing::Not;
using ::testing::Pair;
using ::testing::StartsWith;

// Debian's absl::string_view is not std::string_view, which gmock's string matchers want.
inline std::string Message(const absl::Status& status) { return std::string(status.message()); }

}  // namespace vigil

#endif  // VIGIL_TESTS_SUPPORT_UNIT_MATCHERS_H_

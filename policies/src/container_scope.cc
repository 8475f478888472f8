// The container scope of the container lifecycle events (compile.h,
// CompiledPolicies::MatchContainerScope).
#include "vigil/policies/compile.h"

namespace vigil::policies {

uint64_t CompiledPolicies::MatchContainerScope(uint64_t candidates, bool container_is_new) const {
  uint64_t matched = candidates;
  for (size_t i = 0; i < scopes_.size() && i < kMaxPolicies; ++i) {
    const uint64_t bit = uint64_t{1} << i;
    if (!(candidates & bit)) continue;
    const Scope& s = scopes_[i];
    if (s.in_container == false || (s.new_container && *s.new_container != container_is_new)) matched &= ~bit;
  }
  if (matched == 0 && candidates != 0) ++drops_[static_cast<int>(DropReason::kScope)];  // once per event
  return matched;
}

}  // namespace vigil::policies

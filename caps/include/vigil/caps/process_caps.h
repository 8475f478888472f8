// Reading and changing the calling thread's capability sets, on libcap.
//
// Capabilities are per thread in Linux, and libcap without libpsx changes only
// the calling thread. So everything here acts on the calling thread alone, and a
// thread starts with the sets of the thread that created it. The engine
// therefore calls Harden on its control thread before starting any other thread,
// and starts threads only while that thread rests in the Base ring.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "vigil/caps/cap_set.h"

namespace vigil::caps {

// "EPERM (Operation not permitted)" for an errno (its sign ignored): the one
// errno rendering of every message vigil prints.
std::string ErrnoText(int error);

struct ThreadCaps {
  CapSet effective;
  CapSet permitted;
  CapSet inheritable;
  CapSet bounding;
  CapSet ambient;
  bool no_new_privs = false;
};

absl::StatusOr<ThreadCaps> ReadThreadCaps();

// Sets the effective set, leaving permitted and inheritable as they are.
// Fails without changing anything when `effective` is not within permitted.
absl::Status SetThreadEffective(CapSet effective);

// The start-up lock-down (SPEC §3), in the order the kernel allows it:
//  1. when `drop_bounding` and CAP_SETPCAP is permitted, raises it and empties
//     the bounding set (dropping needs CAP_SETPCAP effective, so this comes
//     before anything is reduced); without CAP_SETPCAP the bounding set is
//     left as it is, which ReadThreadCaps shows;
//  2. clears the ambient set;
//  3. sets permitted to `permitted`, effective to `effective`, inheritable to {};
//  4. sets no_new_privs.
// `effective` must be within `permitted`, and `permitted` within the thread's
// current permitted set; otherwise nothing is changed.
absl::Status Harden(CapSet permitted, CapSet effective, bool drop_bounding);

// Permanently removes from permitted (and from effective and inheritable)
// everything not in `keep`; for after set-up, when no ring needs them again.
absl::Status ShrinkPermitted(CapSet keep);

// The capabilities this kernel supports in the bounding set, 0..cap_last_cap.
CapSet SupportedCaps();

}  // namespace vigil::caps

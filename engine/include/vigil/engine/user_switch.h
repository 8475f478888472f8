// Issue 9 item 13: a sensor started as root leaves uid 0 once set up, so a
// compromised decoder owns no root file (/etc/shadow, /etc/cron.d, ...).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace vigil::engine {

struct ServiceUser {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

// The `vigil` user when it exists (the package creates it), else `nobody`.
std::optional<ServiceUser> FindServiceUser();

// The first of `paths` whose directory `user` could not create files in
// (judged from the mode bits, owner and group); devices and FIFOs, which
// are reopened in place, are skipped. Empty when all are fine.
std::string FirstUnwritableDirectory(const ServiceUser& user, const std::vector<std::string>& paths);

// setgroups(none), setresgid, setresuid to `user`, keeping the permitted
// capabilities (PR_SET_KEEPCAPS) so the rings still work; needs CAP_SETUID
// and CAP_SETGID effective. glibc applies the ids to every thread. The
// kernel then marks the process non-dumpable: other processes of that uid
// cannot ptrace it.
absl::Status SwitchToUser(const ServiceUser& user);

}  // namespace vigil::engine

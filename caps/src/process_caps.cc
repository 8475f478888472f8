#include "vigil/caps/process_caps.h"

#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"

namespace vigil::caps {
namespace {

struct CapFree {
  void operator()(_cap_struct* caps) const { cap_free(caps); }
};
using CapHandle = std::unique_ptr<_cap_struct, CapFree>;

std::string ThreadLabel() { return absl::StrCat("thread ", gettid()); }

absl::Status SetFlag(cap_t caps, cap_flag_t flag, CapSet set) {
  std::vector<cap_value_t> values;
  for (int number : set.Numbers()) values.push_back(number);
  if (values.empty()) return absl::OkStatus();
  if (cap_set_flag(caps, flag, static_cast<int>(values.size()), values.data(), CAP_SET) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("libcap cannot represent ", set.ToString(), ": ", ErrnoText(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<CapSet> GetFlag(cap_t caps, cap_flag_t flag) {
  CapSet set;
  for (int number = 0; number <= kMaxCap; ++number) {
    cap_flag_value_t value = CAP_CLEAR;
    if (cap_get_flag(caps, number, flag, &value) != 0) {
      return absl::InternalError(absl::StrCat("read ", CapName(number), " from libcap: ", ErrnoText(errno)));
    }
    if (value == CAP_SET) set.Add(static_cast<Cap>(number));
  }
  return set;
}

// Replaces the thread's effective, permitted and inheritable sets in one capset(2).
absl::Status ApplySets(absl::string_view attempt, CapSet effective, CapSet permitted, CapSet inheritable,
                       const ThreadCaps& before) {
  CapHandle caps(cap_init());
  if (caps == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat(attempt, ": cap_init: ", ErrnoText(errno)));
  }
  for (auto [flag, set] : {std::pair{CAP_EFFECTIVE, effective}, std::pair{CAP_PERMITTED, permitted},
                           std::pair{CAP_INHERITABLE, inheritable}}) {
    if (absl::Status status = SetFlag(caps.get(), flag, set); !status.ok()) {
      return {status.code(), absl::StrCat(attempt, ": ", status.message())};
    }
  }
  if (cap_set_proc(caps.get()) != 0) {
    const int error = errno;
    return absl::PermissionDeniedError(absl::StrCat(
        attempt, " on ", ThreadLabel(), ": capset: ", ErrnoText(error),
        " (wanted effective: ", DescribeCaps(effective), ", permitted: ", DescribeCaps(permitted),
        "; had effective: ", DescribeCaps(before.effective), ", permitted: ", DescribeCaps(before.permitted),
        ")"));
  }
  return absl::OkStatus();
}

}  // namespace

CapSet SupportedCaps() {
  CapSet supported;
  for (int number = 0; number <= kMaxCap; ++number) {
    if (cap_get_bound(number) >= 0) supported.Add(static_cast<Cap>(number));
  }
  return supported;
}

absl::StatusOr<ThreadCaps> ReadThreadCaps() {
  CapHandle caps(cap_get_proc());
  if (caps == nullptr) {
    return absl::InternalError(
        absl::StrCat("read capabilities of ", ThreadLabel(), ": capget: ", ErrnoText(errno)));
  }
  ThreadCaps out;
  for (auto [flag, target] :
       {std::pair{CAP_EFFECTIVE, &out.effective}, std::pair{CAP_PERMITTED, &out.permitted},
        std::pair{CAP_INHERITABLE, &out.inheritable}}) {
    absl::StatusOr<CapSet> set = GetFlag(caps.get(), flag);
    if (!set.ok()) return set.status();
    *target = *set;
  }
  for (int number = 0; number <= kMaxCap; ++number) {
    // Both return -1 for capabilities the kernel does not know (or, for
    // ambient, on kernels before 4.3): absent from the set either way.
    if (cap_get_bound(number) == 1) out.bounding.Add(static_cast<Cap>(number));
    if (cap_get_ambient(number) == 1) out.ambient.Add(static_cast<Cap>(number));
  }
  const int no_new_privs = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
  if (no_new_privs < 0) {
    return absl::InternalError(absl::StrCat("read no_new_privs of ", ThreadLabel(),
                                            ": prctl(PR_GET_NO_NEW_PRIVS): ", ErrnoText(errno)));
  }
  out.no_new_privs = no_new_privs == 1;
  return out;
}

absl::Status SetThreadEffective(CapSet effective) {
  absl::StatusOr<ThreadCaps> current = ReadThreadCaps();
  if (!current.ok()) return current.status();
  const std::string attempt = absl::StrCat("set effective capabilities to ", DescribeCaps(effective));
  if (!current->permitted.Contains(effective)) {
    return absl::FailedPreconditionError(
        absl::StrCat(attempt, " on ", ThreadLabel(), ": ", (effective - current->permitted).ToString(),
                     " not in the permitted set (permitted: ", DescribeCaps(current->permitted), ")"));
  }
  return ApplySets(attempt, effective, current->permitted, current->inheritable, *current);
}

absl::Status Harden(CapSet permitted, CapSet effective, bool drop_bounding) {
  absl::StatusOr<ThreadCaps> current = ReadThreadCaps();
  if (!current.ok()) return current.status();
  const std::string attempt = absl::StrCat("harden capabilities to permitted ", DescribeCaps(permitted),
                                           ", effective ", DescribeCaps(effective));
  if (!permitted.Contains(effective)) {
    return absl::InvalidArgumentError(absl::StrCat(attempt, ": effective has ",
                                                   (effective - permitted).ToString(),
                                                   ", which is not in the requested permitted set"));
  }
  if (!current->permitted.Contains(permitted)) {
    return absl::FailedPreconditionError(absl::StrCat(
        attempt, " on ", ThreadLabel(), ": this thread does not have ",
        (permitted - current->permitted).ToString(), " (permitted: ", DescribeCaps(current->permitted), ")"));
  }

  if (drop_bounding && current->permitted.Has(Cap::kSetpcap) && !current->bounding.empty()) {
    const CapSet with_setpcap = current->effective | CapSet{Cap::kSetpcap};
    if (absl::Status status =
            ApplySets(absl::StrCat(attempt, ": raise cap_setpcap to empty the bounding set"), with_setpcap,
                      current->permitted, current->inheritable, *current);
        !status.ok()) {
      return status;
    }
    for (int number : current->bounding.Numbers()) {
      if (cap_drop_bound(number) != 0) {
        return absl::PermissionDeniedError(absl::StrCat(
            attempt, ": drop ", CapName(number), " from the bounding set of ", ThreadLabel(),
            ": prctl(PR_CAPBSET_DROP): ", ErrnoText(errno), " (effective: ", with_setpcap.ToString(), ")"));
      }
    }
  }

  // Ambient capabilities are re-granted at every execve; clearing them also
  // matters on kernels where lowering inheritable does not (before 4.3 none exist: EINVAL).
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    return absl::PermissionDeniedError(absl::StrCat(attempt, ": clear the ambient set of ", ThreadLabel(),
                                                    ": prctl(PR_CAP_AMBIENT): ", ErrnoText(errno)));
  }

  if (absl::Status status = ApplySets(attempt, effective, permitted, CapSet{}, *current); !status.ok()) {
    return status;
  }

  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return absl::PermissionDeniedError(absl::StrCat(attempt, ": set no_new_privs on ", ThreadLabel(),
                                                    ": prctl(PR_SET_NO_NEW_PRIVS): ", ErrnoText(errno)));
  }
  return absl::OkStatus();
}

absl::Status ShrinkPermitted(CapSet keep) {
  absl::StatusOr<ThreadCaps> current = ReadThreadCaps();
  if (!current.ok()) return current.status();
  return ApplySets(absl::StrCat("shrink permitted capabilities from ", DescribeCaps(current->permitted),
                                " to ", DescribeCaps(current->permitted & keep)),
                   current->effective & keep, current->permitted & keep, current->inheritable & keep,
                   *current);
}

std::string ErrnoText(int error) {
  error = error < 0 ? -error : error;
  const char* name = strerrorname_np(error);
  return absl::StrCat(name != nullptr ? name : absl::StrCat("errno ", error), " (", std::strerror(error),
                      ")");
}

}  // namespace vigil::caps

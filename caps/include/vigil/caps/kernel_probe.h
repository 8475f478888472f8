// What the running kernel offers that decides which capabilities loading BPF
// needs, behind an interface so the decision can be tested against fake kernels.
#pragma once

#include <compare>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "vigil/caps/cap_set.h"

namespace vigil::caps {

struct KernelVersion {
  int major = 0;
  int minor = 0;

  auto operator<=>(const KernelVersion&) const = default;
  std::string ToString() const;  // "6.18"
};

// Parses the leading "major.minor" of a release string such as "6.18.44-fc-v657".
absl::StatusOr<KernelVersion> ParseKernelRelease(std::string_view release);

class KernelFacts {
 public:
  virtual ~KernelFacts() = default;

  virtual KernelVersion version() const = 0;
  // /proc/sys/kernel/cap_last_cap: the highest capability number this kernel knows.
  virtual int cap_last_cap() const = 0;
  // /proc/sys/kernel/perf_event_paranoid; Debian and Ubuntu kernels add level 3.
  virtual int perf_event_paranoid() const = 0;
  // True where BPF maps are still charged to RLIMIT_MEMLOCK (before memcg accounting, 5.11).
  virtual bool memlock_limits_bpf() const = 0;
  // True when this process's uid may read and search tracefs without capabilities.
  virtual bool tracefs_readable() const = 0;
  virtual bool tracefs_mounted() const = 0;
  virtual bool bpffs_mounted() const = 0;

  // CAP_PERFMON (38) and CAP_BPF (39) arrived together in 5.8, and some vendor
  // kernels backport them, so the kernel's own cap_last_cap is the test, not the version.
  bool has_cap_bpf_and_perfmon() const { return cap_last_cap() >= static_cast<int>(Cap::kBpf); }
};

// Where vigil looks for tracefs and bpffs.
inline constexpr std::string_view kTracefsPath = "/sys/kernel/tracing";
inline constexpr std::string_view kBpffsPath = "/sys/fs/bpf";

// The kernel this process runs on, read once at construction.
class HostKernelFacts final : public KernelFacts {
 public:
  // Reads uname(2), /proc/sys/kernel/{cap_last_cap,perf_event_paranoid},
  // /proc/self/mountinfo and access(2) on tracefs. Fails naming the file that
  // could not be read or parsed.
  static absl::StatusOr<HostKernelFacts> Probe();

  KernelVersion version() const override { return version_; }
  int cap_last_cap() const override { return cap_last_cap_; }
  int perf_event_paranoid() const override { return perf_event_paranoid_; }
  bool memlock_limits_bpf() const override { return memlock_limits_bpf_; }
  bool tracefs_readable() const override { return tracefs_readable_; }
  bool tracefs_mounted() const override { return tracefs_mounted_; }
  bool bpffs_mounted() const override { return bpffs_mounted_; }

 private:
  HostKernelFacts() = default;

  KernelVersion version_;
  int cap_last_cap_ = 0;
  int perf_event_paranoid_ = 0;
  bool memlock_limits_bpf_ = false;
  bool tracefs_readable_ = false;
  bool tracefs_mounted_ = false;
  bool bpffs_mounted_ = false;
};

// The BPF memory accounting switch: kernels before 5.11 charge maps to RLIMIT_MEMLOCK.
bool MemlockLimitsBpf(KernelVersion version);

// A kernel described field by field, for tests. Defaults describe a current
// kernel (6.18, every capability, paranoid 2, tracefs and bpffs mounted).
struct FakeKernelFacts final : KernelFacts {
  KernelVersion kernel{6, 18};
  int last_cap = static_cast<int>(Cap::kCheckpointRestore);
  int paranoid = 2;
  bool memlock_applies = false;
  bool tracefs_readable_by_uid = true;
  bool tracefs_is_mounted = true;
  bool bpffs_is_mounted = true;

  KernelVersion version() const override { return kernel; }
  int cap_last_cap() const override { return last_cap; }
  int perf_event_paranoid() const override { return paranoid; }
  bool memlock_limits_bpf() const override { return memlock_applies; }
  bool tracefs_readable() const override { return tracefs_readable_by_uid; }
  bool tracefs_mounted() const override { return tracefs_is_mounted; }
  bool bpffs_mounted() const override { return bpffs_is_mounted; }
};

struct CapReason {
  Cap cap;
  std::string reason;  // one line, shown by `vigil caps plan`

  bool operator==(const CapReason&) const = default;
};

// The capabilities this kernel demands of whoever loads and attaches BPF programs.
struct EbpfPrivilege {
  CapSet caps;
  std::vector<CapReason> reasons;  // one per capability in `caps`, ascending
};

// Decides from the kernel alone (never from what the process happens to hold):
//  - CAP_BPF + CAP_PERFMON where the kernel has them and perf_event_paranoid <= 2;
//  - else CAP_SYS_ADMIN (kernel without them, or Debian's paranoid level 3, which
//    refuses perf_event_open to anyone without CAP_SYS_ADMIN);
//  - CAP_SYS_RESOURCE + CAP_IPC_LOCK where BPF memory still counts against RLIMIT_MEMLOCK;
//  - CAP_DAC_READ_SEARCH when `needs_tracefs` and tracefs is closed to this uid.
EbpfPrivilege DecideEbpfPrivilege(const KernelFacts& kernel, bool needs_tracefs);

// Checks that `permitted` can provide `needed`, before anything is changed.
// Where the process lacks CAP_BPF/CAP_PERFMON but holds CAP_SYS_ADMIN (e.g. a
// container started with --cap-add=SYS_ADMIN), returns the privilege rewritten to
// CAP_SYS_ADMIN, which every kernel accepts instead. Otherwise a missing or
// dropped privilege is a FailedPrecondition "cannot run" error with the fix.
// Under bypass, pass the inherited effective set as `permitted`.
absl::StatusOr<EbpfPrivilege> CheckEbpfPrivilege(const EbpfPrivilege& needed, CapSet permitted,
                                                 CapSet dropped);

}  // namespace vigil::caps

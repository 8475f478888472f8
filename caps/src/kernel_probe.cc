#include "vigil/caps/kernel_probe.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "string_views.h"

namespace vigil::caps {
namespace {

constexpr KernelVersion kMemcgAccounting{5, 11};

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("read ", path, ": ", std::strerror(errno)));
  }
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

absl::StatusOr<int> ReadIntFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  int value = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &value)) {
    return absl::InvalidArgumentError(absl::StrCat("parse ", path, ": expected an integer, got '",
                                                   absl::StripAsciiWhitespace(*text), "'"));
  }
  return value;
}

// mountinfo escapes blanks and backslashes in paths as \ooo octal.
std::string UnescapeMountPath(absl::string_view path) {
  std::string out;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '\\' && i + 3 < path.size()) {
      int value = 0;
      bool octal = true;
      for (size_t j = 1; j <= 3; ++j) {
        char c = path[i + j];
        if (c < '0' || c > '7') octal = false;
        value = value * 8 + (c - '0');
      }
      if (octal) {
        out.push_back(static_cast<char>(value));
        i += 3;
        continue;
      }
    }
    out.push_back(path[i]);
  }
  return out;
}

struct Mount {
  std::string mount_point;
  std::string fs_type;
};

absl::StatusOr<std::vector<Mount>> ReadMounts() {
  constexpr absl::string_view kMountInfo = "/proc/self/mountinfo";
  absl::StatusOr<std::string> text = ReadFile(std::string(kMountInfo));
  if (!text.ok()) return text.status();
  std::vector<Mount> mounts;
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    // "36 35 98:0 /root /mnt rw,noatime master:1 - ext3 /dev/root rw": optional
    // fields end at " - ", after which comes the filesystem type.
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
    auto separator = std::find(fields.begin(), fields.end(), "-");
    if (fields.size() < 5 || separator == fields.end() || separator + 1 == fields.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("parse ", kMountInfo, ": malformed line '", line, "'"));
    }
    mounts.push_back({UnescapeMountPath(fields[4]), std::string(*(separator + 1))});
  }
  return mounts;
}

}  // namespace

std::string KernelVersion::ToString() const { return absl::StrCat(major, ".", minor); }

absl::StatusOr<KernelVersion> ParseKernelRelease(std::string_view release) {
  std::vector<absl::string_view> parts = absl::StrSplit(AbslView(release), absl::MaxSplits('.', 2));
  auto leading_digits = [](absl::string_view text) {
    size_t digits = 0;
    while (digits < text.size() && absl::ascii_isdigit(text[digits])) ++digits;
    return text.substr(0, digits);
  };
  KernelVersion version;
  if (parts.size() < 2 || leading_digits(parts[0]) != parts[0] ||
      !absl::SimpleAtoi(parts[0], &version.major) ||
      !absl::SimpleAtoi(leading_digits(parts[1]), &version.minor)) {
    return absl::InvalidArgumentError(
        absl::StrCat("parse kernel release '", AbslView(release),
                     "': expected MAJOR.MINOR[...] such as 6.1.0-13-amd64"));
  }
  return version;
}

bool MemlockLimitsBpf(KernelVersion version) { return version < kMemcgAccounting; }

absl::StatusOr<HostKernelFacts> HostKernelFacts::Probe() {
  HostKernelFacts facts;

  utsname uts{};
  if (uname(&uts) != 0) {
    return absl::InternalError(
        absl::StrCat("read kernel version with uname: ", std::strerror(errno)));
  }
  absl::StatusOr<KernelVersion> version = ParseKernelRelease(uts.release);
  if (!version.ok()) return version.status();
  facts.version_ = *version;
  facts.memlock_limits_bpf_ = MemlockLimitsBpf(facts.version_);

  absl::StatusOr<int> last_cap = ReadIntFile("/proc/sys/kernel/cap_last_cap");
  if (!last_cap.ok()) return last_cap.status();
  facts.cap_last_cap_ = *last_cap;

  absl::StatusOr<int> paranoid = ReadIntFile("/proc/sys/kernel/perf_event_paranoid");
  if (!paranoid.ok()) {
    return absl::Status(
        paranoid.status().code(),
        absl::StrCat(paranoid.status().message(),
                     " (a kernel without perf events cannot attach BPF tracing programs)"));
  }
  facts.perf_event_paranoid_ = *paranoid;

  absl::StatusOr<std::vector<Mount>> mounts = ReadMounts();
  if (!mounts.ok()) return mounts.status();
  std::string tracefs_events_dir;
  for (const Mount& mount : *mounts) {
    if (mount.fs_type == "tracefs") {
      facts.tracefs_mounted_ = true;
      // Prefer the canonical mount point when tracefs is also under debugfs.
      if (tracefs_events_dir.empty() || mount.mount_point == kTracefsPath) {
        tracefs_events_dir = mount.mount_point + "/events";
      }
    }
    if (mount.fs_type == "bpf") facts.bpffs_mounted_ = true;
  }
  // access(2) checks the real uid and, for non-root, ignores capabilities: it
  // answers whether this uid could read tracefs with no capability help.
  const std::string checked_path =
      facts.tracefs_mounted_ ? tracefs_events_dir : std::string(kTracefsPath);
  facts.tracefs_readable_ = access(checked_path.c_str(), R_OK | X_OK) == 0;
  return facts;
}

EbpfPrivilege DecideEbpfPrivilege(const KernelFacts& kernel, bool needs_tracefs) {
  EbpfPrivilege privilege;
  auto need = [&privilege](Cap cap, std::string reason) {
    privilege.caps.Add(cap);
    privilege.reasons.push_back({cap, std::move(reason)});
  };
  const std::string version = kernel.version().ToString();
  const int paranoid = kernel.perf_event_paranoid();

  if (!kernel.has_cap_bpf_and_perfmon()) {
    need(Cap::kSysAdmin,
         absl::StrCat("kernel ", version, " predates CAP_BPF and CAP_PERFMON (cap_last_cap ",
                      kernel.cap_last_cap(),
                      " < 39): only CAP_SYS_ADMIN may load and attach BPF programs"));
  } else if (paranoid > 2) {
    // Upstream treats levels above 2 as 2, where CAP_PERFMON suffices; Debian's
    // and Ubuntu's extra level 3 patch checks CAP_SYS_ADMIN in perf_event_open.
    need(Cap::kSysAdmin,
         absl::StrCat("perf_event_paranoid is ", paranoid,
                      " (> 2): Debian and Ubuntu kernels then refuse perf_event_open without "
                      "CAP_SYS_ADMIN, even with CAP_PERFMON"));
  } else {
    need(Cap::kBpf,
         absl::StrCat("kernel ", version, " has CAP_BPF (cap_last_cap ", kernel.cap_last_cap(),
                      "): load BPF programs, create and update maps"));
    need(Cap::kPerfmon,
         absl::StrCat("kernel ", version, " has CAP_PERFMON and perf_event_paranoid is ", paranoid,
                      " (<= 2): attach tracepoints and kprobes through perf_event_open"));
  }

  if (kernel.memlock_limits_bpf()) {
    need(Cap::kSysResource,
         absl::StrCat("kernel ", version,
                      " < 5.11 charges BPF maps to RLIMIT_MEMLOCK: raise the locked-memory limit"));
    need(Cap::kIpcLock,
         absl::StrCat(
             "kernel ", version,
             " < 5.11 charges BPF maps to RLIMIT_MEMLOCK: lock buffer memory beyond the limit"));
  }

  if (needs_tracefs && !kernel.tracefs_readable()) {
    need(
        Cap::kDacReadSearch,
        absl::StrCat("tracefs (", AbslView(kTracefsPath), kernel.tracefs_mounted() ? "/events" : "",
                     ") is not readable by this process's uid: read tracepoint ids to attach"));
  }

  std::sort(privilege.reasons.begin(), privilege.reasons.end(),
            [](const CapReason& a, const CapReason& b) { return a.cap < b.cap; });
  return privilege;
}

absl::StatusOr<EbpfPrivilege> CheckEbpfPrivilege(const EbpfPrivilege& needed, CapSet permitted,
                                                 CapSet dropped) {
  const CapSet missing = needed.caps - permitted;
  const CapSet dropped_needed = needed.caps & dropped;
  const CapSet unavailable = missing | dropped_needed;
  if (unavailable.empty()) return needed;

  const CapSet perf_caps{Cap::kBpf, Cap::kPerfmon};
  if (perf_caps.Contains(unavailable) && permitted.Has(Cap::kSysAdmin) &&
      !dropped.Has(Cap::kSysAdmin)) {
    EbpfPrivilege substituted;
    substituted.caps = (needed.caps - perf_caps) | CapSet{Cap::kSysAdmin};
    for (const CapReason& reason : needed.reasons) {
      if (!perf_caps.Has(reason.cap)) substituted.reasons.push_back(reason);
    }
    substituted.reasons.push_back(
        {Cap::kSysAdmin,
         absl::StrCat("this process cannot use ", unavailable.ToString(),
                      " but holds cap_sys_admin, which the kernel accepts for loading and "
                      "attaching BPF programs")});
    std::sort(substituted.reasons.begin(), substituted.reasons.end(),
              [](const CapReason& a, const CapReason& b) { return a.cap < b.cap; });
    return substituted;
  }

  std::string message =
      absl::StrCat("cannot run: loading and attaching BPF programs on this kernel needs ",
                   needed.caps.ToString());
  if (!missing.empty()) {
    absl::StrAppend(&message, "; this process does not have ", missing.ToString(),
                    " (permitted: ", DescribeCaps(permitted), ")");
  }
  if (!dropped_needed.empty()) {
    absl::StrAppend(&message, "; --capabilities drop= removes ", dropped_needed.ToString());
  }
  absl::StrAppend(&message, ".");
  if (!missing.empty()) {
    std::vector<std::string> setpriv_caps;
    for (int number : needed.caps.Numbers()) {
      setpriv_caps.push_back(absl::StrCat("+", CapName(number).substr(4)));
    }
    const std::string cap_list = absl::StrJoin(setpriv_caps, ",");
    absl::StrAppend(&message,
                    " Run vigil as root, or grant them to another user: `sudo setpriv --reuid=USER "
                    "--regid=GROUP --init-groups --inh-caps=",
                    cap_list, " --ambient-caps=", cap_list,
                    " -- vigil ...`; `vigil caps plan --format systemd|docker|k8s` prints the "
                    "grant for a selection.");
  }
  if (!dropped_needed.empty()) {
    absl::StrAppend(&message, " Remove ", dropped_needed.ToString(),
                    " from --capabilities drop= (or CAPABILITIES_DROP)",
                    perf_caps.Contains(dropped_needed) ? ", or grant cap_sys_admin instead" : "",
                    ".");
  }
  return absl::FailedPreconditionError(message);
}

}  // namespace vigil::caps

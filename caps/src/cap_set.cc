#include "vigil/caps/cap_set.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "string_views.h"

namespace vigil::caps {
namespace {

constexpr std::array<std::string_view, kMaxCap + 1> kNames = {
    "chown",        "dac_override",   "dac_read_search", "fowner",          "fsetid",
    "kill",         "setgid",         "setuid",          "setpcap",         "linux_immutable",
    "net_bind_service", "net_broadcast", "net_admin",     "net_raw",         "ipc_lock",
    "ipc_owner",    "sys_module",     "sys_rawio",       "sys_chroot",      "sys_ptrace",
    "sys_pacct",    "sys_admin",      "sys_boot",        "sys_nice",        "sys_resource",
    "sys_time",     "sys_tty_config", "mknod",           "lease",           "audit_write",
    "audit_control", "setfcap",       "mac_override",    "mac_admin",       "syslog",
    "wake_alarm",   "block_suspend",  "audit_read",      "perfmon",         "bpf",
    "checkpoint_restore",
};

}  // namespace

std::string CapName(int cap) {
  if (cap >= 0 && cap <= kMaxCap) return absl::StrCat("cap_", AbslView(kNames[cap]));
  return absl::StrCat("cap_", cap);
}

absl::StatusOr<Cap> ParseCap(std::string_view name) {
  std::string lower = absl::AsciiStrToLower(absl::StripAsciiWhitespace(AbslView(name)));
  std::string_view bare = lower;
  if (bare.starts_with("cap_")) bare.remove_prefix(4);
  for (int i = 0; i <= kMaxCap; ++i) {
    if (kNames[i] == bare) return static_cast<Cap>(i);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown capability '", AbslView(name), "' (expected a name such as cap_sys_admin, CAP_BPF or perfmon)"));
}

absl::StatusOr<CapSet> CapSet::Parse(std::string_view list) {
  CapSet set;
  for (absl::string_view item : absl::StrSplit(AbslView(list), ',', absl::SkipWhitespace())) {
    absl::StatusOr<Cap> cap = ParseCap(StdView(item));
    if (!cap.ok()) return cap.status();
    set.Add(*cap);
  }
  return set;
}

std::vector<int> CapSet::Numbers() const {
  std::vector<int> out;
  for (int i = 0; i < 64; ++i)
    if ((bits_ >> i) & 1) out.push_back(i);
  return out;
}

std::string CapSet::ToString() const {
  // Alphabetical, as SPEC's messages show them ("cap_bpf,cap_perfmon").
  std::vector<std::string> names;
  for (int n : Numbers()) names.push_back(CapName(n));
  std::sort(names.begin(), names.end());
  return absl::StrJoin(names, ",");
}

std::string CapSet::ToUpperList(std::string_view sep, bool strip_prefix) const {
  std::vector<std::string> names;
  for (int n : Numbers()) {
    std::string name = absl::AsciiStrToUpper(CapName(n));
    names.push_back(strip_prefix ? name.substr(4) : name);
  }
  return absl::StrJoin(names, AbslView(sep));
}

std::string DescribeCaps(CapSet set) { return set.empty() ? "none" : set.ToString(); }

}  // namespace vigil::caps

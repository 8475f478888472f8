// A set of Linux capabilities as a value: parsing, printing, set algebra.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace vigil::caps {

// Capability numbers as in <linux/capability.h>; named here so that code
// compiled against an older libcap still knows CAP_BPF and CAP_PERFMON.
enum class Cap : int {
  kChown = 0, kDacOverride = 1, kDacReadSearch = 2, kFowner = 3, kFsetid = 4, kKill = 5,
  kSetgid = 6, kSetuid = 7, kSetpcap = 8, kLinuxImmutable = 9, kNetBindService = 10,
  kNetBroadcast = 11, kNetAdmin = 12, kNetRaw = 13, kIpcLock = 14, kIpcOwner = 15,
  kSysModule = 16, kSysRawio = 17, kSysChroot = 18, kSysPtrace = 19, kSysPacct = 20,
  kSysAdmin = 21, kSysBoot = 22, kSysNice = 23, kSysResource = 24, kSysTime = 25,
  kSysTtyConfig = 26, kMknod = 27, kLease = 28, kAuditWrite = 29, kAuditControl = 30,
  kSetfcap = 31, kMacOverride = 32, kMacAdmin = 33, kSyslog = 34, kWakeAlarm = 35,
  kBlockSuspend = 36, kAuditRead = 37, kPerfmon = 38, kBpf = 39, kCheckpointRestore = 40,
};
inline constexpr int kMaxCap = 40;

// Lower-case libcap name ("cap_sys_admin"), or "cap_N" for unknown numbers.
std::string CapName(int cap);

// Accepts any case, with or without the "cap_" prefix: cap_syslog, CAP_SYSLOG, syslog.
absl::StatusOr<Cap> ParseCap(std::string_view name);

class CapSet {
 public:
  constexpr CapSet() = default;
  constexpr explicit CapSet(uint64_t bits) : bits_(bits) {}
  CapSet(std::initializer_list<Cap> caps) {
    for (Cap c : caps) Add(c);
  }

  // Comma-separated names; empty items are ignored. Unknown names are an error naming them.
  static absl::StatusOr<CapSet> Parse(std::string_view list);

  constexpr uint64_t bits() const { return bits_; }
  constexpr bool empty() const { return bits_ == 0; }
  bool Has(Cap c) const { return (bits_ >> static_cast<int>(c)) & 1; }
  bool HasNumber(int n) const { return n >= 0 && n < 64 && ((bits_ >> n) & 1); }
  void Add(Cap c) { bits_ |= uint64_t{1} << static_cast<int>(c); }
  void Remove(Cap c) { bits_ &= ~(uint64_t{1} << static_cast<int>(c)); }
  std::vector<int> Numbers() const;
  int size() const { return __builtin_popcountll(bits_); }

  CapSet operator|(CapSet o) const { return CapSet(bits_ | o.bits_); }
  CapSet operator&(CapSet o) const { return CapSet(bits_ & o.bits_); }
  CapSet operator-(CapSet o) const { return CapSet(bits_ & ~o.bits_); }
  CapSet& operator|=(CapSet o) { bits_ |= o.bits_; return *this; }
  CapSet& operator&=(CapSet o) { bits_ &= o.bits_; return *this; }
  CapSet& operator-=(CapSet o) { bits_ &= ~o.bits_; return *this; }
  bool operator==(const CapSet&) const = default;
  bool Contains(CapSet o) const { return (o.bits_ & ~bits_) == 0; }

  // "cap_bpf,cap_perfmon" (libcap names, alphabetical); "" when empty.
  std::string ToString() const;
  // "CAP_BPF CAP_PERFMON" style with a chosen separator, for unit files and flags.
  std::string ToUpperList(std::string_view sep, bool strip_prefix = false) const;

 private:
  uint64_t bits_ = 0;
};

// ToString(), or "none" for the empty set: for messages, where "" reads as a bug.
std::string DescribeCaps(CapSet set);

}  // namespace vigil::caps

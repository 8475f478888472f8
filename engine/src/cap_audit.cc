#include "vigil/engine/cap_audit.h"

#include <bpf/libbpf.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "capaudit.h"
#include "capaudit.skel.h"
#include "vigil/engine/host_tgid.h"

namespace vigil::engine {

int64_t CapAudit::NowMonotonic() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

absl::StatusOr<std::unique_ptr<CapAudit>> CapAudit::Start() {
  // The kernel sees this process by its tgid in the initial pid namespace.
  absl::StatusOr<uint32_t> self = HostTgid();
  if (!self.ok()) return self.status();
  std::unique_ptr<CapAudit> a(new CapAudit());
  a->skel_ = capaudit_bpf::open();
  if (a->skel_ == nullptr)
    return absl::InternalError(absl::StrCat("open cap_capable program: ", strerror(errno)));
  a->skel_->rodata->target_tgid = *self;
  // tp_btf first, raw_tp when the kernel refuses it; only one is loaded.
  for (bool btf : {true, false}) {
    if (!btf) {
      capaudit_bpf::destroy(a->skel_);
      a->skel_ = capaudit_bpf::open();
      if (a->skel_ == nullptr)
        return absl::InternalError(absl::StrCat("open cap_capable program: ", strerror(errno)));
      a->skel_->rodata->target_tgid = *self;
    }
    bpf_program__set_autoload(a->skel_->progs.vg_btf_cap_capable, btf);
    bpf_program__set_autoload(a->skel_->progs.vg_raw_cap_capable, !btf);
    int err = capaudit_bpf::load(a->skel_);
    if (err != 0) {
      if (btf) continue;
      return absl::Status(
          err == -EPERM ? absl::StatusCode::kPermissionDenied : absl::StatusCode::kUnavailable,
          absl::StrCat("load cap_capable program: ", strerror(-err)));
    }
    a->link_ = btf ? bpf_program__attach(a->skel_->progs.vg_btf_cap_capable)
                   : bpf_program__attach_raw_tracepoint(a->skel_->progs.vg_raw_cap_capable, "cap_capable");
    if (a->link_ != nullptr) break;
    if (!btf) return absl::UnavailableError(absl::StrCat("attach capability:cap_capable: ", strerror(errno)));
  }
  auto on_check = [](void* ctx, void* data, size_t size) -> int {
    if (size < sizeof(vg_cap_check)) return 0;
    vg_cap_check c;
    std::memcpy(&c, data, sizeof(c));
    static_cast<CapAudit*>(ctx)->history_.push_back(
        {static_cast<int64_t>(c.ts_mono_ns), static_cast<pid_t>(c.tid), c.cap, c.ret == 0});
    return 0;
  };
  a->ring_ = ring_buffer__new(bpf_map__fd(a->skel_->maps.checks), on_check, a.get(), nullptr);
  if (a->ring_ == nullptr)
    return absl::UnavailableError(absl::StrCat("map cap_capable ring buffer: ", strerror(errno)));
  return a;
}

CapAudit::~CapAudit() { Stop(); }

void CapAudit::Stop() {
  if (ring_ != nullptr) {
    ring_buffer__consume(ring_);
    ring_buffer__free(ring_);
    ring_ = nullptr;
  }
  if (link_ != nullptr) {
    bpf_link__destroy(link_);
    link_ = nullptr;
  }
  if (skel_ != nullptr) {
    capaudit_bpf::destroy(skel_);
    skel_ = nullptr;
  }
}

const std::vector<CapCheck>& CapAudit::Collect() {
  if (ring_ != nullptr) ring_buffer__consume(ring_);
  return history_;
}

std::vector<int> CapAudit::DeniedSince(int64_t since_ns) {
  // The failing operation is the last one denied; the checks just before it
  // (within a millisecond) are the kernel's fallbacks for the same test, e.g.
  // cap_perfmon then cap_sys_admin. CAP_SETPCAP denials come from our own
  // capset(2) calls (the inheritable-set test) and never explain a failure.
  const std::vector<CapCheck>& all = Collect();
  int64_t last = -1;
  for (const CapCheck& c : all)
    if (c.monotonic_ns >= since_ns && !c.granted && c.cap != static_cast<int>(caps::Cap::kSetpcap))
      last = c.monotonic_ns;
  std::vector<int> denied;
  if (last < 0) return denied;
  for (const CapCheck& c : all) {
    if (c.granted || c.cap == static_cast<int>(caps::Cap::kSetpcap)) continue;
    if (c.monotonic_ns < std::max(since_ns, last - 1000000) || c.monotonic_ns > last) continue;
    if (std::find(denied.begin(), denied.end(), c.cap) == denied.end()) denied.push_back(c.cap);
  }
  return denied;
}

uint64_t CapAudit::lost() const { return skel_ && skel_->bss ? skel_->bss->lost : 0; }

std::string ExplainDenial(const std::vector<int>& denied, caps::CapSet dropped) {
  if (denied.empty()) return "";
  // The kernel may test a capability and its cap_sys_admin fallback in either
  // order: name what drop= removed if anything, else what is not the fallback.
  int culprit = denied.front();
  for (int c : denied)
    if (dropped.HasNumber(c)) {
      culprit = c;
      break;
    }
  if (!dropped.HasNumber(culprit))
    for (int c : denied)
      if (c != static_cast<int>(caps::Cap::kSysAdmin)) {
        culprit = c;
        break;
      }
  std::vector<std::string> others;
  for (int c : denied)
    if (c != culprit) others.push_back(caps::CapName(c));
  const std::string name = caps::CapName(culprit);
  std::string out = absl::StrCat("; the kernel checked and denied ", name);
  if (!others.empty()) absl::StrAppend(&out, " (and ", absl::StrJoin(others, ", "), ")");
  if (dropped.HasNumber(culprit))
    absl::StrAppend(&out, "; fix: remove ", name, " from --capabilities drop= (or CAPABILITIES_DROP)");
  else
    absl::StrAppend(&out, "; fix: --capabilities add=", name);
  return out;
}

}  // namespace vigil::engine

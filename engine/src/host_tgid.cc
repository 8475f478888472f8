#include "vigil/engine/host_tgid.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <mutex>
#include <optional>

#include "absl/strings/str_cat.h"
#include "host_tgid.skel.h"
#include "vigil/events/format.h"

namespace vigil::engine {
namespace {

constexpr ino_t kInitPidNamespaceInode = 0xEFFFFFFCU;  // PROC_PID_INIT_INO

struct SkeletonDeleter {
  void operator()(host_tgid_bpf* s) const { host_tgid_bpf::destroy(s); }
};

absl::StatusOr<uint32_t> AskKernel() {
  std::unique_ptr<host_tgid_bpf, SkeletonDeleter> skel(host_tgid_bpf::open_and_load());
  if (skel == nullptr)
    return absl::Status(errno == EPERM ? absl::StatusCode::kPermissionDenied : absl::StatusCode::kUnavailable,
                        absl::StrCat("load the host-tgid program: ", events::FormatErrno(errno)));
  LIBBPF_OPTS(bpf_test_run_opts, run);
  if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.vg_host_tgid), &run) != 0)
    return absl::UnavailableError(absl::StrCat("run the host-tgid program (BPF_PROG_TEST_RUN of raw_tp, Linux 5.10+): ",
                                               events::FormatErrno(errno)));
  if (skel->bss->host_tgid == 0) return absl::InternalError("the host-tgid program ran but recorded no tgid");
  return skel->bss->host_tgid;
}

}  // namespace

bool InInitialPidNamespace() {
  struct stat st {};
  return stat("/proc/self/ns/pid", &st) == 0 && st.st_ino == kInitPidNamespaceInode;
}

absl::StatusOr<uint32_t> HostTgid() {
  static std::mutex mu;
  static std::optional<uint32_t> cached;
  std::lock_guard<std::mutex> lock(mu);
  if (cached) return *cached;
  if (InInitialPidNamespace()) {
    cached = static_cast<uint32_t>(getpid());
    return *cached;
  }
  absl::StatusOr<uint32_t> asked = AskKernel();
  if (asked.ok()) cached = *asked;
  return asked;
}

}  // namespace vigil::engine

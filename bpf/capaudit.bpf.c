// SPDX-License-Identifier: GPL-2.0
/* Records every capability check the kernel makes for the sensor's own
 * threads (capability:cap_capable), so that a failed privileged operation
 * can name the capability the kernel denied, and `vigil caps audit` can
 * show which capabilities each phase really used. Loaded before anything
 * else. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "capaudit.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 target_tgid = 0;

__u64 lost = 0;

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  /* Loading makes a check per verifier capability test (~32 bytes each):
   * the default policy's load alone is ~130 000 of them (dispatcher
   * consumers such as security_sb_mount verify large subprograms). User
   * space drains after every phase; 16 MiB holds ~500 000. */
  __uint(max_entries, 16 * 1024 * 1024);
} checks SEC(".maps");

static __always_inline void record(int cap, int ret) {
  __u64 id = bpf_get_current_pid_tgid();
  if ((id >> 32) != target_tgid) return;
  struct vg_cap_check c = {
      .ts_mono_ns = bpf_ktime_get_ns(),
      .tid = (__u32)id,
      .cap = cap,
      .ret = ret,
  };
  if (bpf_ringbuf_output(&checks, &c, sizeof(c), BPF_RB_NO_WAKEUP)) __sync_fetch_and_add(&lost, 1);
}

SEC("tp_btf/cap_capable")
int BPF_PROG(vg_btf_cap_capable, const struct cred *cred, struct user_namespace *target_ns,
             const struct user_namespace *ns, int cap, int ret) {
  record(cap, ret);
  return 0;
}

SEC("raw_tp/cap_capable")
int BPF_PROG(vg_raw_cap_capable, const struct cred *cred, struct user_namespace *target_ns,
             const struct user_namespace *ns, int cap, int ret) {
  record(cap, ret);
  return 0;
}

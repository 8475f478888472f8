// SPDX-License-Identifier: GPL-2.0
/* Tells user space its own tgid as the kernel's other programs see it (in
 * the initial pid namespace): getpid() inside a container or `unshare -p`
 * returns the in-namespace one. Run once with BPF_PROG_TEST_RUN, which
 * executes a raw_tp program in the calling task's context. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

__u32 host_tgid = 0;

SEC("raw_tp")
int vg_host_tgid(void *ctx) {
  host_tgid = bpf_get_current_pid_tgid() >> 32;
  return 0;
}

// SPDX-License-Identifier: GPL-2.0
/* Test object for bpf/inode_ctime.h: vg_inode_ctime on a fake inode, the
 * bytes of an array-map value (kernel memory, which bpf_probe_read_kernel
 * reads). inode_ctime_test.cc loads it against synthetic kernel BTFs, one
 * per struct inode layout, so that its CO-RE relocations resolve to each. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "inode_ctime.h"

char LICENSE[] SEC("license") = "GPL";

#define VG_FAKE_INODE_BYTES 4096

struct vg_fake_inode {
  __u8 bytes[VG_FAKE_INODE_BYTES];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct vg_fake_inode);
} fake_inode SEC(".maps");

__u64 ctime_ns = 0;
__u32 ran = 0;

SEC("syscall")
int vg_test_inode_ctime(void *ctx) {
  __u32 key = 0;
  struct vg_fake_inode *v = bpf_map_lookup_elem(&fake_inode, &key);
  if (!v) return 1;
  ctime_ns = vg_inode_ctime((struct inode *)v);
  ran = 1;
  return 0;
}

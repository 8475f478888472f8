/* An inode's ctime across the kernel's three struct inode layouts, by CO-RE
 * field-existence checks. Included by security.bpf.h, and alone by the test
 * object tests/kernel/inode_ctime_test.bpf.c, which loads it against
 * synthetic BTFs of each layout. */
#ifndef VIGIL_BPF_INODE_CTIME_H
#define VIGIL_BPF_INODE_CTIME_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>

/* The older inode layouts, for CO-RE (libbpf ignores the ___ suffix when
 * matching the kernel's struct inode): a timespec64 named i_ctime before 6.6,
 * __i_ctime from 6.6 to 6.10. */
struct inode___i_ctime {
  struct timespec64 i_ctime;
} __attribute__((preserve_access_index));
struct inode___dunder_i_ctime {
  struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));

/* Nanoseconds of an inode's ctime, whichever layout the running kernel has:
 * i_ctime_sec/i_ctime_nsec (6.11+), __i_ctime (6.6-6.10) or i_ctime. */
static __always_inline __u64 vg_inode_ctime(struct inode *inode) {
  if (bpf_core_field_exists(inode->i_ctime_sec))
    /* Since 6.13 bit 31 of i_ctime_nsec flags "ctime queried" (multigrain timestamps). */
    return BPF_CORE_READ(inode, i_ctime_sec) * 1000000000ULL +
           (BPF_CORE_READ(inode, i_ctime_nsec) & ~(1U << 31));
  struct inode___dunder_i_ctime *v66 = (void *)inode;
  if (bpf_core_field_exists(v66->__i_ctime))
    return BPF_CORE_READ(v66, __i_ctime.tv_sec) * 1000000000ULL + BPF_CORE_READ(v66, __i_ctime.tv_nsec);
  struct inode___i_ctime *old = (void *)inode;
  if (bpf_core_field_exists(old->i_ctime))
    return BPF_CORE_READ(old, i_ctime.tv_sec) * 1000000000ULL + BPF_CORE_READ(old, i_ctime.tv_nsec);
  return 0;
}

#endif /* VIGIL_BPF_INODE_CTIME_H */

/* One capability check, as recorded by capaudit.bpf.c. */
#ifndef VIGIL_BPF_CAPAUDIT_H
#define VIGIL_BPF_CAPAUDIT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

struct vg_cap_check {
  __u64 ts_mono_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
  __u32 tid;
  __s32 cap;
  __s32 ret;        /* 0: granted; negative errno: denied */
  __u32 pad;
};

#endif /* VIGIL_BPF_CAPAUDIT_H */

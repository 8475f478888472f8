/* In-kernel policy scope: which of the candidate policies (those whose
 * rules select the event) have a scope that matches the current task.
 *
 * One bit per policy. Within a policy the filter kinds AND, across policies
 * the bits OR; a policy without a filter of some kind passes that kind.
 * User space (policies/src/kernel_scope.cc) fills the maps after load; until
 * then the config is zero and every candidate passes.
 *
 * The structs are shared with user space; the maps and functions are only
 * seen by the BPF compiler (vigil.bpf.c includes this after my_counters()). */
#ifndef VIGIL_BPF_SCOPE_H
#define VIGIL_BPF_SCOPE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define VG_MAX_POLICIES 64
#define VG_SCOPE_ENTRIES 1024   /* values over all numeric kinds; comms; nodenames */
#define VG_FOLLOW_ENTRIES 32768 /* processes followed at once (a full table is counted) */
#define VG_TREE_DEPTH 32        /* ancestors walked by tree= for processes older than the sensor */
#define VG_TREE_ENTRIES 32768   /* tree= members marked at fork (a full table is counted) */
#define VG_CONTAINER_CGROUPS 16384 /* container cgroups known at once (a full table is counted) */
#define VG_CGROUP_NAME_MAX 128
#define VG_COMM_LEN 16
#define VG_UTS_LEN 65           /* __NEW_UTS_LEN + 1 */
#define VG_NEW_CONTAINER_CGROUPS 16384 /* container cgroups made after start, at once */

/* Kinds looked up by value: {eq, neq} masks say which policies list the
 * value after `=` and after `!=`. */
enum vg_scope_kind {
  VG_SCOPE_UID = 0,
  VG_SCOPE_PID = 1,     /* host tgid or tid */
  VG_SCOPE_MNTNS = 2,
  VG_SCOPE_PIDNS = 3,   /* nsproxy->pid_ns_for_children, as in the record header */
  VG_SCOPE_UTSNS = 4,
  VG_SCOPE_TREE = 5,    /* host tgid of the task or of an ancestor */
  VG_SCOPE_EXEC = 6,    /* inode number of mm->exe_file; `=` only */
  VG_SCOPE_COMM = 7,    /* vg_scope_comm map */
  VG_SCOPE_UTSNAME = 8, /* vg_scope_uts map */
  VG_SCOPE_EUID = 9,    /* the effective uid (uid is the real one, as in Tracee) */
  VG_SCOPE_KINDS = 10,
};

struct vg_scope_key {
  __u32 kind;
  __u32 pad;
  __u64 value;
};

struct vg_scope_masks {
  __u64 eq;
  __u64 neq;
};

struct vg_comm_key {
  char comm[VG_COMM_LEN];
};

struct vg_uts_key {
  char name[VG_UTS_LEN];
};

/* A process that descends from one matching a `follow` policy; start_ns
 * tells a reused tgid from the process that was followed. */
struct vg_followed {
  __u64 start_ns;
  __u64 policies;
};

/* tree= membership of a process forked while the sensor runs, marked at its
 * fork from its parent's: exact whatever the depth, and kept when the
 * process is reparented (a double fork leaves the tree by real_parent).
 * start_ns tells a reused tgid from the marked process. Processes running at
 * start are marked by user space from /proc (BpfSensor::SeedTreeMarks). */
struct vg_tree_mark {
  __u64 start_ns;
  __u64 eq;  /* policies listing an ancestor after tree= */
  __u64 neq; /* ... after tree!= */
};

struct vg_scope_config {
  __u64 scoped;                  /* policies with any kernel filter: 0 = fast path */
  __u64 has[VG_SCOPE_KINDS];     /* policies with a filter of this kind */
  __u64 has_eq[VG_SCOPE_KINDS];  /* ... with an `=` list, which the value must hit */
  __u64 uid_range;               /* policies bounding the uid */
  __u64 euid_range;              /* policies bounding the euid */
  __u64 pid_range;               /* policies bounding the host tgid */
  __u64 new_pid;                 /* pid=new: started after start_boot_ns */
  __u64 old_pid;                 /* pid!=new */
  __u64 container;               /* in a container's cgroup (vg_container_cgroups) */
  __u64 host;                    /* not-container */
  __u64 follow;                  /* descendants of matching processes match too */
  __u64 start_boot_ns;           /* the sensor's start, CLOCK_BOOTTIME */
  __u64 uid_min[VG_MAX_POLICIES], uid_max[VG_MAX_POLICIES];
  __u64 euid_min[VG_MAX_POLICIES], euid_max[VG_MAX_POLICIES];
  __u64 pid_min[VG_MAX_POLICIES], pid_max[VG_MAX_POLICIES];
  __u64 new_container;           /* container=new: in a container cgroup made after start */
  __u64 old_container;           /* container!=new (with `container`: an older container) */
};

#ifdef __VMLINUX_H__ /* the BPF side */

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct vg_scope_config);
} vg_scope_cfg SEC(".maps");

/* The scope tables: the policies' masks by a value of one kind (a number,
 * a comm, a UTS name). */
#define VG_SCOPE_TABLE(name, key_type)     \
  struct {                                 \
    __uint(type, BPF_MAP_TYPE_HASH);       \
    __uint(max_entries, VG_SCOPE_ENTRIES); \
    __type(key, key_type);                 \
    __type(value, struct vg_scope_masks);  \
  } name SEC(".maps")

VG_SCOPE_TABLE(vg_scope_vals, struct vg_scope_key);
VG_SCOPE_TABLE(vg_scope_comm, struct vg_comm_key);
VG_SCOPE_TABLE(vg_scope_uts, struct vg_uts_key);

/* Not LRU: evicting a followed process would let it and its descendants
 * leave the policy's scope. Entries go when the process exits; a full table
 * is counted (vg_cpu_counters.map_full). */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, VG_FOLLOW_ENTRIES);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, __u32);
  __type(value, struct vg_followed);
} vg_followed SEC(".maps");

/* Container cgroups (and their sub-cgroups) created after the sensor
 * started, by cgroup id, filled and emptied by the cgroup_mkdir / rmdir
 * programs (bpf/containers.bpf.h); the value is the creation time
 * (CLOCK_BOOTTIME). A full table leaves later containers out of
 * container=new, never the other way round. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, VG_NEW_CONTAINER_CGROUPS);
  __type(key, __u64);
  __type(value, __u64);
} vg_new_containers SEC(".maps");

/* Whether `task` runs in a container cgroup made after the sensor started.
 * The cgroup is read through the task (not bpf_get_current_cgroup_id) so
 * that the cgroup_skb programs, which evaluate scopes too, can call it. */
static __always_inline bool vg_in_new_container(struct task_struct *task) {
  __u64 cgroup_id = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
  return bpf_map_lookup_elem(&vg_new_containers, &cgroup_id) != NULL;
}
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, VG_TREE_ENTRIES);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, __u32);
  __type(value, struct vg_tree_mark);
} vg_tree_marks SEC(".maps");

/* The cgroups (v2 ids) of containers: a cgroup whose own name holds a
 * container id as engine/src/containers.cc reads them (64 hex digits, alone
 * or after a runtime's "prefix-", with or without ".scope") and every cgroup
 * below one, so that `container` means what the events' containerId says.
 * Seeded from the cgroup tree by user space at start (BpfSensor), kept by
 * the cgroup_mkdir and cgroup_rmdir programs below. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, VG_CONTAINER_CGROUPS);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, __u64);
  __type(value, __u8);
} vg_container_cgroups SEC(".maps");

/* Kernels before 5.5 called start_boottime real_start_time. */
struct task_struct___pre55 {
  __u64 real_start_time;
} __attribute__((preserve_access_index));

static __always_inline __u64 vg_start_boottime(struct task_struct *t) {
  if (bpf_core_field_exists(t->start_boottime)) return BPF_CORE_READ(t, start_boottime);
  return BPF_CORE_READ((struct task_struct___pre55 *)t, real_start_time);
}

/* Policies that pass one looked-up kind: those listing the value after `=`
 * or having no `=` list, minus those listing it after `!=`. */
static __always_inline __u64 vg_pass(const struct vg_scope_masks *m, __u64 has_eq) {
  if (!m) return ~has_eq;
  return (m->eq | ~has_eq) & ~m->neq;
}

static __always_inline __u64 vg_pass_value(const struct vg_scope_config *cfg, __u32 kind,
                                           __u64 value) {
  struct vg_scope_key key = {.kind = kind, .value = value};
  return vg_pass(bpf_map_lookup_elem(&vg_scope_vals, &key), cfg->has_eq[kind]);
}

/* Policies among `policies` whose [min, max] does not hold v. Branch-free:
 * a branch per policy would multiply the verifier's paths by 2^64. User
 * space keeps min and max below 2^33 and v is 32 bits, so a difference is
 * negative exactly when it wraps. */
static __always_inline __u64 vg_out_of_range(__u64 policies, const __u64 *min, const __u64 *max,
                                             __u64 v) {
  __u64 out = 0;
#pragma clang loop unroll(disable)
  for (int i = 0; i < VG_MAX_POLICIES; i++) {
    __u64 below = (v - min[i]) >> 63;
    __u64 above = (max[i] - v) >> 63;
    out |= ((below | above) & (policies >> i) & 1) << i;
  }
  return out;
}

/* The tree= lists that hold `task` (the current task, or a process being
 * forked by it): its mark, else its ancestors' tgids, 32 of them (a process
 * that predates the sensor has no mark). */
static __always_inline struct vg_tree_mark vg_tree_membership(struct task_struct *task) {
  struct vg_tree_mark out = {};
  __u32 tgid = BPF_CORE_READ(task, tgid);
  struct vg_tree_mark *mark = bpf_map_lookup_elem(&vg_tree_marks, &tgid);
  /* (A mark seeded from /proc at start has no start time: 0.) */
  if (mark && (!mark->start_ns || mark->start_ns == vg_start_boottime(BPF_CORE_READ(task, group_leader)))) {
    out.eq = mark->eq;
    out.neq = mark->neq;
    struct vg_scope_key key = {.kind = VG_SCOPE_TREE, .value = tgid};
    struct vg_scope_masks *m = bpf_map_lookup_elem(&vg_scope_vals, &key);
    if (m) {
      out.eq |= m->eq;
      out.neq |= m->neq;
    }
    return out;
  }
  struct task_struct *t = task;
  for (int i = 0; i < VG_TREE_DEPTH; i++) {
    __u32 pid = BPF_CORE_READ(t, tgid);
    struct vg_scope_key key = {.kind = VG_SCOPE_TREE, .value = pid};
    struct vg_scope_masks *m = bpf_map_lookup_elem(&vg_scope_vals, &key);
    if (m) {
      out.eq |= m->eq;
      out.neq |= m->neq;
    }
    if (pid <= 1) break;
    t = BPF_CORE_READ(t, real_parent);
    if (!t) break;
  }
  return out;
}

/* The slow path, for the current task and the scoped policies in `want`:
 * a global function, so the verifier checks it once per program rather
 * than once per call site. */
__noinline __u64 vg_scope_eval(__u64 want) {
  __u32 zero = 0;
  struct vg_scope_config *cfg = bpf_map_lookup_elem(&vg_scope_cfg, &zero);
  if (!cfg) return want;
  struct task_struct *task = (struct task_struct *)bpf_get_current_task();
  struct task_struct *leader = BPF_CORE_READ(task, group_leader);
  __u32 tgid = BPF_CORE_READ(task, tgid);
  __u64 res = want;

  if (want & (cfg->has[VG_SCOPE_UID] | cfg->uid_range)) {
    __u32 uid = BPF_CORE_READ(task, cred, uid.val);
    if (want & cfg->has[VG_SCOPE_UID]) res &= vg_pass_value(cfg, VG_SCOPE_UID, uid);
    if (want & cfg->uid_range)
      res &= ~vg_out_of_range(want & cfg->uid_range, cfg->uid_min, cfg->uid_max, uid);
  }
  if (want & (cfg->has[VG_SCOPE_EUID] | cfg->euid_range)) {
    __u32 euid = BPF_CORE_READ(task, cred, euid.val);
    if (want & cfg->has[VG_SCOPE_EUID]) res &= vg_pass_value(cfg, VG_SCOPE_EUID, euid);
    if (want & cfg->euid_range)
      res &= ~vg_out_of_range(want & cfg->euid_range, cfg->euid_min, cfg->euid_max, euid);
  }
  if (want & (cfg->has[VG_SCOPE_PID] | cfg->pid_range)) {
    __u32 tid = BPF_CORE_READ(task, pid);
    if (want & cfg->has[VG_SCOPE_PID]) {
      struct vg_scope_key key = {.kind = VG_SCOPE_PID, .value = tgid};
      struct vg_scope_masks *m = bpf_map_lookup_elem(&vg_scope_vals, &key);
      __u64 eq = m ? m->eq : 0, neq = m ? m->neq : 0;
      if (tid != tgid) {
        key.value = tid;
        m = bpf_map_lookup_elem(&vg_scope_vals, &key);
        if (m) {
          eq |= m->eq;
          neq |= m->neq;
        }
      }
      res &= (eq | ~cfg->has_eq[VG_SCOPE_PID]) & ~neq;
    }
    if (want & cfg->pid_range)
      res &= ~vg_out_of_range(want & cfg->pid_range, cfg->pid_min, cfg->pid_max, tgid);
  }
  if (want & (cfg->new_pid | cfg->old_pid)) {
    bool is_new = vg_start_boottime(leader) > cfg->start_boot_ns;
    res &= is_new ? ~cfg->old_pid : ~cfg->new_pid;
  }
  if (want & cfg->has[VG_SCOPE_MNTNS])
    res &= vg_pass_value(cfg, VG_SCOPE_MNTNS, BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum));
  if (want & cfg->has[VG_SCOPE_PIDNS])
    res &= vg_pass_value(cfg, VG_SCOPE_PIDNS,
                         BPF_CORE_READ(task, nsproxy, pid_ns_for_children, ns.inum));
  if (want & cfg->has[VG_SCOPE_UTSNS])
    res &= vg_pass_value(cfg, VG_SCOPE_UTSNS, BPF_CORE_READ(task, nsproxy, uts_ns, ns.inum));
  if (want & cfg->has[VG_SCOPE_UTSNAME]) {
    struct vg_uts_key key = {};
    struct uts_namespace *uts = BPF_CORE_READ(task, nsproxy, uts_ns);
    bpf_probe_read_kernel_str(key.name, sizeof(key.name), &uts->name.nodename);
    res &= vg_pass(bpf_map_lookup_elem(&vg_scope_uts, &key), cfg->has_eq[VG_SCOPE_UTSNAME]);
  }
  if (want & cfg->has[VG_SCOPE_COMM]) {
    struct vg_comm_key key = {};
    bpf_probe_read_kernel_str(key.comm, sizeof(key.comm), &task->comm);
    res &= vg_pass(bpf_map_lookup_elem(&vg_scope_comm, &key), cfg->has_eq[VG_SCOPE_COMM]);
  }
  if (want & (cfg->container | cfg->host)) {
    /* By the task's cgroup, not its pid namespace: `unshare -p` on the host
     * stays host, a --pid=host container is a container. */
    __u64 cgroup = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
    bool in_container = bpf_map_lookup_elem(&vg_container_cgroups, &cgroup) != NULL;
    res &= in_container ? ~cfg->host : ~cfg->container;
  }
  if (want & (cfg->new_container | cfg->old_container))
    res &= vg_in_new_container(task) ? ~cfg->old_container : ~cfg->new_container;
  if (want & cfg->has[VG_SCOPE_EXEC])
    res &= vg_pass_value(cfg, VG_SCOPE_EXEC, BPF_CORE_READ(task, mm, exe_file, f_inode, i_ino));
  if (want & cfg->has[VG_SCOPE_TREE]) {
    struct vg_tree_mark in = vg_tree_membership(task);
    res &= (in.eq | ~cfg->has_eq[VG_SCOPE_TREE]) & ~in.neq;
  }
  if (want & cfg->follow) {
    __u64 start = vg_start_boottime(leader);
    struct vg_followed *f = bpf_map_lookup_elem(&vg_followed, &tgid);
    __u64 followed = f && f->start_ns == start ? f->policies : 0;
    __u64 direct = res & cfg->follow;
    if (direct & ~followed) {
      struct vg_followed update = {.start_ns = start, .policies = followed | direct};
      update_counted(&vg_followed, &tgid, &update, BPF_ANY);
    }
    res |= followed & want;
  }
  return res;
}

/* Returns the subset of `candidates` whose scope matches `task`, which
 * must be the current task (every caller passes current). One map lookup
 * when no candidate policy has a kernel scope filter. */
static __always_inline __u64 vg_scope_match(struct task_struct *task, __u64 candidates) {
  __u32 zero = 0;
  struct vg_scope_config *cfg = bpf_map_lookup_elem(&vg_scope_cfg, &zero);
  if (!cfg) return candidates;
  __u64 scoped = candidates & cfg->scoped;
  if (!scoped) return candidates;
  return (candidates & ~scoped) | vg_scope_eval(scoped);
}

/* Called from the fork handler (parent is current) before anything else:
 * a new process inherits its parent's tree= membership and the `follow`
 * policies its parent matches. */
static __always_inline void vg_scope_on_fork(struct task_struct *parent,
                                             struct task_struct *child) {
  __u32 zero = 0;
  struct vg_scope_config *cfg = bpf_map_lookup_elem(&vg_scope_cfg, &zero);
  if (!cfg) return;
  __u32 child_tgid = BPF_CORE_READ(child, tgid);
  if (child_tgid == BPF_CORE_READ(parent, tgid)) return; /* a new thread */
  if (cfg->has[VG_SCOPE_TREE]) {
    struct vg_tree_mark mark = vg_tree_membership(parent);
    if (mark.eq | mark.neq) {
      mark.start_ns = vg_start_boottime(child);
      update_counted(&vg_tree_marks, &child_tgid, &mark, BPF_ANY);
    }
  }
  if (!cfg->follow) return;
  __u64 inherit = vg_scope_eval(cfg->follow) & cfg->follow;
  if (!inherit) return;
  struct vg_followed f = {.start_ns = vg_start_boottime(child), .policies = inherit};
  update_counted(&vg_followed, &child_tgid, &f, BPF_ANY);
}

/* Called when the last thread of a process exits: it is followed no more. */
static __always_inline void vg_scope_on_exit(struct task_struct *task) {
  __u32 tgid = BPF_CORE_READ(task, tgid);
  bpf_map_delete_elem(&vg_followed, &tgid);
  bpf_map_delete_elem(&vg_tree_marks, &tgid);
}

/* Whether a cgroup's own name holds a container id, as
 * engine/src/containers.cc reads a path component: its last 64 characters
 * (before ".scope") are lower-case hex, and they are the whole name or
 * follow a '-'. A name too long to read whole is none (no runtime's is). */
static __always_inline bool vg_container_cgroup_name(const char *kernel_name) {
  char name[VG_CGROUP_NAME_MAX];
  long n = bpf_probe_read_kernel_str(name, sizeof(name), kernel_name);
  if (n <= 64 || n >= (long)sizeof(name)) return false;
  __u32 len = n - 1;
  if (len >= 6 && name[(len - 6) & (VG_CGROUP_NAME_MAX - 1)] == '.' &&
      name[(len - 5) & (VG_CGROUP_NAME_MAX - 1)] == 's' && name[(len - 4) & (VG_CGROUP_NAME_MAX - 1)] == 'c' &&
      name[(len - 3) & (VG_CGROUP_NAME_MAX - 1)] == 'o' && name[(len - 2) & (VG_CGROUP_NAME_MAX - 1)] == 'p' &&
      name[(len - 1) & (VG_CGROUP_NAME_MAX - 1)] == 'e')
    len -= 6;
  if (len < 64) return false;
  __u32 start = len - 64;
  if (start > 0 && name[(start - 1) & (VG_CGROUP_NAME_MAX - 1)] != '-') return false;
  for (int i = 0; i < 64; i++) {
    char c = name[(start + i) & (VG_CGROUP_NAME_MAX - 1)];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

/* A new cgroup is a container's when its parent is one or its name says so. */
static __always_inline void vg_scope_cgroup_created(struct cgroup *cgrp) {
  __u64 id = BPF_CORE_READ(cgrp, kn, id);
  struct cgroup_subsys_state *parent_css = BPF_CORE_READ(cgrp, self.parent);
  bool in_container = false;
  if (parent_css) {
    __u64 parent = BPF_CORE_READ(parent_css, cgroup, kn, id);
    in_container = bpf_map_lookup_elem(&vg_container_cgroups, &parent) != NULL;
  }
  if (!in_container) in_container = vg_container_cgroup_name(BPF_CORE_READ(cgrp, kn, name));
  if (!in_container) return;
  __u8 one = 1;
  update_counted(&vg_container_cgroups, &id, &one, BPF_ANY);
}

/* Attached by the loader only when some policy's scope is container or
 * not-container (BpfSensor::Options::container_scope). */
SEC("raw_tp/cgroup_mkdir")
int BPF_PROG(vg_raw_scope_cgroup_mkdir, struct cgroup *cgrp, const char *path) {
  vg_scope_cgroup_created(cgrp);
  return 0;
}

SEC("raw_tp/cgroup_rmdir")
int BPF_PROG(vg_raw_scope_cgroup_rmdir, struct cgroup *cgrp, const char *path) {
  __u64 id = BPF_CORE_READ(cgrp, kn, id);
  bpf_map_delete_elem(&vg_container_cgroups, &id);
  return 0;
}

#endif /* __VMLINUX_H__ */
#endif /* VIGIL_BPF_SCOPE_H */

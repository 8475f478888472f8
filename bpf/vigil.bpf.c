// SPDX-License-Identifier: GPL-2.0
/* vigil's kernel side: syscall capture (per-syscall tracepoints or the
 * raw_syscalls dispatcher) and process lifecycle (sched tracepoints).
 * Records go to one BPF ring buffer; see vigil_event.h for the layout. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "vigil_event.h"
#include "event_layout.h"
#include "syscall_nrs.h"
#include "path_watch.h"

char LICENSE[] SEC("license") = "GPL";

/* Task, softirq, hard irq, NMI: the per-CPU scratch maps have a slot each. */
#define VG_CPU_CONTEXTS 4

/* Set by user space before load, so the verifier sees constants. */
const volatile __u32 sensor_tgid = 0;
const volatile __u64 wakeup_every = 4096; /* records per CPU between forced wake-ups */
/* The policies that selected each non-syscall event (bit i: policy i), by
 * event id (VG_ID_*); written by user space before load, so that the
 * verifier prunes the code of unselected events. */
const volatile __u64 vg_event_policies[VG_MAX_EVENTS];
/* Of those, the policies whose pathname filter the kernel decides, by event
 * id (security_inode_rename: its new path). */
const volatile __u64 vg_event_path_policies[VG_MAX_EVENTS];
/* Lifecycle records also feed user space's process tree (executable paths)
 * when no policy selects them; such records carry policies == 0. */
const volatile bool track_processes = false;
/* --exec-env: sched_process_exec also carries the new image's environment. */
const volatile bool exec_env = false;
/* The sensor's own UTS namespace (inode number): exec and fork records of
 * tasks in another one carry that namespace's nodename (user space names
 * every event of the namespace after it). */
const volatile __u32 sensor_uts_ns = 0;

struct vg_cpu_counters vg_counters[VG_MAX_CPUS];
/* Set by user space (through the mmap'd .bss) when the raw_syscalls
 * dispatcher is the syscall events' hook; otherwise it runs, if at all, only
 * for the consumers of vg_syscall_spec.consumers. */
bool raw_dispatch_syscalls = false;
/* Set by user space when the dispatcher calls consumers of x86-64 syscalls
 * (security events served by it). When neither is set, the dispatcher runs
 * only for compat (ia32) syscalls, which per-syscall tracepoints never see,
 * and returns at once for every other task. */
bool raw_x64_consumers = false;

/* The open fast path (path_watch.h). User space writes the string bloom and
 * the descriptors of the watched directories and exact files, then runs
 * vg_watch_learn in its own context, which sets the file bloom's bits and
 * vg_watch_ready. Until then every file takes the slow path. */
__u64 vg_watch_bloom[VG_WATCH_BLOOM_WORDS];
__u64 vg_str_bloom[VG_STR_BLOOM_WORDS];
__u32 vg_str_prefix_len = 0; /* 0: every caller string is looked up in the trie */
bool vg_watch_ready = false;
__u64 vg_sensor_mnt_ns = 0;
__s32 vg_watch_fds[VG_WATCH_MAX_FDS];
__u8 vg_watch_kinds[VG_WATCH_MAX_FDS];
__u32 vg_watch_nfds = 0;

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 16 << 20); /* resized by user space */
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, VG_MAX_SYSCALLS);
  __type(key, __u32);
  __type(value, struct vg_syscall_spec);
} syscall_specs SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 4096);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct vg_path_key);
  __type(value, __u64);
} path_filters SEC(".maps");

/* Exact patterns by (event id, device, inode) of the file they name. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct vg_inode_key);
  __type(value, __u64);
} path_inodes SEC(".maps");

/* A trie key under construction; `spill` lets a string be appended at a
 * variable offset with a constant size (the verifier's bound), whatever
 * lands past the key is ignored. */
struct vg_path_key_buf {
  struct vg_path_key key;
  char spill[VG_PATH_KEY_LEN + 8];
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1); /* filter_path runs in syscall programs only (task context) */
  __type(key, __u32);
  __type(value, struct vg_path_key_buf);
} path_key_buf SEC(".maps");

struct vg_exec_stash {
  __s32 nr;
  __u32 hdr_flags; /* VG_HDR_COMPAT when the execve was an ia32 one */
  __u64 policies;
  __u64 args[6];
  char comm[VG_TASK_COMM_LEN]; /* the caller's name, before exec replaces it */
};

/* execve arguments by calling thread, from entry to exec or failure. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32);
  __type(value, struct vg_exec_stash);
} exec_stash SEC(".maps");

struct vg_scratch {
  __u8 data[VG_SCRATCH_SIZE];
};

/* The per-CPU buffers below have a slot per context that can interrupt
 * another on the same CPU (task, softirq, hard irq, NMI): a softirq program
 * (net_tcp_connection, cgroup_skb) that runs while a syscall program is
 * building a record must not build its own in the same memory. A program
 * claims the first free slot of its CPU (claim_scratch) and frees it when
 * the record is submitted: programs nest only by interrupting one another,
 * so the interrupted one keeps its slot and the interrupting one takes the
 * next. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, VG_CPU_CONTEXTS);
  __type(key, __u32);
  __type(value, struct vg_scratch);
} scratch SEC(".maps");

/* A second per-CPU buffer for path building (names are written backwards). */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, VG_CPU_CONTEXTS);
  __type(key, __u32);
  __type(value, struct vg_scratch);
} path_scratch SEC(".maps");

static __always_inline struct vg_cpu_counters *my_counters(void) {
  return &vg_counters[bpf_get_smp_processor_id() & (VG_MAX_CPUS - 1)];
}

/* When this CPU's scratch slots were claimed (boot ns; 0: free). A claim
 * older than any program runs is one a record abandoned without submitting
 * it (an early return): it is taken over. A program can look that old only
 * if its virtual CPU was descheduled meanwhile; its record is then dropped
 * and counted at submit (rec_submit checks it still holds the claim), never
 * emitted half overwritten. */
__u64 vg_scratch_claims[VG_MAX_CPUS * VG_CPU_CONTEXTS];
#define VG_SCRATCH_CLAIM_STALE_NS 1000000000ULL

/* The first free scratch slot of this CPU, now claimed; -1 (counted as
 * map_full) when every one is held. A global function: verified once, not
 * at every record of every program (the dispatcher has dozens). */
__noinline int claim_scratch(__u64 now) {
  __u32 base = (bpf_get_smp_processor_id() & (VG_MAX_CPUS - 1)) * VG_CPU_CONTEXTS;
  for (int i = 0; i < VG_CPU_CONTEXTS; i++) {
    __u64 *claim = &vg_scratch_claims[(base + i) & (VG_MAX_CPUS * VG_CPU_CONTEXTS - 1)];
    if (*claim == 0 || now - *claim > VG_SCRATCH_CLAIM_STALE_NS) {
      *claim = now;
      return i;
    }
  }
  __sync_fetch_and_add(&my_counters()->map_full, 1);
  return -1;
}

static __always_inline __u64 *scratch_claim(int slot) {
  __u32 base = (bpf_get_smp_processor_id() & (VG_MAX_CPUS - 1)) * VG_CPU_CONTEXTS;
  return &vg_scratch_claims[(base + (slot & (VG_CPU_CONTEXTS - 1))) & (VG_MAX_CPUS * VG_CPU_CONTEXTS - 1)];
}

static __always_inline void release_scratch(int slot) { *scratch_claim(slot) = 0; }

/* Whether a record still holds its slot: false when the claim was taken
 * over meanwhile (the record may be overwritten: not to be emitted). */
__noinline int scratch_still_claimed(int slot, __u64 claimed) { return *scratch_claim(slot) == claimed; }

/* A claimed slot of a per-CPU scratch map. */
static __always_inline void *scratch_slot(void *map, int slot) {
  __u32 key = slot & (VG_CPU_CONTEXTS - 1);
  return bpf_map_lookup_elem(map, &key);
}

/* An update of a kernel table whose failure (the table is full) would
 * silently lose a pending context or state: counted, for the stop summary
 * and the metrics. */
static __always_inline long update_counted(void *map, const void *key, const void *value, __u64 flags) {
  long err = bpf_map_update_elem(map, key, value, flags);
  if (err) __sync_fetch_and_add(&my_counters()->map_full, 1);
  return err;
}

#include "scope.h"

#define VG_AT_FDCWD -100

/* The open file behind a descriptor of `task`, or NULL. */
static __always_inline struct file *vg_fd_file(struct task_struct *task, long fd) {
  if (fd < 0) return NULL;
  struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
  if (!fdt) return NULL;
  unsigned int max_fds = BPF_CORE_READ(fdt, max_fds);
  if ((unsigned long)fd >= max_fds) return NULL;
  struct file **fds = BPF_CORE_READ(fdt, fd);
  struct file *file = NULL;
  bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
  return file;
}

/* vg_fd_file of the current task, walking its BTF pointers with direct
 * loads (one helper call, for the descriptor table's slot): for the hot
 * path of an open's exit. */
static __always_inline struct file *vg_current_fd_file(long fd) {
  if (fd < 0) return NULL;
  struct task_struct *task = bpf_get_current_task_btf();
  struct files_struct *files = task->files;
  if (!files) return NULL;
  struct fdtable *fdt = files->fdt;
  if (!fdt || (unsigned long)fd >= fdt->max_fds) return NULL;
  struct file **fds = fdt->fd;
  struct file *file = NULL;
  bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
  return file;
}

/* The policies that want this event from this task; counts the drop when none does. */
static __always_inline __u64 matched_policies(__u64 candidates) {
  __u64 matched = vg_scope_match((struct task_struct *)bpf_get_current_task(), candidates);
  if (!matched) my_counters()->filtered_kernel++;
  return matched;
}

static __always_inline bool is_sensor(void) {
  return (bpf_get_current_pid_tgid() >> 32) == sensor_tgid;
}

/* The common prologue of a non-syscall event: the policies that want event
 * `id` from the current task (0 when the event is unselected, the task is
 * the sensor's, or no policy's scope takes it, which is counted). */
static __always_inline __u64 event_policies(__u32 id) {
  __u64 candidates = vg_event_policies[id & (VG_MAX_EVENTS - 1)];
  if (!candidates || is_sensor()) return 0;
  return matched_policies(candidates);
}

/* Whether any policy selected event `id`: a constant to the verifier. */
#define EVENT_SELECTED(id) (vg_event_policies[(id) & (VG_MAX_EVENTS - 1)] != 0)

static __always_inline __u32 task_ns_pid(struct task_struct *task) {
  struct pid *pid = BPF_CORE_READ(task, thread_pid);
  unsigned int level = BPF_CORE_READ(pid, level);
  return BPF_CORE_READ(pid, numbers[level].nr);
}

static __always_inline __u32 task_ns_tgid(struct task_struct *task) {
  return task_ns_pid(BPF_CORE_READ(task, group_leader));
}

/* The task's ids, credentials, namespaces and start time, read through its
 * BTF pointer (shared by every program that builds a header). */
static __always_inline void header_task_fields(struct vg_event_header *h, struct task_struct *task) {
  struct task_struct *parent = task->real_parent;
  struct task_struct *leader = task->group_leader;
  h->host_tid = task->pid;
  h->host_pid = task->tgid;
  h->host_ppid = parent->tgid;
  if (task->thread_pid->level == 0) {
    h->tid = h->host_tid;
    h->pid = h->host_pid;
    h->ppid = h->host_ppid;
  } else {
    struct task_struct *untrusted = (struct task_struct *)task;
    h->tid = task_ns_pid(untrusted);
    h->pid = task_ns_tgid(untrusted);
    h->ppid = task_ns_tgid(BPF_CORE_READ(untrusted, real_parent));
  }
  const struct cred *cred = task->cred;
  h->uid = cred->uid.val;
  h->gid = cred->gid.val;
  struct nsproxy *ns = task->nsproxy;
  h->mnt_ns = ns->mnt_ns->ns.inum;
  h->pid_ns = ns->pid_ns_for_children->ns.inum;
  h->uts_ns = ns->uts_ns->ns.inum;
  h->start_time_ns = leader->start_time;
}

/* arch/x86/include/asm/thread_info.h: thread_info.status while an ia32
 * syscall runs (set at its entry, cleared on the return to user space). */
#define VG_TS_COMPAT 0x0002
/* arch/x86/include/uapi/asm/unistd.h: x32 syscall numbers carry this bit. */
#define VG_X32_SYSCALL_BIT 0x40000000

/* Whether `task` is in an ia32 (compat) syscall, as the kernel's
 * in_ia32_syscall() decides on x86-64: TS_COMPAT in its thread_info. */
static __always_inline bool vg_task_in_ia32_syscall(struct task_struct *task) {
  return task->thread_info.status & VG_TS_COMPAT;
}

/* The header describes the current task. Fields are read through the BTF
 * pointer from bpf_get_current_task_btf(): direct (CO-RE-relocated) loads
 * instead of one helper call per field, which is most of the per-event cost.
 * Namespaced ids need a variable array index, so they are read with helpers,
 * and only when the task is not in the initial pid namespace. */
static __always_inline void fill_header(struct vg_event_header *h, __u32 event_id, __s32 nr,
                                        __u64 policies) {
  struct task_struct *task = bpf_get_current_task_btf();
  h->ts_boot_ns = bpf_ktime_get_boot_ns();
  h->cgroup_id = bpf_get_current_cgroup_id();
  h->policies = policies;
  h->retval = 0;
  h->event_id = event_id;
  h->syscall_nr = nr;
  h->cpu = bpf_get_smp_processor_id();
  header_task_fields(h, task);
  bpf_get_current_comm(h->comm, sizeof(h->comm));
  h->args_size = 0;
  h->argc = 0;
  h->flags = vg_task_in_ia32_syscall(task) ? VG_HDR_COMPAT : 0;
  h->reserved = 0;
}

/* The record being built lives in the per-CPU scratch buffer. Its write
 * position is kept in the header's args_size field (in map memory, read
 * with volatile loads) rather than in a register: the verifier then treats
 * it as an unknown bounded scalar after every append, so the paths through
 * the different argument kinds collapse into one state instead of
 * multiplying. Offsets are masked so every access is provably in bounds. */
struct vg_rec {
  __u8 *buf;
  int slot;      /* of the scratch maps, claimed until rec_submit or rec_abandon */
  __u64 claimed; /* the claim's time: still the slot's at submit, or the record is dropped */
};

#define REC_HDR(r) ((struct vg_event_header *)(r)->buf)

static __always_inline __u32 rec_off(struct vg_rec *r) {
  return *(volatile __u32 *)&REC_HDR(r)->args_size;
}

static __always_inline void rec_set_off(struct vg_rec *r, __u32 off) {
  *(volatile __u32 *)&REC_HDR(r)->args_size = off;
}

/* Reserves the argument header (index, kind) if `need` more bytes fit;
 * returns the masked offset where the payload goes, or -1. */
static __always_inline long arg_begin(struct vg_rec *r, __u8 index, __u8 kind, __u32 need) {
  __u32 off = rec_off(r);
  if (off > VG_MAX_RECORD - 2 - need) {
    REC_HDR(r)->flags |= VG_HDR_TRUNCATED;
    return -1;
  }
  off &= (VG_SCRATCH_HALF - 1);
  r->buf[off] = index;
  r->buf[(off + 1) & (VG_SCRATCH_SIZE - 1)] = kind;
  REC_HDR(r)->argc++;
  return (off + 2) & (VG_SCRATCH_HALF - 1);
}

static __always_inline void put_u64(struct vg_rec *r, __u8 index, __u64 value) {
  long off = arg_begin(r, index, VG_KIND_U64, 8);
  if (off < 0) return;
  __builtin_memcpy(&r->buf[off], &value, sizeof(value));
  rec_set_off(r, off + 8);
}

/* A NUL-terminated string, user or kernel memory, as VG_KIND_STR. */
static __always_inline void put_str(struct vg_rec *r, __u8 index, const void *ptr, __u32 max,
                                    bool user) {
  long off = arg_begin(r, index, VG_KIND_STR, 2 + VG_MAX_STR);
  if (off < 0) return;
  max &= (VG_MAX_STR * 2 - 1);
  if (max > VG_MAX_STR) max = VG_MAX_STR;
  long n = user ? bpf_probe_read_user_str(&r->buf[off + 2], max, ptr)
                : bpf_probe_read_kernel_str(&r->buf[off + 2], max, ptr);
  __u16 len = n > 0 ? n - 1 : 0; /* without the NUL */
  /* A string that filled the buffer was cut; one that could not be read is lost. */
  if (n >= max || n < 0) REC_HDR(r)->flags |= VG_HDR_TRUNCATED;
  if (n < 0 && user) my_counters()->read_failed++;
  __builtin_memcpy(&r->buf[off], &len, sizeof(len));
  rec_set_off(r, off + 2 + len);
}

static __always_inline void put_bytes(struct vg_rec *r, __u8 index, __u8 kind, const void *ptr,
                                      __u32 len, bool user) {
  long off = arg_begin(r, index, kind, 2 + VG_MAX_STR);
  if (off < 0) return;
  len &= (VG_MAX_STR - 1);
  long err = user ? bpf_probe_read_user(&r->buf[off + 2], len, ptr)
                  : bpf_probe_read_kernel(&r->buf[off + 2], len, ptr);
  __u16 l16 = err ? 0 : len;
  __builtin_memcpy(&r->buf[off], &l16, sizeof(l16));
  rec_set_off(r, off + 2 + l16);
}

/* argv-style array of user string pointers. */
static __always_inline void put_strarr(struct vg_rec *r, __u8 index, const char *const *arr) {
  long count_off = arg_begin(r, index, VG_KIND_STRARR, 1);
  if (count_off < 0) return;
  rec_set_off(r, count_off + 1);
  __u8 count = 0;
  /* Pointers are 4 bytes in a compat syscall's arrays (compat_uptr_t). */
  __u32 step = 8 - ((REC_HDR(r)->flags & VG_HDR_COMPAT) << 1);
  int i;
  for (i = 0; i < VG_MAX_ARGV; i++) {
    const char *s = NULL;
    if (bpf_probe_read_user(&s, step, (const char *)arr + i * step)) {
      REC_HDR(r)->flags |= VG_HDR_TRUNCATED;
      break;
    }
    if (!s) break;
    __u32 off = rec_off(r);
    if (off > VG_MAX_RECORD - 2 - VG_MAX_ARGV_STR) {
      REC_HDR(r)->flags |= VG_HDR_TRUNCATED;
      break;
    }
    off &= (VG_SCRATCH_HALF - 1);
    long n = bpf_probe_read_user_str(&r->buf[off + 2], VG_MAX_ARGV_STR, s);
    if (n >= VG_MAX_ARGV_STR || n < 0) REC_HDR(r)->flags |= VG_HDR_TRUNCATED;
    __u16 len = n > 0 ? n - 1 : 0;
    __builtin_memcpy(&r->buf[off], &len, sizeof(len));
    rec_set_off(r, off + 2 + len);
    count++;
  }
  if (i == VG_MAX_ARGV) { /* more entries than captured? */
    const char *s = NULL;
    if (!bpf_probe_read_user(&s, step, (const char *)arr + VG_MAX_ARGV * step) && s)
      REC_HDR(r)->flags |= VG_HDR_TRUNCATED;
  }
  r->buf[count_off & (VG_SCRATCH_HALF - 1)] = count;
}

/* argv of the new image, from the mm's argument area (NUL-separated). */
static __always_inline void put_mm_args(struct vg_rec *r, __u8 index, struct task_struct *task) {
  unsigned long start = BPF_CORE_READ(task, mm, arg_start);
  unsigned long end = BPF_CORE_READ(task, mm, arg_end);
  __u32 len = end > start ? end - start : 0;
  if (len > VG_MAX_STR - 1) {
    len = VG_MAX_STR - 1;
    REC_HDR(r)->flags |= VG_HDR_TRUNCATED;
  }
  put_bytes(r, index, VG_KIND_BYTES, (const void *)start, len, true);
}

/* The environment of the new image, from the mm's env area (NUL-separated),
 * bounded as argv is. */
static __always_inline void put_mm_env(struct vg_rec *r, __u8 index, struct task_struct *task) {
  unsigned long start = BPF_CORE_READ(task, mm, env_start);
  unsigned long end = BPF_CORE_READ(task, mm, env_end);
  __u32 len = end > start ? end - start : 0;
  if (len > VG_MAX_STR - 1) {
    len = VG_MAX_STR - 1;
    REC_HDR(r)->flags |= VG_HDR_TRUNCATED;
  }
  put_bytes(r, index, VG_KIND_BYTES, (const void *)start, len, true);
}

/* Builds the path of a dentry by walking to the mount namespace's root,
 * writing names backwards into path_scratch: the path is in
 * [pos, VG_MAX_STR), pos returned. The write position lives in map memory
 * (as for records) so that the verifier's states converge across
 * iterations instead of multiplying. A path deeper than VG_PATH_DEPTH steps
 * or longer than the buffer keeps its last components behind the marker
 * "..." (never empty) and sets VG_PATH_CUT. */
#define VG_PATH_DEPTH 40
#define VG_PATH_POS(ps) (*(volatile __u32 *)&(ps)->data[VG_MAX_STR])
#define VG_PATH_CUT(ps) (*(volatile __u32 *)&(ps)->data[VG_MAX_STR + 4])
#define VG_PATH_MARK_LEN 3 /* "..." */

/* A dentry's parent and name, in one read where they are adjacent (they are
 * in every kernel since 2.6, but CO-RE checks), else two. */
struct vg_dentry_link {
  struct dentry *parent;
  struct qstr name;
};

static __always_inline void vg_read_dentry_link(struct dentry *d, struct vg_dentry_link *out) {
  if (bpf_core_field_offset(d->d_name) == bpf_core_field_offset(d->d_parent) + sizeof(void *) &&
      bpf_core_field_size(d->d_name) == sizeof(struct qstr)) {
    if (!bpf_probe_read_kernel(out, sizeof(*out), (void *)d + bpf_core_field_offset(d->d_parent))) return;
  }
  out->parent = BPF_CORE_READ(d, d_parent);
  out->name = BPF_CORE_READ(d, d_name);
}

static __always_inline __u32 vg_build_path(struct vg_scratch *ps, const struct path *path) {
  struct dentry *dentry = BPF_CORE_READ(path, dentry);
  struct vfsmount *vfsmnt = BPF_CORE_READ(path, mnt);
  struct mount *mnt = container_of(vfsmnt, struct mount, mnt);
  /* Read once per mount, not per component. */
  struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
  VG_PATH_POS(ps) = VG_MAX_STR;
  VG_PATH_CUT(ps) = 1; /* until the walk reaches a root */

  for (int i = 0; i < VG_PATH_DEPTH; i++) {
    if (dentry == mnt_root) {
      struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
      if (mnt == mnt_parent) { /* the root of the tree */
        VG_PATH_CUT(ps) = 0;
        break;
      }
      dentry = BPF_CORE_READ(mnt, mnt_mountpoint); /* cross the mount point */
      mnt = mnt_parent;
      mnt_root = BPF_CORE_READ(mnt, mnt.mnt_root);
      continue;
    }
    struct vg_dentry_link link;
    vg_read_dentry_link(dentry, &link);
    struct dentry *parent = link.parent;
    struct qstr name = link.name;
    if (dentry == parent && name.len <= 1) { /* a filesystem root that is no mount root */
      VG_PATH_CUT(ps) = 0;
      break;
    }
    __u32 len = name.len & (VG_MAX_STR / 2 - 1);
    __u32 pos = VG_PATH_POS(ps);
    /* Room for "/name", the marker should a later name not fit, and one
     * byte more: a whole VG_MAX_STR would read as empty (len & 4095). */
    if (pos > VG_MAX_STR || len + 2 + VG_PATH_MARK_LEN > pos) break;
    pos -= len + 1;
    pos &= (VG_MAX_STR - 1);
    ps->data[pos] = '/';
    bpf_probe_read_kernel(&ps->data[(pos + 1) & (VG_MAX_STR - 1)], len, name.name);
    VG_PATH_POS(ps) = pos;
    /* A file with no place in any tree (memfd, anonymous): its own parent,
     * named "/" + its name as d_path names it ("/memfd:x"). */
    if (dentry == parent) {
      VG_PATH_CUT(ps) = 0;
      break;
    }
    dentry = parent;
  }
  __u32 pos = VG_PATH_POS(ps);
  if (pos >= VG_MAX_STR) { /* the root itself, or nothing fitted */
    pos = VG_MAX_STR - 1;
    ps->data[pos] = '/';
  }
  if (VG_PATH_CUT(ps) && pos >= VG_PATH_MARK_LEN) {
    pos -= VG_PATH_MARK_LEN;
    pos &= (VG_MAX_STR - 1);
    ps->data[pos] = '.';
    ps->data[(pos + 1) & (VG_MAX_STR - 1)] = '.';
    ps->data[(pos + 2) & (VG_MAX_STR - 1)] = '.';
  }
  return pos & (VG_MAX_STR - 1);
}

static __always_inline void put_path(struct vg_rec *r, __u8 index, const struct path *path) {
  struct vg_scratch *ps = scratch_slot(&path_scratch, r->slot);
  if (!ps) return;
  __u32 pos = vg_build_path(ps, path);
  if (VG_PATH_CUT(ps)) REC_HDR(r)->flags |= VG_HDR_TRUNCATED;
  put_bytes(r, index, VG_KIND_STR, &ps->data[pos], VG_MAX_STR - pos, false);
}

/* A record on a scratch slot claimed for it (r.buf NULL when none is free);
 * every rec_begin* starts with it, and rec_submit or rec_abandon frees it. */
static __always_inline struct vg_rec rec_claim(void) {
  struct vg_rec r = {.claimed = bpf_ktime_get_boot_ns()};
  r.slot = claim_scratch(r.claimed);
  if (r.slot < 0) return r;
  struct vg_scratch *s = scratch_slot(&scratch, r.slot);
  if (!s) {
    release_scratch(r.slot);
    return r;
  }
  r.buf = s->data;
  return r;
}

static __always_inline struct vg_rec rec_begin(__u32 event_id, __s32 nr, __u64 policies) {
  struct vg_rec r = rec_claim();
  if (!r.buf) return r;
  fill_header((struct vg_event_header *)r.buf, event_id, nr, policies);
  rec_set_off(&r, sizeof(struct vg_event_header));
  return r;
}

/* Submits without waking the reader unless the buffer is filling up: the
 * reader polls on a short timer, so waking it per event only costs. */
static __always_inline void rec_submit(struct vg_rec *r) {
  struct vg_event_header *h = REC_HDR(r);
  /* 64-bit so that clang does not zero-extend a copy: the verifier must
   * see the bound on the register passed to the helper. */
  __u64 size = rec_off(r);
  h->args_size = size - sizeof(*h);
  struct vg_cpu_counters *c = my_counters();
  if (h->flags & VG_HDR_TRUNCATED) c->truncated++;
  /* The reader drains on a short timer; it is woken only every
   * wakeup_every records from one CPU, so that a burst cannot fill the
   * buffer between two drains. Counting locally avoids touching the
   * consumer's cache line (as bpf_ringbuf_query would) on every event. */
  __u64 flags = BPF_RB_NO_WAKEUP;
  if (++c->since_wakeup >= wakeup_every) {
    c->since_wakeup = 0;
    flags = BPF_RB_FORCE_WAKEUP;
  }
  /* The barrier keeps clang from folding the clamp away: the verifier
   * needs to see the bound on the very register it checks. */
  asm volatile("" : "+r"(size));
  if (size > VG_MAX_RECORD) size = VG_MAX_RECORD;
  asm volatile("" : "+r"(size));
  if (!scratch_still_claimed(r->slot, r->claimed)) { /* taken over while this record was built */
    __sync_fetch_and_add(&c->map_full, 1);
    return;
  }
  /* Copied out before the slot is freed: an interrupting program may take it then. */
  if (size >= sizeof(*h)) {
    if (bpf_ringbuf_output(&events, r->buf, size, flags))
      __sync_fetch_and_add(&c->lost_reserve, 1);
    else
      c->emitted++;
  }
  release_scratch(r->slot);
}

/* A record begun but not submitted gives its scratch slot back. */
static __always_inline void rec_abandon(struct vg_rec *r) {
  if (r->buf) release_scratch(r->slot);
}

/* ---------------------------------------------------------------- syscalls */

static __always_inline void put_syscall_args(struct vg_rec *r, const struct vg_syscall_spec *spec,
                                             const __u64 *args) {
  int strarr = -1;
#pragma unroll
  for (int i = 0; i < 6; i++) {
    if (i >= spec->argc) break;
    switch (spec->capture[i]) {
      case VG_CAPTURE_VALUE:
        put_u64(r, i, args[i]);
        break;
      case VG_CAPTURE_STR:
        put_str(r, i, (const void *)args[i], VG_MAX_STR, true);
        break;
      case VG_CAPTURE_STRARR:
        if (strarr < 0) strarr = i;
        break;
      case VG_CAPTURE_SOCKADDR: {
        __u64 len = i < 5 ? args[i + 1] : 0;
        if (len > VG_SOCKADDR_MAX) len = VG_SOCKADDR_MAX;
        put_bytes(r, i, VG_KIND_SOCKADDR, (const void *)args[i], len, true);
        break;
      }
      default:
        break;
    }
  }
  /* At most one string array (argv) per syscall, read outside the unrolled
   * loop so that the verifier walks the argv loop once, not six times.
   * The decoder puts arguments back in definition order. */
  if (strarr >= 0 && strarr < 6) put_strarr(r, strarr, (const char *const *)args[strarr]);
}

static __always_inline void emit_syscall(__s32 nr, __u64 policies, const struct vg_syscall_spec *spec,
                                         const __u64 *args, __s64 ret) {
  struct vg_rec r = rec_begin(nr, nr, policies);
  if (!r.buf) return;
  REC_HDR(&r)->retval = ret;
  put_syscall_args(&r, spec, args);
  rec_submit(&r);
}

static __always_inline const struct vg_syscall_spec *spec_of(long nr) {
  __u32 key = nr;
  if (key >= VG_MAX_SYSCALLS) return NULL;
  return bpf_map_lookup_elem(&syscall_specs, &key);
}

/* Whether a syscall's event is selected and emitted at `at_entry` (entry or exit). */
static __always_inline bool captured_at(const struct vg_syscall_spec *spec, __u8 at_entry) {
  if (!(spec->flags & VG_SYSCALL_SELECTED)) return false;
  if (spec->flags & VG_SYSCALL_DEFER) return true; /* seen at entry and exit */
  return !!(spec->flags & VG_SYSCALL_AT_ENTRY) == at_entry;
}

/* The spec of a selected syscall emitted at `when` (entry or exit), or NULL. */
static __always_inline const struct vg_syscall_spec *selected_spec(long nr, __u8 at_entry) {
  const struct vg_syscall_spec *spec = spec_of(nr);
  return spec && captured_at(spec, at_entry) ? spec : NULL;
}

/* ------------------------------------------------------- path filters
 * Exact and prefix pathname patterns, decided in the kernel before a record
 * is built (vg_path_* helpers). A policy's path filter passes when any of
 * these matches, tried cheapest first and only for the policies still
 * undecided:
 *   1. the caller's string (as given: relative, "//", symlinks unresolved);
 *   2. for a file the syscall opened (successful open, openat, openat2,
 *      creat, open_by_handle_at; execve and execveat): its (device, inode)
 *      against the exact patterns' files (hard links, bind mounts), then its
 *      path resolved from the dentry and mount chain, up to the task's mount
 *      namespace root (relative names, "..", "//", /proc/self/root, symlinks);
 *   3. when the syscall failed (no file): a relative caller string appended
 *      to the path of the directory it was resolved against (dirfd or cwd).
 * A caller string that cannot be read is counted (read_failed); when no
 * file could decide instead, the event is kept rather than dropped.
 * Before 1 and 2, the blooms of path_watch.h spare the trie and the path
 * walk for strings and files that no pattern can name. */

/* Fields `a` and `b` of *ptr (b after a, CO-RE offsets) into *out_a and
 * *out_b: one read when they lie within 64 bytes, else one each (a probe
 * read costs more than the bytes it copies). */
#define vg_read_two(ptr, a, b, out_a, out_b)                                                         \
  do {                                                                                              \
    __u64 oa_ = bpf_core_field_offset(ptr->a), ob_ = bpf_core_field_offset(ptr->b);                 \
    __u64 sb_ = sizeof(*(out_b));                                                                   \
    __u64 buf_[8];                                                                                  \
    if (ob_ > oa_ && ob_ - oa_ + sb_ <= sizeof(buf_) && bpf_core_field_size(ptr->a) == sizeof(*(out_a)) && \
        bpf_core_field_size(ptr->b) == sb_ && !bpf_probe_read_kernel(buf_, ob_ - oa_ + sb_, (void *)(ptr) + oa_)) { \
      __builtin_memcpy((out_a), buf_, sizeof(*(out_a)));                                            \
      __builtin_memcpy((out_b), (void *)buf_ + (ob_ - oa_), sb_);                                   \
    } else {                                                                                        \
      *(out_a) = BPF_CORE_READ(ptr, a);                                                             \
      *(out_b) = BPF_CORE_READ(ptr, b);                                                             \
    }                                                                                               \
  } while (0)

static __always_inline bool vg_bloom_has(const __u64 *words, __u32 nwords, __u32 bit) {
  return (words[(bit >> 6) & (nwords - 1)] >> (bit & 63)) & 1;
}

/* Whether a path pattern may name `fp` (a struct file): 0 when the file is
 * no exact pattern's (by super block and inode; checked when `by_inode`:
 * prefixes need not) and the walk from its
 * dentry to the mount namespace's root, crossing mount points (each mount
 * root and the dentry it covers are both checked, so an overmount hides
 * nothing), meets no watched directory. 1 otherwise, when the walk is too
 * deep, or for a task in another mount namespace than the sensor's (its
 * "/etc" is another directory, matched by its resolved path). */
__noinline int vg_walk_maybe_watched(__u64 dp, __u64 mp, __u64 rootp);

__noinline int vg_file_maybe_watched(__u64 fp, int by_inode) {
  if (!vg_watch_ready) return 1;
  struct file *file = (struct file *)fp;
  struct inode *inode;
  struct path path;
  vg_read_two(file, f_inode, f_path, &inode, &path);
  if (by_inode) {
    struct super_block *sb;
    unsigned long ino;
    vg_read_two(inode, i_sb, i_ino, &sb, &ino);
    if (vg_bloom_has(vg_watch_bloom, VG_WATCH_BLOOM_WORDS, vg_watch_bit((__u64)sb, ino))) return 1;
  }
  return vg_walk_maybe_watched((__u64)path.dentry, (__u64)container_of(path.mnt, struct mount, mnt),
                               (__u64)BPF_CORE_READ(path.mnt, mnt_root));
}

/* The walk of vg_file_maybe_watched from dentry `dp` in mount `mp`, whose
 * root dentry is `rootp`. */
__noinline int vg_walk_maybe_watched(__u64 dp, __u64 mp, __u64 rootp) {
  if (!vg_watch_ready) return 1;
  struct nsproxy *ns = bpf_get_current_task_btf()->nsproxy; /* BTF pointers: direct loads */
  if (!ns || (__u64)ns->mnt_ns != vg_sensor_mnt_ns) return 1;
  struct dentry *d = (struct dentry *)dp, *root = (struct dentry *)rootp;
  struct mount *mnt = (struct mount *)mp;
  for (int i = 0; i < VG_PATH_DEPTH; i++) {
    if (vg_bloom_has(vg_watch_bloom, VG_WATCH_BLOOM_WORDS, vg_watch_bit((__u64)d, 0))) return 1;
    if (d == root) {
      struct mount *up = BPF_CORE_READ(mnt, mnt_parent);
      if (up == mnt) return 0; /* the namespace's root: nothing watched on the way */
      d = BPF_CORE_READ(mnt, mnt_mountpoint);
      mnt = up;
      root = BPF_CORE_READ(mnt, mnt.mnt_root);
      continue;
    }
    struct dentry *parent = BPF_CORE_READ(d, d_parent);
    if (parent == d) return 1; /* in no tree */
    d = parent;
  }
  return 1;
}

/* Run once with BPF_PROG_TEST_RUN in the sensor's own context, after user
 * space wrote vg_watch_fds/kinds/nfds: sets the file bloom's bits from the
 * descriptors (whose files it keeps open, so that the dentries stay) and
 * the sensor's mount namespace. Any descriptor it cannot read leaves
 * vg_watch_ready false: the slow path for every file. */
SEC("raw_tp")
int vg_watch_learn(void *ctx) {
  struct task_struct *task = bpf_get_current_task_btf();
  vg_sensor_mnt_ns = (__u64)BPF_CORE_READ(task, nsproxy, mnt_ns);
  __u32 n = vg_watch_nfds;
  for (int i = 0; i < VG_WATCH_MAX_FDS; i++) {
    if (i >= n) break;
    struct file *f = vg_fd_file(task, vg_watch_fds[i]);
    if (!f) return 0;
    __u32 bit;
    if (vg_watch_kinds[i] == VG_WATCH_DIR) {
      bit = vg_watch_bit((__u64)BPF_CORE_READ(f, f_path.dentry), 0);
    } else {
      struct inode *inode = BPF_CORE_READ(f, f_inode);
      bit = vg_watch_bit((__u64)BPF_CORE_READ(inode, i_sb), BPF_CORE_READ(inode, i_ino));
    }
    vg_watch_bloom[(bit >> 6) & (VG_WATCH_BLOOM_WORDS - 1)] |= 1ULL << (bit & 63);
  }
  vg_watch_ready = true;
  return 0;
}

/* `x & 255`, kept as a mask clang cannot fold into an earlier bound (the
 * verifier tracks the register, not the C variable). */
static __always_inline __u32 vg_key_index(__u32 x) {
  asm volatile("" : "+r"(x));
  return x & 255;
}

/* min(x, VG_PATH_KEY_LEN), the bound on the very register a helper gets. */
static __always_inline __u64 vg_key_len(__u64 x) {
  /* 64-bit so that clang does not zero-extend a copy (as in rec_submit). */
  asm volatile("" : "+r"(x));
  if (x > VG_PATH_KEY_LEN) x = VG_PATH_KEY_LEN;
  asm volatile("" : "+r"(x));
  return x;
}

/* The trie's mask for the first `len` bytes of key->path (len counts the
 * NUL of a whole string: exact patterns match it). */
static __always_inline __u64 vg_path_key_lookup(struct vg_path_key *key, __u32 event_id, __u32 len) {
  if (len > VG_PATH_KEY_LEN) len = VG_PATH_KEY_LEN;
  key->event_id = event_id;
  key->prefixlen = 32 + 8 * len;
  __u64 *match = bpf_map_lookup_elem(&path_filters, key);
  return match ? *match : 0;
}

/* 1. The caller's string; -1 when it could not be read. */
static __always_inline __s64 vg_path_match_str(struct vg_path_key *key, __u32 event_id, const char *path,
                                               bool kernel) {
  __u64 k = vg_str_prefix_len;
  asm volatile("" : "+r"(k)); /* bound the register the helper gets */
  if (k > VG_STR_PREFIX_MAX) k = VG_STR_PREFIX_MAX;
  asm volatile("" : "+r"(k));
  if (k) {
    __u64 first = 0;
    long err = kernel ? bpf_probe_read_kernel(&first, k, path) : bpf_probe_read_user(&first, k, path);
    /* (A string shorter than k, ending in unmapped memory, is read whole.) */
    if (!err && !vg_bloom_has(vg_str_bloom, VG_STR_BLOOM_WORDS, vg_str_bit(first))) return 0;
  }
  long n = kernel ? bpf_probe_read_kernel_str(key->path, sizeof(key->path), path)
                  : bpf_probe_read_user_str(key->path, sizeof(key->path), path);
  if (n <= 0) return -1;
  return vg_path_key_lookup(key, event_id, n);
}

/* Copies the path built in ps at pos into the key; returns its length. */
static __always_inline __u32 vg_path_key_copy(struct vg_path_key *key, struct vg_scratch *ps, __u32 pos) {
  __u32 len = VG_MAX_STR - pos;
  __u64 n = vg_key_len(len);
  bpf_probe_read_kernel(key->path, n, &ps->data[pos & (VG_MAX_STR - 1)]);
  return len;
}

/* 2. The opened file: by inode for exact patterns, then by resolved path,
 * for the policies of `want` that are still undecided. */
static __always_inline __u64 vg_path_match_file(struct vg_path_key_buf *kb, __u32 event_id,
                                                struct file *file, __u64 want) {
  if (!vg_file_maybe_watched((__u64)file, 1)) return 0;
  struct inode *inode = BPF_CORE_READ(file, f_inode);
  struct vg_inode_key ik = {.event_id = event_id};
  ik.dev = BPF_CORE_READ(inode, i_sb, s_dev);
  ik.ino = BPF_CORE_READ(inode, i_ino);
  __u64 pass = 0;
  __u64 *m = bpf_map_lookup_elem(&path_inodes, &ik);
  if (m) pass = *m & want;
  if (pass == want) return pass;
  __u32 zero = 0;
  struct vg_scratch *ps = bpf_map_lookup_elem(&path_scratch, &zero);
  if (!ps) return pass;
  __u32 pos = vg_build_path(ps, &file->f_path);
  if (VG_PATH_CUT(ps)) return pass; /* not a whole path: it names no pattern */
  __u32 len = vg_path_key_copy(&kb->key, ps, pos);
  if (len < VG_PATH_KEY_LEN) kb->key.path[vg_key_index(len)] = 0;
  return pass | vg_path_key_lookup(&kb->key, event_id, len + 1);
}

/* The directory a relative name given with `dirfd` resolves against: the
 * cwd for AT_FDCWD, else the descriptor's file; NULL when there is none. */
static __always_inline const struct path *vg_dirfd_path(long dirfd) {
  struct task_struct *task = bpf_get_current_task_btf();
  if ((int)dirfd == VG_AT_FDCWD) {
    struct fs_struct *fs = BPF_CORE_READ(task, fs);
    return fs ? &fs->pwd : NULL;
  }
  struct file *f = vg_fd_file(task, (int)dirfd);
  return f ? &f->f_path : NULL;
}

/* 3. A relative caller string made absolute against dirfd (or the cwd for
 * AT_FDCWD); 0 for an absolute one (already looked up as it is). */
static __always_inline __u64 vg_path_match_at(struct vg_path_key_buf *kb, __u32 event_id, long dirfd,
                                              const char *upath) {
  char first = 0;
  if (bpf_probe_read_user(&first, sizeof(first), upath) || first == '/' || !first) return 0;
  const struct path *dir = vg_dirfd_path(dirfd);
  if (!dir) return 0;
  __u32 zero = 0;
  struct vg_scratch *ps = bpf_map_lookup_elem(&path_scratch, &zero);
  if (!ps) return 0;
  __u32 pos = vg_build_path(ps, dir);
  if (VG_PATH_CUT(ps)) return 0;
  __u32 len = vg_path_key_copy(&kb->key, ps, pos);
  if (len >= VG_PATH_KEY_LEN) return vg_path_key_lookup(&kb->key, event_id, VG_PATH_KEY_LEN);
  if (len != 1) { /* the root needs no separator */
    kb->key.path[vg_key_index(len)] = '/';
    len++;
  }
  /* Lands in the key, or past it in spill (ignored): the size is constant. */
  long n = bpf_probe_read_user_str(&kb->key.path[vg_key_index(len)], VG_PATH_KEY_LEN, upath);
  if (n <= 0) return 0;
  return vg_path_key_lookup(&kb->key, event_id, len + n);
}

/* The directory a syscall's relative path argument is resolved against:
 * AT_FDCWD for the first argument, the dirfd for the *at syscalls' second,
 * -1 (none known) otherwise. */
static __always_inline long vg_path_dirfd(__s32 nr, __u8 path_arg, const __u64 *args) {
  if (path_arg == 0) return VG_AT_FDCWD;
  if (path_arg == 1 && (nr == VG_NR_openat || nr == VG_NR_openat2 || nr == VG_NR_execveat))
    return (int)args[0];
  return -1;
}

static __always_inline bool vg_opens_file(__s32 nr) {
  return nr == VG_NR_open || nr == VG_NR_openat || nr == VG_NR_openat2 || nr == VG_NR_creat ||
         nr == VG_NR_open_by_handle_at;
}

/* Drops the policies whose pathname patterns (exact or prefix) the syscall's
 * path does not match, before any record is built. `file`: the file it
 * opened (NULL: none, or not known); `at_exit`: the syscall has returned
 * `ret`. */
static __always_inline __u64 vg_filter_path(__s32 nr, const struct vg_syscall_spec *spec, const __u64 *args,
                                            const char *cpath, bool kernel, struct file *file,
                                            bool at_exit, __s64 ret, __u64 policies) {
  __u64 want = policies & spec->path_policies;
  __u32 zero = 0;
  struct vg_path_key_buf *kb = bpf_map_lookup_elem(&path_key_buf, &zero);
  if (!kb) return policies;
  __s64 by_str = cpath ? vg_path_match_str(&kb->key, nr, cpath, kernel) : -1;
  __u64 pass = by_str > 0 ? (by_str & want) : 0;
  bool decided = by_str >= 0;
  if (by_str < 0 && cpath && !kernel) my_counters()->read_failed++;
  if (pass != want && file) {
    pass |= vg_path_match_file(kb, nr, file, want & ~pass);
    decided = true;
  } else if (pass != want && at_exit && ret < 0 && cpath && !kernel) {
    long dirfd = vg_path_dirfd(nr, spec->path_arg, args);
    if (dirfd != -1) pass |= vg_path_match_at(kb, nr, dirfd, cpath) & want;
  }
  if (!decided) pass = want; /* nothing could be read to decide: keep the event */
  return (policies & ~want) | pass;
}

/* For a non-syscall event (`event_id`, policies `policies`): drops the
 * policies of vg_event_path_policies whose patterns do not match the string
 * argument the record holds at `arg_off` (as put_str/put_path/put_at_path
 * wrote it). */
static __always_inline __u64 vg_filter_rec_path(struct vg_rec *r, __u32 arg_off, __u32 event_id,
                                                __u64 policies) {
  __u64 want = policies & vg_event_path_policies[event_id & (VG_MAX_EVENTS - 1)];
  if (!want) return policies;
  __u32 zero = 0;
  struct vg_path_key_buf *kb = bpf_map_lookup_elem(&path_key_buf, &zero);
  if (!kb) return policies;
  if (rec_off(r) < arg_off + 4) return policies & ~want; /* the argument did not fit */
  __u32 off = arg_off & (VG_SCRATCH_HALF - 1);
  __u16 len = 0;
  __builtin_memcpy(&len, &r->buf[(off + 2) & (VG_SCRATCH_HALF - 1)], sizeof(len));
  __u64 n = vg_key_len(len);
  bpf_probe_read_kernel(kb->key.path, n, &r->buf[(off + 4) & (VG_SCRATCH_HALF - 1)]);
  if (n < VG_PATH_KEY_LEN) kb->key.path[vg_key_index(n)] = 0;
  return (policies & ~want) | (vg_path_key_lookup(&kb->key, event_id, n + 1) & want);
}

static __always_inline __u64 filter_path(__s32 nr, const struct vg_syscall_spec *spec, const __u64 *args,
                                         bool at_exit, __s64 ret, __u64 policies) {
  __u8 i = spec->path_arg;
  const char *cpath = i < 6 ? (const char *)args[i] : NULL;
  struct file *file = NULL;
  if (at_exit && ret >= 0 && vg_opens_file(nr)) file = vg_current_fd_file(ret);
  return vg_filter_path(nr, spec, args, cpath, false, file, at_exit, ret, policies);
}

static __always_inline void stash_exec(__s32 nr, const struct vg_syscall_spec *spec, const __u64 *args) {
  if (is_sensor()) return;
  struct vg_exec_stash st = {.nr = nr};
  st.hdr_flags = vg_task_in_ia32_syscall(bpf_get_current_task_btf()) ? VG_HDR_COMPAT : 0;
  st.policies = matched_policies(spec->policies);
  if (!st.policies) return;
  __builtin_memcpy(st.args, args, sizeof(st.args));
  bpf_get_current_comm(st.comm, sizeof(st.comm));
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  update_counted(&exec_stash, &tid, &st, BPF_ANY);
}

/* A failed execve returns: its argument pages are resident now (the kernel
 * read them), so the record is built as for any syscall. */
static __always_inline void exec_failed(const struct vg_syscall_spec *spec, __s64 ret) {
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  struct vg_exec_stash *st = bpf_map_lookup_elem(&exec_stash, &tid);
  if (!st) return;
  __u64 policies = st->policies;
  if (ret < 0 && (policies & spec->path_policies)) {
    policies = filter_path(st->nr, spec, st->args, true, ret, policies);
    if (!policies) my_counters()->filtered_kernel++;
  }
  if (ret < 0 && policies) emit_syscall(st->nr, policies, spec, st->args, ret);
  bpf_map_delete_elem(&exec_stash, &tid);
}

static __always_inline void on_syscall(__s32 nr, const struct vg_syscall_spec *spec, const __u64 *args,
                                       __s64 ret) {
  if (is_sensor()) return;
  __u64 policies = matched_policies(spec->policies);
  if (policies && (policies & spec->path_policies)) {
    policies = filter_path(nr, spec, args, !(spec->flags & VG_SYSCALL_AT_ENTRY), ret, policies);
    if (!policies) my_counters()->filtered_kernel++;
  }
  if (policies) emit_syscall(nr, policies, spec, args, ret);
}

/* Arguments of a syscall at its exit, from the user registers the kernel
 * saved at entry (pt_regs): x86-64 passes them in di, si, dx, r10, r8, r9 and
 * nothing rewrites those slots before the return to user space (only ax gets
 * the result). Reading them at exit spares an entry hook and a per-thread
 * map update on every captured syscall. */
static __always_inline struct pt_regs *current_regs(void) {
  return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

/* (The raw tracepoint's `regs` is the current task's: read through its BTF
 * pointer instead, direct loads rather than a helper call per register.) */
static __always_inline void args_from_regs(__u64 *args) {
  struct pt_regs *regs = current_regs();
  args[0] = regs->di;
  args[1] = regs->si;
  args[2] = regs->dx;
  args[3] = regs->r10;
  args[4] = regs->r8;
  args[5] = regs->r9;
}

/* The tp_btf program of a kernel tracepoint and its raw_tp twin (for kernels
 * without BTF for it), both running `call` (in parentheses when it has
 * commas) over the tracepoint's arguments. */
#define VG_BTF_AND_RAW(prefix, tp, call, ...)             \
  SEC("tp_btf/" #tp)                                      \
  int BPF_PROG(vg_btf_##prefix##tp, __VA_ARGS__) {        \
    call;                                                 \
    return 0;                                             \
  }                                                       \
  SEC("raw_tp/" #tp)                                      \
  int BPF_PROG(vg_raw_##prefix##tp, __VA_ARGS__) {        \
    call;                                                 \
    return 0;                                             \
  }

/* Per-syscall tracepoints (syscalls/sys_{enter,exit}_X): attached only to the
 * selected syscalls, so that others never run BPF code. Most syscalls are
 * emitted at exit; the few that do not return (execve, exit) at entry. */
struct vg_tp_sys_enter {
  __u64 common;
  __s32 nr;
  __u32 pad;
  __u64 args[6];
};
struct vg_tp_sys_exit {
  __u64 common;
  __s32 nr;
  __u32 pad;
  __s64 ret;
};

/* The kernel refuses to attach a program that reads past the end of a
 * tracepoint's record, so there is one entry program per argument count;
 * the registry picks the one matching the syscall. */
#define VG_TP_SYS_ENTER(n)                                            \
  SEC("tracepoint")                                                   \
  int vg_tp_sys_enter##n(struct vg_tp_sys_enter *ctx) {               \
    const struct vg_syscall_spec *spec = selected_spec(ctx->nr, 1);   \
    if (!spec) return 0;                                              \
    __u64 args[6] = {};                                               \
    for (int i = 0; i < n; i++) args[i] = ctx->args[i];               \
    if (spec->flags & VG_SYSCALL_DEFER)                               \
      stash_exec(ctx->nr, spec, args);                                \
    else                                                              \
      on_syscall(ctx->nr, spec, args, 0);                             \
    return 0;                                                         \
  }
VG_TP_SYS_ENTER(0)
VG_TP_SYS_ENTER(1)
VG_TP_SYS_ENTER(2)
VG_TP_SYS_ENTER(3)
VG_TP_SYS_ENTER(4)
VG_TP_SYS_ENTER(5)
VG_TP_SYS_ENTER(6)

SEC("tracepoint")
int vg_tp_sys_exit(struct vg_tp_sys_exit *ctx) {
  const struct vg_syscall_spec *spec = selected_spec(ctx->nr, 0);
  if (!spec) return 0;
  if (spec->flags & VG_SYSCALL_DEFER) {
    exec_failed(spec, ctx->ret);
    return 0;
  }
  /* A BTF pointer: direct loads, no helper call per register. */
  struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
  __u64 args[6] = {regs->di, regs->si, regs->dx, regs->r10, regs->r8, regs->r9};
  on_syscall(ctx->nr, spec, args, ctx->ret);
  return 0;
}

/* ----------------------------------------------------- compat (ia32) syscalls */

/* socketcall(call, args): the x86-64 syscall of each SYS_* call
 * (include/uapi/linux/net.h) and how many u32 arguments its array holds.
 * SYS_SEND and SYS_RECV have no x86-64 twin. */
#define VG_SOCKETCALL_CALLS 21
static const short vg_socketcall_nr[VG_SOCKETCALL_CALLS] = {
    -1,          VG_NR_socket,      VG_NR_bind,       VG_NR_connect,     VG_NR_listen,
    VG_NR_accept, VG_NR_getsockname, VG_NR_getpeername, VG_NR_socketpair, -1,
    -1,          VG_NR_sendto,      VG_NR_recvfrom,   VG_NR_shutdown,    VG_NR_setsockopt,
    VG_NR_getsockopt, VG_NR_sendmsg, VG_NR_recvmsg,   VG_NR_accept4,     VG_NR_recvmmsg,
    VG_NR_sendmmsg,
};
static const __u8 vg_socketcall_argc[VG_SOCKETCALL_CALLS] = {0, 3, 3, 3, 2, 3, 3, 3, 4, 4, 4,
                                                            6, 6, 2, 5, 5, 3, 3, 4, 5, 4};

/* The current ia32 syscall `nr` as its x86-64 twin: the twin's number (-1
 * when there is none) and the arguments in the twin's order: ebx,
 * ecx, edx, esi, edi, ebp as 32-bit values; for socketcall, the call's own
 * from the array it points to. */
static __noinline long compat_decode(long nr, __u64 *args) {
  struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
  args[0] = (__u32)regs->bx;
  args[1] = (__u32)regs->cx;
  args[2] = (__u32)regs->dx;
  args[3] = (__u32)regs->si;
  args[4] = (__u32)regs->di;
  args[5] = (__u32)regs->bp;
  long twin = -1;
  if (nr == VG_IA32_NR_socketcall) {
    __u32 call = args[0];
    if (call < VG_SOCKETCALL_CALLS) {
      __u32 a32[8] = {}; /* 8: room for any count below 8, as the verifier sees it */
      __u32 n = vg_socketcall_argc[call] & 7;
      twin = vg_socketcall_nr[call];
      if (twin >= 0 && bpf_probe_read_user(a32, n * 4, (const void *)args[1])) twin = -1;
      for (int i = 0; i < 6; i++) args[i] = a32[i];
    }
  } else if ((__u64)nr < VG_IA32_NR_COUNT) {
    twin = vg_ia32_to_x64[nr];
  }
  return twin;
}

/* The six arguments of the current syscall by its ABI, x86-64 (di, si, dx,
 * r10, r8, r9) or ia32 (compat_decode), each in the field named after the
 * x86-64 register that holds it: for the handlers of security.bpf.h, which
 * serve both ABIs. */
struct vg_sys_args {
  __u64 di, si, dx, r10, r8, r9;
};

static __always_inline struct vg_sys_args *vg_syscall_args(struct vg_sys_args *a) {
  struct task_struct *task = bpf_get_current_task_btf();
  struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
  if (vg_task_in_ia32_syscall(task)) {
    compat_decode(regs->orig_ax, (__u64 *)a);
    return a;
  }
  a->di = regs->di;
  a->si = regs->si;
  a->dx = regs->dx;
  a->r10 = regs->r10;
  a->r8 = regs->r8;
  a->r9 = regs->r9;
  return a;
}

#include "security.bpf.h"
#include "containers.bpf.h"
#include "io_uring.bpf.h"

/* Counted, not decoded: x32 syscalls (no x32 table here). */
static __always_inline bool x32_syscall(long id) {
  if (id <= 0 || !(id & VG_X32_SYSCALL_BIT)) return false; /* (-1: no syscall) */
  my_counters()->compat_undecoded++;
  return true;
}

/* The raw_syscalls dispatcher: runs on every syscall and filters by the
 * syscall_specs map. Cheaper than hundreds of tracepoints when many
 * syscalls are selected, and needs no tracefs. It also stands in for the
 * per-syscall tracepoint programs of the security events where tracefs is
 * missing: the consumers a syscall's spec names are called first, each a
 * subprogram of its own (verified once, with its own stack frame). */
SEC("raw_tp/sys_enter")
int BPF_PROG(vg_raw_sys_enter, struct pt_regs *regs, long id) {
  /* One path for both ABIs (each handler once in the program: the verifier
   * walks it once): a compat syscall is translated to its x86-64 twin and
   * served whatever hook serves x86-64 syscalls. */
  __u64 args[6];
  const bool compat = vg_task_in_ia32_syscall(bpf_get_current_task_btf());
  if (!compat && !raw_dispatch_syscalls && !raw_x64_consumers) return 0;
  if (compat) id = compat_decode(id, args);
  const struct vg_syscall_spec *spec = spec_of(id);
  if (!spec) return 0;
  __u16 consumers = compat ? spec->compat_consumers : spec->consumers;
  if (consumers) run_entry_consumers(id, consumers);
  if (!(compat || raw_dispatch_syscalls) || !captured_at(spec, 1)) return 0;
  if (!compat) args_from_regs(args); /* only for a captured syscall */
  if (spec->flags & VG_SYSCALL_DEFER)
    stash_exec(id, spec, args);
  else
    on_syscall(id, spec, args, 0);
  return 0;
}

SEC("raw_tp/sys_exit")
int BPF_PROG(vg_raw_sys_exit, struct pt_regs *regs, long ret) {
  struct task_struct *task = bpf_get_current_task_btf();
  long id = ((struct pt_regs *)bpf_task_pt_regs(task))->orig_ax;
  __u64 args[6];
  const bool compat = vg_task_in_ia32_syscall(task);
  if (compat) {
    id = compat_decode(id, args);
    if (id < 0) my_counters()->compat_undecoded++; /* once per syscall */
  } else if (x32_syscall(id) || (!raw_dispatch_syscalls && !raw_x64_consumers)) {
    return 0;
  }
  const struct vg_syscall_spec *spec = spec_of(id);
  if (!spec) return 0;
  __u16 consumers = compat ? spec->compat_consumers : spec->consumers;
  if (consumers) run_exit_consumers(id, ret, consumers);
  if (!(compat || raw_dispatch_syscalls) || !captured_at(spec, 0)) return 0;
  if (spec->flags & VG_SYSCALL_DEFER) {
    exec_failed(spec, ret);
    return 0;
  }
  if (!compat) args_from_regs(args); /* only for a captured syscall */
  on_syscall(id, spec, args, ret);
  return 0;
}

/* --------------------------------------------------------------- lifecycle */

/* A successful execve, emitted as the syscall event from what the kernel
 * copied: the filename it resolved and the argument area of the new mm. */
static __always_inline void emit_deferred_execve(__u32 old_tid, struct task_struct *p,
                                                 struct linux_binprm *bprm) {
  struct vg_exec_stash *st = bpf_map_lookup_elem(&exec_stash, &old_tid);
  if (!st) return;
  __u32 key = st->nr;
  const struct vg_syscall_spec *spec = key < VG_MAX_SYSCALLS ? bpf_map_lookup_elem(&syscall_specs, &key) : NULL;
  __u64 policies = st->policies;
  if (spec && (policies & spec->path_policies)) {
    /* The kernel's copy of the name: what the record reports. */
    policies = vg_filter_path(st->nr, spec, st->args, BPF_CORE_READ(bprm, filename), true,
                              BPF_CORE_READ(bprm, file), true, 0, policies);
    if (!policies) my_counters()->filtered_kernel++;
  }
  if (spec && policies) {
    struct vg_rec r = rec_begin(st->nr, st->nr, policies);
    if (r.buf) {
      __builtin_memcpy(REC_HDR(&r)->comm, st->comm, sizeof(st->comm));
      /* The ABI of the execve call, not of the image it loaded (exec of a
       * 32-bit ELF sets TS_COMPAT; of a 64-bit one clears it). */
      REC_HDR(&r)->flags = (REC_HDR(&r)->flags & ~VG_HDR_COMPAT) | (st->hdr_flags & VG_HDR_COMPAT);
#pragma unroll
      for (int i = 0; i < 6; i++) {
        if (i >= spec->argc) break;
        __u8 c = spec->capture[i];
        if (c == VG_CAPTURE_VALUE) put_u64(&r, i, st->args[i]);
        else if (c == VG_CAPTURE_STR) put_str(&r, i, BPF_CORE_READ(bprm, filename), VG_MAX_STR, false);
        else if (c == VG_CAPTURE_STRARR) put_mm_args(&r, i, p);
      }
      rec_submit(&r);
    }
  }
  bpf_map_delete_elem(&exec_stash, &old_tid);
}

/* The nodename of `task`'s UTS namespace, when it is not the sensor's. */
static __always_inline void put_nodename(struct vg_rec *r, __u8 index, struct task_struct *task) {
  struct uts_namespace *uts = BPF_CORE_READ(task, nsproxy, uts_ns);
  if (!uts || !sensor_uts_ns || BPF_CORE_READ(uts, ns.inum) == sensor_uts_ns) return;
  put_str(r, index, &uts->name.nodename, sizeof(uts->name.nodename), false);
}

static __always_inline void emit_exec(struct task_struct *p, struct linux_binprm *bprm) {
  if (is_sensor()) return;
  __u64 policies = event_policies(VG_ID_SCHED_PROCESS_EXEC);
  if (!policies && !track_processes) return;
  struct vg_rec r = rec_begin(VG_ID_SCHED_PROCESS_EXEC, -1, policies);
  if (!r.buf) return;
  struct file *file = BPF_CORE_READ(bprm, file);
  struct inode *inode = BPF_CORE_READ(file, f_inode);
  put_str(&r, VG_ARG_SCHED_PROCESS_EXEC_CMDPATH, BPF_CORE_READ(bprm, filename), VG_MAX_STR, false);
  put_path(&r, VG_ARG_SCHED_PROCESS_EXEC_PATHNAME, &file->f_path);
  put_nodename(&r, VG_ARG_SCHED_PROCESS_EXEC_NODENAME, p);
  if (!policies) { /* for the process tree only */
    rec_submit(&r);
    return;
  }
  put_u64(&r, VG_ARG_SCHED_PROCESS_EXEC_DEV, BPF_CORE_READ(inode, i_sb, s_dev));
  put_u64(&r, VG_ARG_SCHED_PROCESS_EXEC_INODE, BPF_CORE_READ(inode, i_ino));
  put_u64(&r, VG_ARG_SCHED_PROCESS_EXEC_CTIME, vg_inode_ctime(inode));
  put_u64(&r, VG_ARG_SCHED_PROCESS_EXEC_INODE_MODE, BPF_CORE_READ(inode, i_mode));
  const char *interp = BPF_CORE_READ(bprm, interp);
  const char *filename = BPF_CORE_READ(bprm, filename);
  if (interp != filename) put_str(&r, VG_ARG_SCHED_PROCESS_EXEC_INTERPRETER_PATHNAME, interp, VG_MAX_STR, false);
  put_mm_args(&r, VG_ARG_SCHED_PROCESS_EXEC_ARGV, p);
  put_u64(&r, VG_ARG_SCHED_PROCESS_EXEC_ARGC, BPF_CORE_READ(bprm, argc));
  struct file *in = vg_fd_file(p, 0); /* (none when fd 0 is closed) */
  if (in) put_u64(&r, VG_ARG_SCHED_PROCESS_EXEC_STDIN_TYPE, BPF_CORE_READ(in, f_inode, i_mode) & VG_S_IFMT);
  /* VG_ARG_SCHED_PROCESS_EXEC_WRITTEN_SINCE_START: set by user space from the ctime. */
  if (exec_env) put_mm_env(&r, VG_ARG_SCHED_PROCESS_EXEC_ENV, p);
  rec_submit(&r);
}

VG_BTF_AND_RAW(, sched_process_exec,
               (emit_deferred_execve(old_pid, p, bprm), rekey_cred_at_exec(old_pid, p), emit_exec(p, bprm)),
               struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)

static __always_inline void emit_fork(struct task_struct *parent, struct task_struct *child) {
  if (is_sensor()) return;
  vg_scope_on_fork(parent, child); /* `follow` policies pass to the child */
  __u64 policies = event_policies(VG_ID_SCHED_PROCESS_FORK);
  if (!policies && !track_processes) return;
  /* Threads share their process's executable: the tree needs processes only. */
  if (!policies && BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid)) return;
  struct vg_rec r = rec_begin(VG_ID_SCHED_PROCESS_FORK, -1, policies);
  if (!r.buf) return;
  /* Host ids of both, then the child's in its own pid namespace. */
  put_u64(&r, VG_ARG_SCHED_PROCESS_FORK_PARENT_TID, BPF_CORE_READ(parent, pid));
  put_u64(&r, VG_ARG_SCHED_PROCESS_FORK_PARENT_PID, BPF_CORE_READ(parent, tgid));
  put_u64(&r, VG_ARG_SCHED_PROCESS_FORK_CHILD_TID, BPF_CORE_READ(child, pid));
  put_u64(&r, VG_ARG_SCHED_PROCESS_FORK_CHILD_PID, BPF_CORE_READ(child, tgid));
  put_u64(&r, VG_ARG_SCHED_PROCESS_FORK_CHILD_NS_TID, task_ns_pid(child));
  put_u64(&r, VG_ARG_SCHED_PROCESS_FORK_CHILD_NS_PID, task_ns_tgid(child));
  put_u64(&r, VG_ARG_SCHED_PROCESS_FORK_START_TIME, BPF_CORE_READ(child, start_time));
  /* nodename: keyed by the header's (the parent's) namespace in user space,
   * so only when the child shares it (not after clone(CLONE_NEWUTS)). */
  if (BPF_CORE_READ(child, nsproxy, uts_ns) == BPF_CORE_READ(parent, nsproxy, uts_ns))
    put_nodename(&r, VG_ARG_SCHED_PROCESS_FORK_NODENAME, child);
  rec_submit(&r);
}

VG_BTF_AND_RAW(, sched_process_fork, (emit_fork(parent, child)), struct task_struct *parent,
               struct task_struct *child)

/* The per-thread and per-process state a dying task leaves: pending syscall
 * contexts (a thread killed between entry and exit) and the follow mark. */
static __always_inline void forget_exiting_task(struct task_struct *p) {
  __u32 tid = BPF_CORE_READ(p, pid);
  bpf_map_delete_elem(&exec_stash, &tid);
  forget_cred_at_entry(tid);
  if (BPF_CORE_READ(p, signal, live.counter) == 0) vg_scope_on_exit(p);
}

static __always_inline void emit_exit(struct task_struct *p) {
  if (is_sensor()) return;
  forget_exiting_task(p);
  __u64 policies = event_policies(VG_ID_SCHED_PROCESS_EXIT);
  if (!policies && !track_processes) return;
  if (!policies && BPF_CORE_READ(p, signal, live.counter) != 0) return; /* a thread, not the process */
  struct vg_rec r = rec_begin(VG_ID_SCHED_PROCESS_EXIT, -1, policies);
  if (!r.buf) return;
  int code = BPF_CORE_READ(p, exit_code);
  int live = BPF_CORE_READ(p, signal, live.counter);
  put_u64(&r, VG_ARG_SCHED_PROCESS_EXIT_EXIT_CODE, (code >> 8) & 0xff);
  put_u64(&r, VG_ARG_SCHED_PROCESS_EXIT_SIGNAL, code & 0x7f);
  put_u64(&r, VG_ARG_SCHED_PROCESS_EXIT_PROCESS_GROUP_EXIT, live == 0);
  rec_submit(&r);
}

VG_BTF_AND_RAW(, sched_process_exit, emit_exit(p), struct task_struct *p)

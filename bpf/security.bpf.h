/* Security events (files, sockets, TCP connections, capability checks,
 * packets) built on the shared record helpers of vigil.bpf.c, which includes
 * this file after them. Ids and argument indexes (VG_ID_*, VG_ARG_*) come
 * from bpf/events.def, which the registry in events/ reads too.
 *
 * Each event derived at syscall exits has one handler taking (nr, ret), a
 * subprogram of its own: the per-syscall tracepoint programs call it, and so
 * does the raw_syscalls dispatcher (vigil.bpf.c) for the syscalls whose
 * spec names it as a consumer, where tracefs is missing. */
#ifndef VIGIL_BPF_SECURITY_BPF_H
#define VIGIL_BPF_SECURITY_BPF_H

#include <bpf/bpf_endian.h>

#include "detect_prefilter.h"

#define VG_S_IFMT 0170000
#define VG_S_IFSOCK 0140000
#define VG_AF_UNIX 1
#define VG_AF_INET 2
#define VG_AF_INET6 10
#define VG_ETH_P_IP 0x0800
#define VG_PF_KTHREAD 0x00200000
#define VG_TCP_ESTABLISHED 1
#define VG_TCP_SYN_SENT 2
#define VG_TCP_SYN_RECV 3
#define VG_TCP_CLOSE 7
#define VG_TCP_LISTEN 10

/* ------------------------------------------------------------------ helpers */

/* The current syscall's arguments, by the x86-64 or the ia32 ABI
 * (vg_syscall_args), in a frame variable named by the caller. */
#define VG_SYSCALL_ARGS(name) \
  struct vg_sys_args name##_store, *name = vg_syscall_args(&name##_store)

/* A tracepoint program at the exit of syscall `sc` calling `handler`. */
#define VG_SYSCALL_EXIT_TP(prefix, sc, handler)                  \
  SEC("tracepoint/syscalls/sys_exit_" #sc)                       \
  int vg_tp_##prefix##_##sc##_exit(struct vg_tp_sys_exit *ctx) { \
    handler(ctx->nr, ctx->ret);                                  \
    return 0;                                                    \
  }

#include "inode_ctime.h"

/* The socket behind a descriptor, or NULL when it is not one. */
static __always_inline struct socket *vg_fd_socket(struct task_struct *task, long fd) {
  struct file *file = vg_fd_file(task, fd);
  if (!file) return NULL;
  umode_t mode = BPF_CORE_READ(file, f_inode, i_mode);
  if ((mode & VG_S_IFMT) != VG_S_IFSOCK) return NULL;
  return BPF_CORE_READ(file, private_data);
}

/* A socket address rebuilt from the kernel's socket: its own (`peer` false)
 * or its peer's, as a struct sockaddr of the socket's family (the family
 * alone for other families and unbound unix sockets). Written in place into
 * the record. */
static __always_inline void put_sock_addr(struct vg_rec *r, __u8 index, struct sock *sk, bool peer) {
  long off = arg_begin(r, index, VG_KIND_SOCKADDR, 2 + VG_SOCKADDR_MAX);
  if (off < 0) return;
  __u8 *out = &r->buf[off + 2];
  __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
  __u16 len = sizeof(family);
  if (family == VG_AF_INET) {
    struct sockaddr_in sin = {.sin_family = VG_AF_INET};
    if (peer) {
      sin.sin_port = BPF_CORE_READ(sk, __sk_common.skc_dport);
      sin.sin_addr.s_addr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
    } else {
      sin.sin_port = bpf_htons(BPF_CORE_READ(sk, __sk_common.skc_num));
      sin.sin_addr.s_addr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
    }
    __builtin_memcpy(out, &sin, sizeof(sin));
    len = sizeof(sin);
  } else if (family == VG_AF_INET6) {
    struct sockaddr_in6 sin6 = {.sin6_family = VG_AF_INET6};
    if (peer) {
      sin6.sin6_port = BPF_CORE_READ(sk, __sk_common.skc_dport);
      sin6.sin6_addr = BPF_CORE_READ(sk, __sk_common.skc_v6_daddr);
    } else {
      sin6.sin6_port = bpf_htons(BPF_CORE_READ(sk, __sk_common.skc_num));
      sin6.sin6_addr = BPF_CORE_READ(sk, __sk_common.skc_v6_rcv_saddr);
    }
    __builtin_memcpy(out, &sin6, sizeof(sin6));
    len = sizeof(sin6);
  } else if (family == VG_AF_UNIX) {
    struct unix_sock *u = (struct unix_sock *)sk;
    if (peer) u = (struct unix_sock *)BPF_CORE_READ(u, peer);
    struct unix_address *addr = u ? BPF_CORE_READ(u, addr) : NULL;
    __u32 alen = addr ? BPF_CORE_READ(addr, len) : 0;
    /* name holds sun_family and the path (abstract: a leading NUL), alen bytes. */
    if (alen > sizeof(struct sockaddr_un)) alen = sizeof(struct sockaddr_un);
    if (alen > sizeof(family) && !bpf_probe_read_kernel(out, alen & (VG_SOCKADDR_MAX - 1), &addr->name))
      len = alen & (VG_SOCKADDR_MAX - 1);
    else
      __builtin_memcpy(out, &family, sizeof(family));
  } else {
    __builtin_memcpy(out, &family, sizeof(family));
  }
  __builtin_memcpy(&r->buf[off], &len, sizeof(len));
  rec_set_off(r, off + 2 + len);
}

/* Records of events with no task context (softirq, packets): the policies
 * whose scope does not depend on the task (unscoped ones) get them. */
static __always_inline __u64 contextless_policies(__u64 candidates) {
  __u32 zero = 0;
  struct vg_scope_config *cfg = bpf_map_lookup_elem(&vg_scope_cfg, &zero);
  __u64 matched = candidates & ~(cfg ? cfg->scoped : 0);
  if (!matched) my_counters()->filtered_kernel++;
  return matched;
}

/* A record whose header describes no task: pids, comm and namespaces are 0;
 * the caller fills what it knows (uid, cgroup). */
static __always_inline struct vg_rec rec_begin_contextless(__u32 event_id, __u64 policies) {
  struct vg_rec r = rec_claim();
  if (!r.buf) return r;
  struct vg_event_header *h = REC_HDR(&r);
  __builtin_memset(h, 0, sizeof(*h));
  h->ts_boot_ns = bpf_ktime_get_boot_ns();
  h->policies = policies;
  h->event_id = event_id;
  h->syscall_nr = -1;
  h->cpu = bpf_get_smp_processor_id();
  rec_set_off(&r, sizeof(struct vg_event_header));
  return r;
}

/* A record whose header is a context saved earlier (the task that started a
 * connection or listens on a port), stamped now. */
static __always_inline struct vg_rec rec_begin_saved(const struct vg_event_header *saved) {
  struct vg_rec r = rec_claim();
  if (!r.buf) return r;
  struct vg_event_header *h = REC_HDR(&r);
  __builtin_memcpy(h, saved, sizeof(*h));
  h->ts_boot_ns = bpf_ktime_get_boot_ns();
  h->cpu = bpf_get_smp_processor_id();
  h->retval = 0;
  h->args_size = 0;
  h->argc = 0;
  h->flags = 0;
  rec_set_off(&r, sizeof(struct vg_event_header));
  return r;
}

/* ------------------------------------------------------- security_file_open */

/* Open flags the kernel does not keep in file->f_flags: O_CREAT, O_EXCL,
 * O_NOCTTY, O_TRUNC (used up by the open) and O_CLOEXEC (a descriptor flag). */
#define VG_O_NOT_IN_FILE (0100 | 0200 | 0400 | 01000 | 02000000)

/* Where an open syscall's flags are: a register, openat2's struct open_how,
 * or implied (creat). */
enum vg_open_flags_src {
  VG_FLAGS_SI = 1,
  VG_FLAGS_DX = 2,
  VG_FLAGS_OPEN_HOW = 3,
  VG_FLAGS_CREAT = 4,
};

static __always_inline __u64 requested_open_flags(const struct vg_sys_args *regs, int src) {
  __u64 flags = 0;
  if (src == VG_FLAGS_SI)
    flags = regs->si;
  else if (src == VG_FLAGS_DX)
    flags = regs->dx;
  else if (src == VG_FLAGS_OPEN_HOW)
    bpf_probe_read_user(&flags, sizeof(flags), (const void *)regs->dx);
  else if (src == VG_FLAGS_CREAT)
    flags = 01 | 0100 | 01000; /* O_WRONLY|O_CREAT|O_TRUNC */
  return flags;
}

/* security_file_open's description of an opened file: its resolved path,
 * flags (the file's, plus those of `requested` the open used up), device,
 * inode and ctime. */
static __always_inline void put_opened_file(struct vg_rec *r, struct file *file, __u64 requested) {
  struct inode *inode = BPF_CORE_READ(file, f_inode);
  __u64 flags = BPF_CORE_READ(file, f_flags) | (requested & VG_O_NOT_IN_FILE);
  put_path(r, VG_ARG_SECURITY_FILE_OPEN_PATHNAME, &file->f_path);
  put_u64(r, VG_ARG_SECURITY_FILE_OPEN_FLAGS, flags);
  put_u64(r, VG_ARG_SECURITY_FILE_OPEN_DEV, BPF_CORE_READ(inode, i_sb, s_dev));
  put_u64(r, VG_ARG_SECURITY_FILE_OPEN_INODE, BPF_CORE_READ(inode, i_ino));
  put_u64(r, VG_ARG_SECURITY_FILE_OPEN_CTIME, vg_inode_ctime(inode));
}

/* The prefilter of detection inputs (bpf/detect_prefilter.h): when only
 * detections want security_file_open, an open no enabled rule can match is
 * dropped before its path or record is built, and counted as filtered. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct vg_detect_open_cfg);
} vg_detect_cfg SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, struct vg_detect_name_key);
  __type(value, struct vg_detect_need);
} vg_detect_names SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 256);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct vg_detect_prefix_key);
  __type(value, struct vg_detect_need);
} vg_detect_prefixes SEC(".maps");

/* The prefix key being built; names are copied with a bounded length at a
 * masked offset, which may run into `spill`. The walk's state (the topmost
 * dentries seen, their count) lives here too, read with volatile loads, so
 * that the verifier's states converge across iterations. */
struct vg_detect_prefix_buf {
  struct vg_detect_prefix_key key;
  char spill[VG_DETECT_PREFIX_MAX * 2];
  __u64 top[VG_DETECT_PREFIX_COMPS]; /* top[0]: the component right below the root */
  __u32 n;                           /* components rendered */
  __u32 pad;
};
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct vg_detect_prefix_buf);
} vg_detect_prefix_scratch SEC(".maps");

/* The name being checked, read once (names up to VG_DETECT_NAME_MAX). */
struct vg_detect_name_buf {
  char name[VG_DETECT_PREFIX_MAX];
};
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct vg_detect_name_buf);
} vg_detect_name_scratch SEC(".maps");

static __always_inline bool detect_need_holds(const struct vg_detect_need *n, __u64 flags) {
  return n && (n->modes & (1u << (flags & 3))) && (flags & n->flags) == n->flags;
}

/* Is the name `len` bytes at `src` (kernel memory) in vg_detect_names as
 * `kind`, with a need the open meets? */
static __always_inline bool detect_name_holds(__u8 kind, __u32 len, const char *src, __u64 flags) {
  struct vg_detect_name_key key;
  __builtin_memset(&key, 0, sizeof(key));
  /* 64-bit, with barriers: the verifier must see the bound on the register
   * passed to the helper (as in rec_submit). */
  __u64 n = len;
  asm volatile("" : "+r"(n));
  if (n == 0 || n > VG_DETECT_NAME_MAX) return false;
  asm volatile("" : "+r"(n));
  key.kind = kind;
  key.len = n;
  if (bpf_probe_read_kernel(key.name, n, src)) return true; /* unreadable: keep it */
  return detect_need_holds(bpf_map_lookup_elem(&vg_detect_names, &key), flags);
}

static __always_inline bool detect_bloom(const struct vg_detect_open_cfg *cfg, __u32 kind, __u32 len, __u8 first,
                                         __u8 last) {
  __u32 bit = vg_detect_bloom_bit(kind, len, first, last);
  return (cfg->bloom[(bit >> 6) & (VG_DETECT_BLOOM_WORDS - 1)] >> (bit & 63)) & 1;
}

/* The dentry put_path renders for `d` in `mnt` (whose root dentry is
 * `root`; all three follow a crossing): a mount's root is named after its
 * mount point. False when it cannot tell within a few mounts. */
static __always_inline bool detect_rendered(struct dentry **d, struct mount **mnt, struct dentry **root) {
#pragma unroll
  for (int i = 0; i < 4; i++) {
    if (*d != *root) return true;
    struct mount *up = BPF_CORE_READ(*mnt, mnt_parent);
    if (up == *mnt) return false; /* the root of the tree: no name */
    *d = BPF_CORE_READ(*mnt, mnt_mountpoint);
    *mnt = up;
    *root = BPF_CORE_READ(up, mnt.mnt_root);
  }
  return false;
}

/* An offset or length below VG_DETECT_PREFIX_MAX, as the verifier sees it
 * (the barriers keep clang from dropping a mask it proves redundant). */
static __always_inline __u64 detect_mask(__u64 v) {
  asm volatile("" : "+r"(v));
  v &= (VG_DETECT_PREFIX_MAX - 1);
  asm volatile("" : "+r"(v));
  return v;
}

#define VG_DETECT_N(b) (*(volatile __u32 *)&(b)->n)
#define VG_DETECT_TOP(b, i) (*(volatile __u64 *)&(b)->top[i])

/* The key of the walk's top components ("/a/b/c/d", "/" when more follow),
 * looked up in vg_detect_prefixes. */
static __noinline bool detect_prefix_lookup(struct vg_detect_prefix_buf *b, __u64 flags) {
  if (!b) return true;
  __u32 n = VG_DETECT_N(b);
  __u32 pos = 0;
#pragma unroll
  for (int j = 0; j < VG_DETECT_PREFIX_COMPS; j++) {
    if ((__u32)j >= n || pos >= VG_DETECT_PREFIX_MAX - 1) break;
    struct dentry *d = (struct dentry *)VG_DETECT_TOP(b, j);
    struct qstr q = BPF_CORE_READ(d, d_name);
    b->key.path[detect_mask(pos)] = '/';
    pos++;
    __u64 len = q.len;
    if (len > VG_DETECT_PREFIX_MAX - pos) len = VG_DETECT_PREFIX_MAX - pos;
    if (bpf_probe_read_kernel(&b->key.path[detect_mask(pos)], detect_mask(len), q.name)) return true;
    pos += len;
  }
  if (n > VG_DETECT_PREFIX_COMPS && pos < VG_DETECT_PREFIX_MAX) b->key.path[detect_mask(pos++)] = '/';
  if (n == 0) b->key.path[detect_mask(pos++)] = '/';
  if (pos > VG_DETECT_PREFIX_MAX) pos = VG_DETECT_PREFIX_MAX;
  b->key.prefixlen = pos * 8;
  return detect_need_holds(bpf_map_lookup_elem(&vg_detect_prefixes, &b->key), flags);
}

/* Path prefixes: the first VG_DETECT_PREFIX_COMPS components of the path
 * put_path would build, found by walking the parents without copying names
 * (as put_path walks them, crossing mounts), then looked up. Anything
 * put_path would render otherwise (deep paths it cuts, files in no tree)
 * passes. */
static __noinline bool detect_prefix_passes(struct file *file, __u64 flags) {
  __u32 zero = 0;
  struct vg_detect_prefix_buf *b = bpf_map_lookup_elem(&vg_detect_prefix_scratch, &zero);
  if (!b) return true;
  struct dentry *dentry = BPF_CORE_READ(file, f_path.dentry);
  struct mount *mnt = container_of(BPF_CORE_READ(file, f_path.mnt), struct mount, mnt);
  VG_DETECT_N(b) = 0;
  struct dentry *mnt_root = BPF_CORE_READ(mnt, mnt.mnt_root);
  for (int i = 0; i < VG_PATH_DEPTH; i++) {
    if (dentry == mnt_root) {
      struct mount *up = BPF_CORE_READ(mnt, mnt_parent);
      if (mnt == up) return detect_prefix_lookup(b, flags); /* the root of the tree */
      dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
      mnt = up;
      mnt_root = BPF_CORE_READ(mnt, mnt.mnt_root);
      continue;
    }
    struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
    if (dentry == parent) return true;
    __u32 n = VG_DETECT_N(b) + 1;
    if (n > 15) return true; /* put_path may cut the leading components */
    VG_DETECT_N(b) = n;
    VG_DETECT_TOP(b, 3) = VG_DETECT_TOP(b, 2);
    VG_DETECT_TOP(b, 2) = VG_DETECT_TOP(b, 1);
    VG_DETECT_TOP(b, 1) = VG_DETECT_TOP(b, 0);
    VG_DETECT_TOP(b, 0) = (__u64)dentry;
    dentry = parent;
  }
  return true;
}

/* The prefilter's verdict on an open with `flags` (the event's flags). */
static __noinline bool detect_open_passes(struct file *file, __u64 flags) {
  __u32 zero = 0;
  struct vg_detect_open_cfg *cfg = bpf_map_lookup_elem(&vg_detect_cfg, &zero);
  if (!cfg) return true;
  if (detect_need_holds(&cfg->any, flags)) return true;
  struct path fpath = BPF_CORE_READ(file, f_path);
  struct dentry *dentry = fpath.dentry;
  struct mount *mnt = container_of(fpath.mnt, struct mount, mnt);
  struct dentry *root = BPF_CORE_READ(fpath.mnt, mnt_root);
  struct dentry *const file_root = root;
  if (!detect_rendered(&dentry, &mnt, &root)) return true;
  struct vg_dentry_link pn; /* (vigil.bpf.c) */
  vg_read_dentry_link(dentry, &pn);
  struct dentry *parent = pn.parent;
  if (parent == dentry) return true; /* a file in no tree */
  struct qstr q = pn.name;
  __u32 len = q.len;
  struct vg_detect_name_buf *buf = bpf_map_lookup_elem(&vg_detect_name_scratch, &zero);
  if (!buf) return true;
  char *nm = buf->name;
  /* Short names are read once; the bloom bits then spare most lookups. */
  bool short_name = len > 0 && len <= VG_DETECT_NAME_MAX;
  if (short_name) {
    __u64 n = len;
    asm volatile("" : "+r"(n));
    if (n > VG_DETECT_NAME_MAX) return true;
    asm volatile("" : "+r"(n));
    if (bpf_probe_read_kernel(nm, n, q.name)) return true;
  }
#define VG_NM(i) ((__u8)nm[(i) & (VG_DETECT_PREFIX_MAX - 1)])
  if (short_name && detect_need_holds(&cfg->basename_any, flags) &&
      detect_bloom(cfg, VG_DETECT_BASENAME, len, VG_NM(0), VG_NM(len - 1)) &&
      detect_name_holds(VG_DETECT_BASENAME, len, nm, flags))
    return true;
  const char *src = short_name ? nm : (const char *)q.name;
#pragma unroll
  for (int i = 0; i < VG_DETECT_AFFIX_LENS; i++) {
    __u32 l = cfg->prefix_lens[i];
    if (!l) break;
    if (l <= len && detect_need_holds(&cfg->prefix_len_any[i], flags) &&
        (!short_name || detect_bloom(cfg, VG_DETECT_BASENAME_PREFIX, l, VG_NM(0), VG_NM(l - 1))) &&
        detect_name_holds(VG_DETECT_BASENAME_PREFIX, l, src, flags))
      return true;
  }
#pragma unroll
  for (int i = 0; i < VG_DETECT_AFFIX_LENS; i++) {
    __u32 l = cfg->suffix_lens[i];
    if (!l) break;
    if (l <= len && detect_need_holds(&cfg->suffix_len_any[i], flags) &&
        (!short_name || detect_bloom(cfg, VG_DETECT_BASENAME_SUFFIX, l, VG_NM(len - l), VG_NM(len - 1))) &&
        detect_name_holds(VG_DETECT_BASENAME_SUFFIX, l, src + (len - l), flags))
      return true;
  }
  if (detect_need_holds(&cfg->parent_any, flags)) {
    if (!detect_rendered(&parent, &mnt, &root)) return true;
    struct qstr pq = BPF_CORE_READ(parent, d_name); /* parent changed when it is a mount's root */
    __u64 plen = pq.len;
    asm volatile("" : "+r"(plen));
    if (plen > 0 && plen <= VG_DETECT_NAME_MAX) {
      asm volatile("" : "+r"(plen));
      if (bpf_probe_read_kernel(nm, plen, pq.name)) return true;
      if (detect_bloom(cfg, VG_DETECT_PARENT, plen, VG_NM(0), VG_NM(plen - 1)) &&
          detect_name_holds(VG_DETECT_PARENT, plen, nm, flags))
        return true;
    }
  }
#undef VG_NM
  /* (The prefixes' directories are watched: path_watch.h.) */
  if (detect_need_holds(&cfg->prefix_any, flags))
    return vg_walk_maybe_watched((__u64)fpath.dentry, (__u64)container_of(fpath.mnt, struct mount, mnt),
                                 (__u64)file_root) &&
           detect_prefix_passes(file, flags);
  return false;
}

/* Derived at the exit of the open syscalls (no LSM/fentry on every kernel):
 * the file the new descriptor refers to, so the path is the resolved one
 * whatever dirfd, symlinks or O_PATH the caller used. */
__noinline int emit_file_open(__s32 nr, long ret) {
  if (ret < 0) return 0;
  __u64 policies = event_policies(VG_ID_SECURITY_FILE_OPEN);
  if (!policies) return 0;
  struct file *file = vg_current_fd_file(ret);
  if (!file) return 0;
  /* The register holding the syscall's own pathname (0: di, 1: si, -1: none)
   * and where its flags are. */
  int path_arg = 1, flags_src = VG_FLAGS_DX; /* openat */
  if (nr == VG_NR_open) {
    path_arg = 0;
    flags_src = VG_FLAGS_SI;
  } else if (nr == VG_NR_openat2) {
    flags_src = VG_FLAGS_OPEN_HOW;
  } else if (nr == VG_NR_creat) {
    path_arg = 0;
    flags_src = VG_FLAGS_CREAT;
  } else if (nr == VG_NR_open_by_handle_at) {
    path_arg = -1;
  }
  VG_SYSCALL_ARGS(regs); /* either ABI's arguments, as x86-64 registers */
  __u64 flags = BPF_CORE_READ(file, f_flags) | (requested_open_flags(regs, flags_src) & VG_O_NOT_IN_FILE);
  __u32 zero = 0;
  struct vg_detect_open_cfg *dcfg = bpf_map_lookup_elem(&vg_detect_cfg, &zero);
  if (dcfg && dcfg->detect_only && !(policies & ~dcfg->detect_only) && !detect_open_passes(file, flags)) {
    my_counters()->filtered_kernel++;
    return 0;
  }
  struct vg_rec r = rec_begin(VG_ID_SECURITY_FILE_OPEN, nr, policies);
  if (!r.buf) return 0;
  put_opened_file(&r, file, flags);
  if (path_arg >= 0) {
    const char *upath = (const char *)(path_arg == 0 ? regs->di : regs->si);
    put_str(&r, VG_ARG_SECURITY_FILE_OPEN_SYSCALL_PATHNAME, upath, VG_MAX_STR, true);
  }
  put_u64(&r, VG_ARG_SECURITY_FILE_OPEN_SYSCALL, nr);
  rec_submit(&r);
  return 0;
}

VG_SYSCALL_EXIT_TP(sec, open, emit_file_open)
VG_SYSCALL_EXIT_TP(sec, openat, emit_file_open)
VG_SYSCALL_EXIT_TP(sec, openat2, emit_file_open)
VG_SYSCALL_EXIT_TP(sec, creat, emit_file_open)
VG_SYSCALL_EXIT_TP(sec, open_by_handle_at, emit_file_open)

/* ------------------------------------ security_inode_unlink / _rename */

/* A syscall's path name as a full path: an absolute name as the caller gave
 * it; a relative one appended to the path of the directory it is resolved
 * against (dirfd's file, or the cwd for AT_FDCWD), built from the kernel's
 * dentries. The caller's part is kept as given ("." and ".." are not
 * collapsed, symlinks in it not followed). */
static __always_inline void put_at_path_mem(struct vg_rec *r, __u8 index, long dirfd, const char *upath,
                                            bool user) {
  char first = 0;
  if (user)
    bpf_probe_read_user(&first, sizeof(first), upath);
  else
    bpf_probe_read_kernel(&first, sizeof(first), upath);
  const struct path *dir = first != '/' ? vg_dirfd_path(dirfd) : NULL;
  if (!dir) {
    put_str(r, index, upath, VG_MAX_STR, user);
    return;
  }
  __u32 start = rec_off(r);
  put_path(r, index, dir);
  __u32 end = rec_off(r);
  if (end < start + 5) return; /* the directory's path did not fit */
  if (end > VG_MAX_RECORD - 2 - VG_MAX_STR) {
    REC_HDR(r)->flags |= VG_HDR_TRUNCATED;
    return;
  }
  __u32 len_off = (start + 2) & (VG_SCRATCH_HALF - 1);
  __u16 len = 0;
  __builtin_memcpy(&len, &r->buf[len_off], sizeof(len));
  __u32 pos = end & (VG_SCRATCH_HALF - 1);
  /* The root ("/") needs no separator. */
  if (len != 1 || r->buf[len_off + 2] != '/') {
    r->buf[pos] = '/';
    pos = (pos + 1) & (VG_SCRATCH_HALF - 1);
    len++;
  }
  long n = user ? bpf_probe_read_user_str(&r->buf[pos], VG_MAX_STR, upath)
                : bpf_probe_read_kernel_str(&r->buf[pos], VG_MAX_STR, upath);
  if (n >= VG_MAX_STR || n < 0) REC_HDR(r)->flags |= VG_HDR_TRUNCATED;
  if (n > 1) {
    len += n - 1;
    pos += n - 1;
  }
  __builtin_memcpy(&r->buf[len_off], &len, sizeof(len));
  rec_set_off(r, pos);
}

/* The same for a name in user memory (a syscall's argument). */
static __always_inline void put_at_path(struct vg_rec *r, __u8 index, long dirfd, const char *upath) {
  put_at_path_mem(r, index, dirfd, upath, true);
}

/* Derived at the exit of unlink, unlinkat and rmdir when they succeeded.
 * The removed inode is gone by then, so inode, dev and ctime are 0 (the
 * LSM hook, refused on this kernel, would have them). */
__noinline int emit_inode_unlink(__s32 nr, long ret) {
  if (ret != 0) return 0;
  __u64 policies = event_policies(VG_ID_SECURITY_INODE_UNLINK);
  if (!policies) return 0;
  VG_SYSCALL_ARGS(regs);
  long dirfd = VG_AT_FDCWD;
  const char *upath = (const char *)regs->di;
  if (nr == VG_NR_unlinkat) {
    dirfd = (int)regs->di;
    upath = (const char *)regs->si;
  }
  struct vg_rec r = rec_begin(VG_ID_SECURITY_INODE_UNLINK, nr, policies);
  if (!r.buf) return 0;
  put_at_path(&r, VG_ARG_SECURITY_INODE_UNLINK_PATHNAME, dirfd, upath);
  put_u64(&r, VG_ARG_SECURITY_INODE_UNLINK_INODE, 0);
  put_u64(&r, VG_ARG_SECURITY_INODE_UNLINK_DEV, 0);
  put_u64(&r, VG_ARG_SECURITY_INODE_UNLINK_CTIME, 0);
  put_u64(&r, VG_ARG_SECURITY_INODE_UNLINK_SYSCALL, nr);
  rec_submit(&r);
  return 0;
}

/* Derived at the exit of rename, renameat and renameat2 when they succeeded. */
__noinline int emit_inode_rename(__s32 nr, long ret) {
  if (ret != 0) return 0;
  __u64 policies = event_policies(VG_ID_SECURITY_INODE_RENAME);
  if (!policies) return 0;
  VG_SYSCALL_ARGS(regs);
  long olddirfd = VG_AT_FDCWD, newdirfd = VG_AT_FDCWD;
  const char *oldpath = (const char *)regs->di, *newpath = (const char *)regs->si;
  if (nr != VG_NR_rename) { /* renameat, renameat2 */
    olddirfd = (int)regs->di;
    oldpath = (const char *)regs->si;
    newdirfd = (int)regs->dx;
    newpath = (const char *)regs->r10;
  }
  struct vg_rec r = rec_begin(VG_ID_SECURITY_INODE_RENAME, nr, policies);
  if (!r.buf) return 0;
  put_at_path(&r, VG_ARG_SECURITY_INODE_RENAME_OLD_PATH, olddirfd, oldpath);
  __u32 new_off = rec_off(&r);
  put_at_path(&r, VG_ARG_SECURITY_INODE_RENAME_NEW_PATH, newdirfd, newpath);
  /* Pathname filters on new_path (a file replaced by rename: sed -i, vipw). */
  policies = vg_filter_rec_path(&r, new_off, VG_ID_SECURITY_INODE_RENAME, policies);
  if (!policies) {
    my_counters()->filtered_kernel++;
    rec_abandon(&r); /* frees the scratch slot the record claimed */
    return 0;
  }
  REC_HDR(&r)->policies = policies;
  put_u64(&r, VG_ARG_SECURITY_INODE_RENAME_SYSCALL, nr);
  rec_submit(&r);
  return 0;
}

VG_SYSCALL_EXIT_TP(sec, unlink, emit_inode_unlink)
VG_SYSCALL_EXIT_TP(sec, unlinkat, emit_inode_unlink)
VG_SYSCALL_EXIT_TP(sec, rmdir, emit_inode_unlink)
VG_SYSCALL_EXIT_TP(sec, rename, emit_inode_rename)
VG_SYSCALL_EXIT_TP(sec, renameat, emit_inode_rename)
VG_SYSCALL_EXIT_TP(sec, renameat2, emit_inode_rename)

/* ---------------------------------------------------- security_socket_* */

/* Socket syscalls at exit: the descriptor is the caller's first argument
 * (accept: the result is the new connection's). Only real sockets are
 * reported, as the LSM hooks would see them. */
static __always_inline void emit_socket_event(__u32 id, __s32 nr, long ret) {
  bool accept = id == VG_ID_SECURITY_SOCKET_ACCEPT;
  if (accept && ret < 0) return;
  __u64 policies = event_policies(id);
  if (!policies) return;
  struct task_struct *task = bpf_get_current_task_btf();
  VG_SYSCALL_ARGS(regs);
  long fd = (int)regs->di;
  struct socket *sock = vg_fd_socket(task, accept ? ret : fd);
  if (!sock) return;
  struct sock *sk = BPF_CORE_READ(sock, sk);
  if (!sk) return;
  struct vg_rec r = rec_begin(id, nr, policies);
  if (!r.buf) return;
  REC_HDR(&r)->retval = ret;
  __u64 type = BPF_CORE_READ(sock, type);
  __u64 len = (int)regs->dx; /* connect, bind: the address as the caller gave it */
  if (len > VG_SOCKADDR_MAX) len = VG_SOCKADDR_MAX;
  switch (id) {
    case VG_ID_SECURITY_SOCKET_CONNECT:
      put_u64(&r, VG_ARG_SECURITY_SOCKET_CONNECT_SOCKFD, fd);
      put_u64(&r, VG_ARG_SECURITY_SOCKET_CONNECT_TYPE, type);
      put_bytes(&r, VG_ARG_SECURITY_SOCKET_CONNECT_REMOTE_ADDR, VG_KIND_SOCKADDR, (const void *)regs->si, len,
                true);
      break;
    case VG_ID_SECURITY_SOCKET_BIND:
      put_u64(&r, VG_ARG_SECURITY_SOCKET_BIND_SOCKFD, fd);
      put_bytes(&r, VG_ARG_SECURITY_SOCKET_BIND_LOCAL_ADDR, VG_KIND_SOCKADDR, (const void *)regs->si, len, true);
      put_u64(&r, VG_ARG_SECURITY_SOCKET_BIND_TYPE, type);
      break;
    case VG_ID_SECURITY_SOCKET_LISTEN:
      put_u64(&r, VG_ARG_SECURITY_SOCKET_LISTEN_SOCKFD, fd);
      put_sock_addr(&r, VG_ARG_SECURITY_SOCKET_LISTEN_LOCAL_ADDR, sk, false);
      put_u64(&r, VG_ARG_SECURITY_SOCKET_LISTEN_BACKLOG, (int)regs->si);
      put_u64(&r, VG_ARG_SECURITY_SOCKET_LISTEN_TYPE, type);
      break;
    case VG_ID_SECURITY_SOCKET_ACCEPT:
      put_u64(&r, VG_ARG_SECURITY_SOCKET_ACCEPT_SOCKFD, fd);
      put_sock_addr(&r, VG_ARG_SECURITY_SOCKET_ACCEPT_LOCAL_ADDR, sk, false);
      put_sock_addr(&r, VG_ARG_SECURITY_SOCKET_ACCEPT_REMOTE_ADDR, sk, true);
      put_u64(&r, VG_ARG_SECURITY_SOCKET_ACCEPT_TYPE, type);
      break;
  }
  rec_submit(&r);
}

/* One handler per socket event, so that an unselected one is pruned whole. */
#define VG_SOCKET_HANDLER(name, id)                  \
  __noinline int emit_##name(__s32 nr, long ret) { \
    emit_socket_event(id, nr, ret);                   \
    return 0;                                         \
  }
VG_SOCKET_HANDLER(socket_connect, VG_ID_SECURITY_SOCKET_CONNECT)
VG_SOCKET_HANDLER(socket_bind, VG_ID_SECURITY_SOCKET_BIND)
VG_SOCKET_HANDLER(socket_listen, VG_ID_SECURITY_SOCKET_LISTEN)
VG_SOCKET_HANDLER(socket_accept, VG_ID_SECURITY_SOCKET_ACCEPT)

VG_SYSCALL_EXIT_TP(sec, connect, emit_socket_connect)
VG_SYSCALL_EXIT_TP(sec, bind, emit_socket_bind)
VG_SYSCALL_EXIT_TP(sec, listen, emit_socket_listen)
VG_SYSCALL_EXIT_TP(sec, accept, emit_socket_accept)
VG_SYSCALL_EXIT_TP(sec, accept4, emit_socket_accept)

/* ---------------------------------------------------------------- cap_capable */

/* Runs on every capability check of the host: a header and two integers. */
static __always_inline void emit_cap_capable(int cap, int ret) {
  __u64 policies = event_policies(VG_ID_CAP_CAPABLE);
  if (!policies) return;
  struct task_struct *task = bpf_get_current_task_btf();
  /* The syscall being served, when the check comes from one. */
  __s32 nr = -1;
  if (!(task->flags & VG_PF_KTHREAD)) nr = ((struct pt_regs *)bpf_task_pt_regs(task))->orig_ax;
  /* An ia32 syscall is named by its x86-64 twin (-1: none). */
  if (nr >= 0 && vg_task_in_ia32_syscall(task)) nr = (__u32)nr < VG_IA32_NR_COUNT ? vg_ia32_to_x64[nr] : -1;
  struct vg_rec r = rec_begin(VG_ID_CAP_CAPABLE, nr, policies);
  if (!r.buf) return;
  REC_HDR(&r)->retval = ret;
  put_u64(&r, VG_ARG_CAP_CAPABLE_CAP, cap);
  put_u64(&r, VG_ARG_CAP_CAPABLE_RESULT, (__s64)ret);
  put_u64(&r, VG_ARG_CAP_CAPABLE_SYSCALL, (__s64)nr);
  rec_submit(&r);
}

VG_BTF_AND_RAW(sec_, cap_capable, (emit_cap_capable(cap, ret)), const struct cred *cred,
               struct user_namespace *target_ns, const struct user_namespace *ns, int cap, int ret)

/* ---------------------------------- capabilities_changed / privilege_gained */

/* A capability set as a u64 (kernel_cap_t is one u64 since 6.3, two u32
 * before: the same bytes on little-endian x86-64). */
static __always_inline __u64 vg_cap_set(const kernel_cap_t *set) {
  __u64 v = 0;
  bpf_probe_read_kernel(&v, sizeof(v), set);
  return v;
}

/* capset succeeded: the task's sets as they now are. */
__noinline int emit_capabilities_changed(__s32 nr, long ret) {
  if (ret != 0) return 0;
  __u64 policies = event_policies(VG_ID_CAPABILITIES_CHANGED);
  if (!policies) return 0;
  struct task_struct *task = bpf_get_current_task_btf();
  const struct cred *cred = BPF_CORE_READ(task, real_cred);
  struct vg_rec r = rec_begin(VG_ID_CAPABILITIES_CHANGED, nr, policies);
  if (!r.buf) return 0;
  put_u64(&r, VG_ARG_CAPABILITIES_CHANGED_EFFECTIVE, vg_cap_set(&cred->cap_effective));
  put_u64(&r, VG_ARG_CAPABILITIES_CHANGED_PERMITTED, vg_cap_set(&cred->cap_permitted));
  put_u64(&r, VG_ARG_CAPABILITIES_CHANGED_INHERITABLE, vg_cap_set(&cred->cap_inheritable));
  rec_submit(&r);
  return 0;
}

VG_SYSCALL_EXIT_TP(sec, capset, emit_capabilities_changed)

/* The credentials a thread had when it entered a syscall that may raise
 * them, compared at its exit with those it has then. */
struct vg_cred_snap {
  __u32 uid, euid, fsuid, pad;
  __u64 cap_effective;
};

/* LRU: an entry is short-lived (entry to exit), and one a thread left
 * behind must not fill the table for the others. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 16384);
  __type(key, __u32); /* host tid */
  __type(value, struct vg_cred_snap);
} cred_at_entry SEC(".maps");

static __always_inline struct vg_cred_snap cred_snap(void) {
  struct task_struct *task = bpf_get_current_task_btf();
  const struct cred *cred = BPF_CORE_READ(task, real_cred);
  struct vg_cred_snap s = {};
  s.uid = BPF_CORE_READ(cred, uid.val);
  s.euid = BPF_CORE_READ(cred, euid.val);
  s.fsuid = BPF_CORE_READ(cred, fsuid.val);
  s.cap_effective = vg_cap_set(&cred->cap_effective);
  return s;
}

static __noinline int stash_cred(void) {
  if (!EVENT_SELECTED(VG_ID_PRIVILEGE_GAINED) || is_sensor()) return 0;
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  struct vg_cred_snap s = cred_snap();
  update_counted(&cred_at_entry, &tid, &s, BPF_ANY);
  return 0;
}

/* An exec by a non-leader thread gives it the leader's tid: its credentials
 * at the entry move to the tid the exit will look up (sched_process_exec). */
static __always_inline void rekey_cred_at_exec(__u32 old_tid, struct task_struct *p) {
  if (!EVENT_SELECTED(VG_ID_PRIVILEGE_GAINED)) return;
  __u32 tid = BPF_CORE_READ(p, pid);
  if (tid == old_tid) return;
  struct vg_cred_snap *s = bpf_map_lookup_elem(&cred_at_entry, &old_tid);
  if (!s) return;
  struct vg_cred_snap copy = *s;
  bpf_map_delete_elem(&cred_at_entry, &old_tid);
  update_counted(&cred_at_entry, &tid, &copy, BPF_ANY);
}

/* A thread that dies inside a syscall never reaches its exit. */
static __always_inline void forget_cred_at_entry(__u32 tid) {
  if (EVENT_SELECTED(VG_ID_PRIVILEGE_GAINED)) bpf_map_delete_elem(&cred_at_entry, &tid);
}

/* At the exit: the thread gained euid 0 or fsuid 0 (from non-0), or
 * effective capabilities it did not have at the entry. (An exec by a
 * non-leader thread changes its tid: rekey_cred_at_exec moved its entry.) */
__noinline int emit_privilege_gained(__s32 nr, long ret) {
  if (!EVENT_SELECTED(VG_ID_PRIVILEGE_GAINED)) return 0;
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  struct vg_cred_snap *old = bpf_map_lookup_elem(&cred_at_entry, &tid);
  if (!old) return 0;
  struct vg_cred_snap before = *old;
  bpf_map_delete_elem(&cred_at_entry, &tid);
  if (ret != 0 && nr != VG_NR_setfsuid) return 0; /* setfsuid returns the previous fsuid */
  struct vg_cred_snap now = cred_snap();
  __u64 gained = now.cap_effective & ~before.cap_effective;
  bool root = (before.euid != 0 && now.euid == 0) || (before.fsuid != 0 && now.fsuid == 0);
  if (!gained && !root) return 0;
  /* (The task was not the sensor's at the entry.) */
  __u64 policies = matched_policies(vg_event_policies[VG_ID_PRIVILEGE_GAINED]);
  if (!policies) return 0;
  struct vg_rec r = rec_begin(VG_ID_PRIVILEGE_GAINED, nr, policies);
  if (!r.buf) return 0;
  put_u64(&r, VG_ARG_PRIVILEGE_GAINED_SYSCALL, nr);
  put_u64(&r, VG_ARG_PRIVILEGE_GAINED_OLD_UID, before.uid);
  put_u64(&r, VG_ARG_PRIVILEGE_GAINED_NEW_UID, now.uid);
  put_u64(&r, VG_ARG_PRIVILEGE_GAINED_OLD_EUID, before.euid);
  put_u64(&r, VG_ARG_PRIVILEGE_GAINED_NEW_EUID, now.euid);
  put_u64(&r, VG_ARG_PRIVILEGE_GAINED_OLD_FSUID, before.fsuid);
  put_u64(&r, VG_ARG_PRIVILEGE_GAINED_NEW_FSUID, now.fsuid);
  put_u64(&r, VG_ARG_PRIVILEGE_GAINED_GAINED_CAPS, gained);
  put_u64(&r, VG_ARG_PRIVILEGE_GAINED_CAP_EFFECTIVE, now.cap_effective);
  rec_submit(&r);
  return 0;
}

#define VG_PRIV_SYSCALL(name)                                      \
  SEC("tracepoint/syscalls/sys_enter_" #name)                      \
  int vg_tp_priv_##name##_enter(void *ctx) {                       \
    stash_cred();                                                  \
    return 0;                                                      \
  }                                                                \
  VG_SYSCALL_EXIT_TP(priv, name, emit_privilege_gained)
VG_PRIV_SYSCALL(setuid)
VG_PRIV_SYSCALL(setreuid)
VG_PRIV_SYSCALL(setresuid)
VG_PRIV_SYSCALL(setfsuid)
VG_PRIV_SYSCALL(capset)
VG_PRIV_SYSCALL(execve)
VG_PRIV_SYSCALL(execveat)

/* ----------------------------------------------------------- mem_prot_alert */

#define VG_PROT_WRITE 0x2
#define VG_PROT_EXEC 0x4
#define VG_MAP_ANONYMOUS 0x20

/* Derived at the exits of mmap, mprotect and pkey_mprotect (the syscall's
 * arguments from the task's saved registers): memory made executable by
 * mprotect, or mapped executable by mmap when anonymous or also writable.
 * File-backed read+exec mappings (every library) are dropped first, before
 * any policy lookup. */
__noinline int emit_mem_prot_alert(__s32 nr, long ret) {
  if (!EVENT_SELECTED(VG_ID_MEM_PROT_ALERT)) return 0;
  VG_SYSCALL_ARGS(regs);
  __u64 prot = regs->dx;
  if (!(prot & VG_PROT_EXEC)) return 0;
  __u64 flags = 0;
  long fd = -1;
  __u64 addr = regs->di;
  int alert; /* 0: mprotect, 1: mmap anonymous, 2: mmap writable */
  if (nr == VG_NR_mmap) {
    if (ret < 0 && ret > -4096) return 0;
    flags = regs->r10;
    fd = (int)regs->r8;
    if (prot & VG_PROT_WRITE) alert = 2;
    else if (flags & VG_MAP_ANONYMOUS) alert = 1;
    else return 0;
    addr = ret;
  } else {
    if (ret != 0) return 0;
    alert = 0;
  }
  __u64 policies = event_policies(VG_ID_MEM_PROT_ALERT);
  if (!policies) return 0;
  struct vg_rec r = rec_begin(VG_ID_MEM_PROT_ALERT, nr, policies);
  if (!r.buf) return 0;
  static const char a_mprotect[] = "mprotect: made executable";
  static const char a_anon[] = "mmap: anonymous executable";
  static const char a_wx[] = "mmap: writable and executable";
  const __u8 i = VG_ARG_MEM_PROT_ALERT_ALERT;
  if (alert == 0) put_bytes(&r, i, VG_KIND_STR, a_mprotect, sizeof(a_mprotect) - 1, false);
  else if (alert == 1) put_bytes(&r, i, VG_KIND_STR, a_anon, sizeof(a_anon) - 1, false);
  else put_bytes(&r, i, VG_KIND_STR, a_wx, sizeof(a_wx) - 1, false);
  put_u64(&r, VG_ARG_MEM_PROT_ALERT_ADDRESS, addr);
  put_u64(&r, VG_ARG_MEM_PROT_ALERT_LENGTH, regs->si);
  put_u64(&r, VG_ARG_MEM_PROT_ALERT_PROT, prot);
  if (nr == VG_NR_mmap) {
    put_u64(&r, VG_ARG_MEM_PROT_ALERT_FLAGS, flags);
    put_u64(&r, VG_ARG_MEM_PROT_ALERT_FD, fd);
  }
  put_u64(&r, VG_ARG_MEM_PROT_ALERT_SYSCALL, nr);
  rec_submit(&r);
  return 0;
}

VG_SYSCALL_EXIT_TP(sec, mmap, emit_mem_prot_alert)
VG_SYSCALL_EXIT_TP(sec, mprotect, emit_mem_prot_alert)
VG_SYSCALL_EXIT_TP(sec, pkey_mprotect, emit_mem_prot_alert)

/* -------------------------------------------------------------- magic_write */

#define VG_S_IFREG 0100000
#define VG_FMODE_WRITE 0x2
#define VG_MAGIC_BYTES 20

/* The first bytes written to a regular file: write or pwrite64 succeeded at
 * offset 0. Cheap reads decide first (the fd's file, its mode and
 * position); the record (path walk, user read) is built only for those. */
__noinline int emit_magic_write(__s32 nr, long ret) {
  if (!EVENT_SELECTED(VG_ID_MAGIC_WRITE) || ret <= 0) return 0;
  struct task_struct *task = bpf_get_current_task_btf();
  VG_SYSCALL_ARGS(regs);
  struct file *file = vg_fd_file(task, (int)regs->di);
  if (!file) return 0;
  if (!(BPF_CORE_READ(file, f_mode) & VG_FMODE_WRITE)) return 0;
  struct inode *inode = BPF_CORE_READ(file, f_inode);
  if ((BPF_CORE_READ(inode, i_mode) & VG_S_IFMT) != VG_S_IFREG) return 0;
  /* write advanced f_pos by ret; pwrite64 wrote at its offset argument. */
  __s64 pos = nr == VG_NR_pwrite64 ? (__s64)regs->r10 : BPF_CORE_READ(file, f_pos) - ret;
  if (pos != 0) return 0;
  __u64 policies = event_policies(VG_ID_MAGIC_WRITE);
  if (!policies) return 0;
  struct vg_rec r = rec_begin(VG_ID_MAGIC_WRITE, nr, policies);
  if (!r.buf) return 0;
  REC_HDR(&r)->retval = ret; /* bytes written */
  __u32 n = ret < VG_MAGIC_BYTES ? ret : VG_MAGIC_BYTES;
  put_path(&r, VG_ARG_MAGIC_WRITE_PATHNAME, &file->f_path);
  put_bytes(&r, VG_ARG_MAGIC_WRITE_BYTES, VG_KIND_BYTES, (const void *)regs->si, n, true);
  put_u64(&r, VG_ARG_MAGIC_WRITE_DEV, BPF_CORE_READ(inode, i_sb, s_dev));
  put_u64(&r, VG_ARG_MAGIC_WRITE_INODE, BPF_CORE_READ(inode, i_ino));
  put_u64(&r, VG_ARG_MAGIC_WRITE_SYSCALL, nr);
  rec_submit(&r);
  return 0;
}

VG_SYSCALL_EXIT_TP(sec, write, emit_magic_write)
VG_SYSCALL_EXIT_TP(sec, pwrite64, emit_magic_write)

/* --------------------------------------------------------- net_tcp_connection */

/* The handshake ends in softirq context, where the current task is whoever
 * the CPU was running. So the task is taken where it is known: the one that
 * moved the socket to SYN_SENT (connect) or to LISTEN (listen), both in
 * process context, saved until the connection is established or fails. */
/* A listener by network namespace, port and bound address (IPv4 as
 * v4-mapped IPv6, so that 0.0.0.0 and :: are two wildcards): listeners of the
 * same port on different addresses are different processes' sockets. */
struct vg_listen_key {
  __u32 netns;
  __u16 port; /* host order */
  __u16 pad;
  __u8 addr[16];
};

/* Connections pending until established or failed (a connect to a black
 * hole stays ~2 min). Not LRU, so a flood of them cannot evict the context
 * of an older real connect; once full, new ones are counted as map_full and
 * reported without their process (the socket's uid and cgroup only). */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 8192);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, __u64); /* struct sock * */
  __type(value, struct vg_event_header);
} tcp_connecting SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct vg_listen_key);
  __type(value, struct vg_event_header);
} tcp_listening SEC(".maps");

/* The key of a socket's local (netns, port, address). */
static __always_inline struct vg_listen_key listen_key(const struct sock *sk) {
  struct vg_listen_key k = {};
  k.netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
  k.port = BPF_CORE_READ(sk, __sk_common.skc_num);
  if (BPF_CORE_READ(sk, __sk_common.skc_family) == VG_AF_INET6) {
    BPF_CORE_READ_INTO(&k.addr, sk, __sk_common.skc_v6_rcv_saddr);
  } else {
    __u32 v4 = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
    k.addr[10] = 0xff;
    k.addr[11] = 0xff;
    __builtin_memcpy(&k.addr[12], &v4, sizeof(v4));
  }
  return k;
}

/* The listener a new connection's socket came from: bound to the address
 * the connection reached, else to the IPv4 wildcard, else to the IPv6 one. */
static __always_inline const struct vg_event_header *listener_of(const struct sock *sk) {
  struct vg_listen_key k = listen_key(sk);
  const struct vg_event_header *saved = bpf_map_lookup_elem(&tcp_listening, &k);
  if (saved) return saved;
  __builtin_memset(&k.addr[12], 0, 4); /* 0.0.0.0, v4-mapped */
  if (k.addr[10] == 0xff && k.addr[11] == 0xff && !k.addr[0]) {
    saved = bpf_map_lookup_elem(&tcp_listening, &k);
    if (saved) return saved;
  }
  __builtin_memset(k.addr, 0, sizeof(k.addr)); /* :: */
  return bpf_map_lookup_elem(&tcp_listening, &k);
}

/* Saves the current task's header (with its policies) under `key`. */
static __always_inline void save_context(void *map, const void *key) {
  __u64 policies = event_policies(VG_ID_NET_TCP_CONNECTION);
  if (!policies) return;
  struct vg_rec r = rec_begin(VG_ID_NET_TCP_CONNECTION, -1, policies);
  if (!r.buf) return;
  update_counted(map, key, r.buf, BPF_ANY);
  rec_abandon(&r);
}

static __always_inline void emit_tcp_connection(const struct sock *sk, int oldstate, int newstate) {
  if (!EVENT_SELECTED(VG_ID_NET_TCP_CONNECTION)) return;
  if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP) return;
  __u64 skey = (__u64)sk;
  if (newstate == VG_TCP_SYN_SENT) {
    save_context(&tcp_connecting, &skey);
    return;
  }
  if (newstate == VG_TCP_LISTEN) {
    struct vg_listen_key lk = listen_key(sk);
    save_context(&tcp_listening, &lk);
    return;
  }
  /* (LISTEN->SYN_RECV is a new connection's socket, cloned from the listener.) */
  if (oldstate == VG_TCP_LISTEN && newstate == VG_TCP_CLOSE) {
    struct vg_listen_key lk = listen_key(sk);
    bpf_map_delete_elem(&tcp_listening, &lk);
    return;
  }
  __u8 direction;
  const struct vg_event_header *saved;
  if (oldstate == VG_TCP_SYN_SENT && (newstate == VG_TCP_ESTABLISHED || newstate == VG_TCP_CLOSE)) {
    direction = VG_DIR_OUTBOUND;
    saved = bpf_map_lookup_elem(&tcp_connecting, &skey);
  } else if (oldstate == VG_TCP_SYN_RECV && newstate == VG_TCP_ESTABLISHED) {
    direction = VG_DIR_INBOUND;
    saved = listener_of(sk);
  } else {
    /* (SYN_SENT->SYN_RECV, a simultaneous open: no longer pending.) */
    if (oldstate == VG_TCP_SYN_SENT) bpf_map_delete_elem(&tcp_connecting, &skey);
    return;
  }
  struct vg_rec r;
  if (saved) {
    r = rec_begin_saved(saved);
  } else {
    /* Started before the sensor: no task is known. */
    __u64 policies = contextless_policies(vg_event_policies[VG_ID_NET_TCP_CONNECTION]);
    if (!policies) return;
    r = rec_begin_contextless(VG_ID_NET_TCP_CONNECTION, policies);
    if (r.buf) { /* the socket's owner and cgroup */
      REC_HDR(&r)->uid = BPF_CORE_READ(sk, sk_uid.val);
      if (bpf_core_field_exists(sk->sk_cgrp_data.cgroup))
        REC_HDR(&r)->cgroup_id = BPF_CORE_READ(sk, sk_cgrp_data.cgroup, kn, id);
    }
  }
  if (direction == VG_DIR_OUTBOUND) bpf_map_delete_elem(&tcp_connecting, &skey);
  if (!r.buf) return;
  put_u64(&r, VG_ARG_NET_TCP_CONNECTION_DIRECTION, direction);
  put_u64(&r, VG_ARG_NET_TCP_CONNECTION_FAMILY, BPF_CORE_READ(sk, __sk_common.skc_family));
  put_sock_addr(&r, VG_ARG_NET_TCP_CONNECTION_SRC, (struct sock *)sk, false);
  put_sock_addr(&r, VG_ARG_NET_TCP_CONNECTION_DST, (struct sock *)sk, true);
  put_u64(&r, VG_ARG_NET_TCP_CONNECTION_OLD_STATE, oldstate);
  put_u64(&r, VG_ARG_NET_TCP_CONNECTION_NEW_STATE, newstate);
  rec_submit(&r);
}

VG_BTF_AND_RAW(sec_, inet_sock_set_state, (emit_tcp_connection(sk, oldstate, newstate)), const struct sock *sk,
               const int oldstate, const int newstate)

/* ----------------------------------------------------------- net_packet_ipv4 */

/* cgroup_skb programs see every packet of every socket below the cgroup
 * they are attached to (the v2 root: all of them). Ingress runs in softirq
 * and egress often does too (TCP acks, retransmits), so the record has no
 * task: its header carries the socket's uid and cgroup. Kept small: no
 * strings, seven integers. Always returns 1: packets are never dropped. */
static __always_inline int emit_packet(struct __sk_buff *skb, __u8 direction) {
  __u64 candidates = vg_event_policies[VG_ID_NET_PACKET_IPV4];
  if (!candidates || skb->protocol != bpf_htons(VG_ETH_P_IP)) return 1;
  struct iphdr iph;
  if (bpf_skb_load_bytes(skb, 0, &iph, sizeof(iph)) || iph.version != 4) return 1;
  __u64 policies = contextless_policies(candidates);
  if (!policies) return 1;
  __u16 ports[2] = {};
  bool first_fragment = !(iph.frag_off & bpf_htons(0x1fff));
  if ((iph.protocol == IPPROTO_TCP || iph.protocol == IPPROTO_UDP) && first_fragment)
    bpf_skb_load_bytes(skb, iph.ihl * 4, ports, sizeof(ports));
  struct vg_rec r = rec_begin_contextless(VG_ID_NET_PACKET_IPV4, policies);
  if (!r.buf) return 1;
  REC_HDR(&r)->cgroup_id = bpf_skb_cgroup_id(skb);
  REC_HDR(&r)->uid = bpf_get_socket_uid(skb);
  put_u64(&r, VG_ARG_NET_PACKET_IPV4_SRC, iph.saddr);
  put_u64(&r, VG_ARG_NET_PACKET_IPV4_DST, iph.daddr);
  put_u64(&r, VG_ARG_NET_PACKET_IPV4_SRC_PORT, bpf_ntohs(ports[0]));
  put_u64(&r, VG_ARG_NET_PACKET_IPV4_DST_PORT, bpf_ntohs(ports[1]));
  put_u64(&r, VG_ARG_NET_PACKET_IPV4_PROTOCOL, iph.protocol);
  put_u64(&r, VG_ARG_NET_PACKET_IPV4_LENGTH, bpf_ntohs(iph.tot_len));
  put_u64(&r, VG_ARG_NET_PACKET_IPV4_DIRECTION, direction);
  rec_submit(&r);
  return 1;
}

SEC("cgroup_skb/ingress")
int vg_cgskb_ingress(struct __sk_buff *skb) { return emit_packet(skb, VG_DIR_INGRESS); }

SEC("cgroup_skb/egress")
int vg_cgskb_egress(struct __sk_buff *skb) { return emit_packet(skb, VG_DIR_EGRESS); }

/* ------------------------------------------------------------ net_packet_dns */

/* Which process a packet belongs to. cgroup_skb has no task of its own:
 * egress of UDP (and of most TCP data) runs in the sending task, ingress in
 * softirq. So the sender is taken at the socket's first egress, when the
 * current task is a user task in the socket's cgroup, and kept under the
 * socket's cookie: the replies that socket receives are its too. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 8192);
  __type(key, __u64); /* socket cookie */
  __type(value, struct vg_event_header);
} packet_owners SEC(".maps");

#define VG_PF_KTHREAD 0x00200000
#define VG_ETH_P_IPV6 0x86DD
#define VG_DNS_PORT 53
#define VG_IPPROTO_ICMPV6 58 /* a macro of the uapi headers, not in vmlinux.h */

/* The header of the current task, read through its BTF pointer only (the
 * task helpers of fill_header are not offered to cgroup_skb programs). */
static __always_inline void header_from_task(struct vg_event_header *h, struct task_struct *task) {
  header_task_fields(h, task);
  h->cgroup_id = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
  bpf_probe_read_kernel(h->comm, sizeof(h->comm), task->comm);
}

/* The owner of the packet's socket: saved, or the current task at egress
 * (see packet_owners). NULL: unknown (the record then carries the socket's
 * uid and cgroup only). */
static __always_inline const struct vg_event_header *packet_owner(struct __sk_buff *skb, __u8 direction,
                                                                  __u64 candidates) {
  __u64 cookie = bpf_get_socket_cookie(skb);
  if (!cookie) return NULL;
  const struct vg_event_header *saved = bpf_map_lookup_elem(&packet_owners, &cookie);
  if (saved || direction != VG_DIR_EGRESS) return saved;
  struct task_struct *task = bpf_get_current_task_btf();
  if (task->flags & VG_PF_KTHREAD || task->pid == 0) return NULL;
  if (BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id) != bpf_skb_cgroup_id(skb)) return NULL;
  int slot = claim_scratch(bpf_ktime_get_boot_ns());
  if (slot < 0) return NULL;
  struct vg_scratch *s = scratch_slot(&scratch, slot);
  if (!s) {
    release_scratch(slot);
    return NULL;
  }
  struct vg_event_header *h = (struct vg_event_header *)s->data;
  __builtin_memset(h, 0, sizeof(*h));
  header_from_task(h, task);
  /* The sensor's own lookups are never reported; the mask stays 0. */
  h->policies = task->tgid == sensor_tgid ? 0 : vg_scope_match((struct task_struct *)task, candidates);
  update_counted(&packet_owners, &cookie, h, BPF_ANY);
  release_scratch(slot);
  return bpf_map_lookup_elem(&packet_owners, &cookie);
}

/* What an application-layer packet record carries after its metadata: a
 * DNS message, an HTTP/1.x head or an ICMP header (VG_PKT_*). */
enum vg_app { VG_APP_DNS, VG_APP_HTTP, VG_APP_ICMP };

/* The length of an HTTP head in the `n` bytes at buf[at]: up to and with
 * its empty line ("\r\n\r\n" or "\n\n"); 0 when it does not end there.
 * One bpf_loop callback, so the verifier walks the scan once, not per byte. */
struct vg_http_scan {
  const __u8 *buf;
  long at;
  __u32 head;
};

static long http_scan_byte(__u64 i, void *ctx) {
  struct vg_http_scan *s = ctx;
  if (i == 0) return 0;
  __u32 p = (s->at + i) & (VG_SCRATCH_SIZE - 1);
  if (s->buf[p] != '\n') return 0;
  __u8 prev = s->buf[(p - 1) & (VG_SCRATCH_SIZE - 1)];
  if (prev == '\n' || (prev == '\r' && i >= 2 && s->buf[(p - 2) & (VG_SCRATCH_SIZE - 1)] == '\n')) {
    s->head = i + 1;
    return 1;
  }
  return 0;
}

static __always_inline __u32 http_head_len(const __u8 *buf, long at, __u32 n) {
  /* Without bpf_loop (before 5.17) no scan: the capture is the first
   * VG_PKT_HTTP_MAX bytes, and user space finds the head's end. */
  if (!bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_loop)) return 0;
  struct vg_http_scan s = {.buf = buf, .at = at, .head = 0};
  bpf_loop(n, http_scan_byte, &s, 0);
  return s.head;
}

/* The payload of `app` from the packet's byte `from` (`len` bytes there), as
 * VG_KIND_BYTES: a DNS message up to VG_PKT_DNS_MAX bytes, an HTTP head up to
 * its empty line (at most VG_PKT_HTTP_MAX bytes; a body is never read
 * further), the ICMP header. Cut: the record is marked truncated. */
static __always_inline void put_app_payload(struct vg_rec *r, __u8 index, struct __sk_buff *skb, __u32 from,
                                            __u32 len, enum vg_app app) {
  const __u32 max = app == VG_APP_DNS ? VG_PKT_DNS_MAX : app == VG_APP_HTTP ? VG_PKT_HTTP_MAX : VG_PKT_ICMP_LEN;
  long off = arg_begin(r, index, VG_KIND_BYTES, 2 + max);
  if (off < 0) return;
  bool cut = len > max;
  if (cut) len = max;
  __u64 n = len;
  /* Masked in the register the helper gets, so the verifier sees the bound. */
  asm volatile("%0 &= 4095" : "+r"(n));
  __u16 l16 = 0;
  if (n > 0 && !bpf_skb_load_bytes(skb, from, &r->buf[off + 2], n)) {
    l16 = n;
    if (app == VG_APP_HTTP) {
      __u32 head = http_head_len(r->buf, off + 2, n);
      if (head) {
        l16 = head;
        cut = false;
      }
    }
  }
  if (cut) REC_HDR(r)->flags |= VG_HDR_TRUNCATED;
  __builtin_memcpy(&r->buf[off], &l16, sizeof(l16));
  rec_set_off(r, off + 2 + l16);
}

/* One record of event `id`: the packet's metadata, then its payload. */
static __always_inline void emit_app_record(struct __sk_buff *skb, __u32 id, __u8 meta_arg, __u8 payload_arg,
                                            const struct vg_event_header *owner, struct vg_pkt_meta *meta,
                                            __u32 payload, __u32 len, enum vg_app app) {
  __u64 candidates = vg_event_policies[id & (VG_MAX_EVENTS - 1)];
  if (!candidates) return;
  struct vg_rec r;
  if (owner) {
    __u64 policies = owner->policies & candidates;
    if (!policies) return;
    r = rec_begin_saved(owner);
    if (!r.buf) return;
    REC_HDR(&r)->event_id = id;
    REC_HDR(&r)->policies = policies;
    REC_HDR(&r)->syscall_nr = -1;
  } else {
    __u64 policies = contextless_policies(candidates);
    if (!policies) return;
    r = rec_begin_contextless(id, policies);
    if (!r.buf) return;
    REC_HDR(&r)->cgroup_id = bpf_skb_cgroup_id(skb);
    REC_HDR(&r)->uid = bpf_get_socket_uid(skb);
  }
  put_bytes(&r, meta_arg, VG_KIND_BYTES, meta, sizeof(*meta), false);
  put_app_payload(&r, payload_arg, skb, payload, len, app);
  rec_submit(&r);
}

/* The IP and transport headers of a packet: metadata, and where the
 * transport's payload starts (the ICMP header for ICMP). IPv4 (first
 * fragments only) and IPv6 without extension headers; false for others. */
static __always_inline bool load_packet_headers(struct __sk_buff *skb, struct vg_pkt_meta *meta, __u32 *payload) {
  __u32 l4;
  if (skb->protocol == bpf_htons(VG_ETH_P_IP)) {
    struct iphdr iph;
    if (bpf_skb_load_bytes(skb, 0, &iph, sizeof(iph)) || iph.version != 4) return false;
    if (iph.frag_off & bpf_htons(0x1fff)) return false; /* a later fragment: no L4 header */
    meta->family = 2;
    meta->protocol = iph.protocol;
    l4 = iph.ihl * 4;
    __builtin_memcpy(meta->src, &iph.saddr, 4);
    __builtin_memcpy(meta->dst, &iph.daddr, 4);
  } else if (skb->protocol == bpf_htons(VG_ETH_P_IPV6)) {
    struct ipv6hdr ip6;
    if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6))) return false;
    meta->family = 10;
    meta->protocol = ip6.nexthdr;
    l4 = sizeof(ip6);
    __builtin_memcpy(meta->src, &ip6.saddr, 16);
    __builtin_memcpy(meta->dst, &ip6.daddr, 16);
  } else {
    return false;
  }
  __u16 ports[2];
  if (meta->protocol == IPPROTO_UDP) {
    if (bpf_skb_load_bytes(skb, l4, ports, sizeof(ports))) return false;
    *payload = l4 + 8;
  } else if (meta->protocol == IPPROTO_TCP) {
    __u8 tcp[13];
    if (bpf_skb_load_bytes(skb, l4, tcp, sizeof(tcp))) return false;
    __builtin_memcpy(ports, tcp, sizeof(ports));
    *payload = l4 + (tcp[12] >> 4) * 4;
  } else if ((meta->family == 2 && meta->protocol == IPPROTO_ICMP) ||
             (meta->family == 10 && meta->protocol == VG_IPPROTO_ICMPV6)) {
    *payload = l4;
    return true;
  } else {
    return false;
  }
  meta->src_port = bpf_ntohs(ports[0]);
  meta->dst_port = bpf_ntohs(ports[1]);
  return true;
}

/* DNS over UDP or TCP, port 53 on either side: the message (at most
 * VG_PKT_DNS_MAX bytes) as a request or a response, by its QR bit. */
static __always_inline void emit_dns(struct __sk_buff *skb, struct vg_pkt_meta *meta, __u32 payload,
                                     const struct vg_event_header *owner) {
  __u32 len = skb->len - payload;
  /* QR, in the flags after the id (and after TCP's length). */
  __u8 flags = 0;
  if (bpf_skb_load_bytes(skb, payload + (meta->protocol == IPPROTO_TCP ? 4 : 2), &flags, 1)) return;
  emit_app_record(skb, VG_ID_NET_PACKET_DNS, VG_ARG_NET_PACKET_DNS_METADATA, VG_ARG_NET_PACKET_DNS_PROTO_DNS,
                  owner, meta, payload, len, VG_APP_DNS);
  if (flags & 0x80)
    emit_app_record(skb, VG_ID_NET_PACKET_DNS_RESPONSE, VG_ARG_NET_PACKET_DNS_RESPONSE_METADATA,
                    VG_ARG_NET_PACKET_DNS_RESPONSE_DNS_RESPONSE, owner, meta, payload, len, VG_APP_DNS);
  else
    emit_app_record(skb, VG_ID_NET_PACKET_DNS_REQUEST, VG_ARG_NET_PACKET_DNS_REQUEST_METADATA,
                    VG_ARG_NET_PACKET_DNS_REQUEST_DNS_QUESTIONS, owner, meta, payload, len, VG_APP_DNS);
}

/* ---------------------------------------------------------- net_packet_http */

/* `b` starts with the string literal `lit` (compared byte by byte, unrolled). */
#define VG_STARTS_WITH(b, lit)                                                  \
  ({                                                                            \
    __u8 diff_ = 0;                                                             \
    _Pragma("unroll") for (int i_ = 0; i_ < (int)sizeof(lit) - 1; i_++) diff_ |= \
        (b)[i_] ^ (__u8)(lit)[i_];                                              \
    diff_ == 0;                                                                 \
  })

#define VG_HTTP_PEEK 16

/* An HTTP/1.x message starts here: "HTTP/1." (a response) or a method and a
 * space (the methods net::LooksLikeHttp knows). */
static __always_inline bool http_start(const __u8 b[VG_HTTP_PEEK], bool *response) {
  *response = VG_STARTS_WITH(b, "HTTP/1.");
  if (*response) return true;
  switch (b[0]) {
    case 'G': return VG_STARTS_WITH(b, "GET ");
    case 'P':
      return VG_STARTS_WITH(b, "POST ") || VG_STARTS_WITH(b, "PUT ") ||
             VG_STARTS_WITH(b, "PATCH ") || VG_STARTS_WITH(b, "PROPFIND ") ||
             VG_STARTS_WITH(b, "PROPPATCH ");
    case 'H': return VG_STARTS_WITH(b, "HEAD ");
    case 'D': return VG_STARTS_WITH(b, "DELETE ");
    case 'O': return VG_STARTS_WITH(b, "OPTIONS ");
    case 'C': return VG_STARTS_WITH(b, "CONNECT ") || VG_STARTS_WITH(b, "COPY ");
    case 'T': return VG_STARTS_WITH(b, "TRACE ");
    case 'M': return VG_STARTS_WITH(b, "MKCOL ") || VG_STARTS_WITH(b, "MOVE ");
    default: return false;
  }
}

/* The TCP segment's payload starts an HTTP/1.x message head (16 bytes are
 * peeked at; TLS and HTTP/2 never match). */
static __always_inline bool http_segment(struct __sk_buff *skb, __u32 payload, bool *response) {
  __u8 peek[VG_HTTP_PEEK];
  return skb->len >= payload + VG_HTTP_PEEK && !bpf_skb_load_bytes(skb, payload, peek, sizeof(peek)) &&
         http_start(peek, response);
}

/* HTTP/1.x on any TCP port: the head of a message (http_segment said so). */
static __always_inline void emit_http(struct __sk_buff *skb, struct vg_pkt_meta *meta, __u32 payload,
                                      const struct vg_event_header *owner, bool response) {
  __u32 len = skb->len - payload;
  emit_app_record(skb, VG_ID_NET_PACKET_HTTP, VG_ARG_NET_PACKET_HTTP_METADATA, VG_ARG_NET_PACKET_HTTP_PROTO_HTTP,
                  owner, meta, payload, len, VG_APP_HTTP);
  if (response)
    emit_app_record(skb, VG_ID_NET_PACKET_HTTP_RESPONSE, VG_ARG_NET_PACKET_HTTP_RESPONSE_METADATA,
                    VG_ARG_NET_PACKET_HTTP_RESPONSE_HTTP_RESPONSE, owner, meta, payload, len, VG_APP_HTTP);
  else
    emit_app_record(skb, VG_ID_NET_PACKET_HTTP_REQUEST, VG_ARG_NET_PACKET_HTTP_REQUEST_METADATA,
                    VG_ARG_NET_PACKET_HTTP_REQUEST_HTTP_REQUEST, owner, meta, payload, len, VG_APP_HTTP);
}

/* ---------------------------------------------------------- net_packet_icmp */

/* The ICMP message at `payload` is an echo request (type 8, ICMPv6 128):
 * one a user task sends (ping), never the kernel. */
static __always_inline bool icmp_echo_request(struct __sk_buff *skb, __u32 payload, __u8 family) {
  __u8 type = 0;
  if (bpf_skb_load_bytes(skb, payload, &type, 1)) return false;
  return type == (family == 2 ? 8 : 128);
}

/* ICMP (IPv4) and ICMPv6 (IPv6): the 8-byte header. */
static __always_inline void emit_icmp(struct __sk_buff *skb, struct vg_pkt_meta *meta, __u32 payload,
                                      const struct vg_event_header *owner) {
  if (skb->len < payload + VG_PKT_ICMP_LEN) return;
  if (meta->family == 2)
    emit_app_record(skb, VG_ID_NET_PACKET_ICMP, VG_ARG_NET_PACKET_ICMP_METADATA, VG_ARG_NET_PACKET_ICMP_PROTO_ICMP,
                    owner, meta, payload, VG_PKT_ICMP_LEN, VG_APP_ICMP);
  else
    emit_app_record(skb, VG_ID_NET_PACKET_ICMPV6, VG_ARG_NET_PACKET_ICMPV6_METADATA,
                    VG_ARG_NET_PACKET_ICMPV6_PROTO_ICMPV6, owner, meta, payload, VG_PKT_ICMP_LEN, VG_APP_ICMP);
}

/* ------------------------------------------------- application-layer packets */

/* One pass per packet for every application-layer packet event: nothing is
 * read unless one of them is selected, then only the IP and transport
 * headers until a selected parser wants the payload (DNS: port 53; HTTP: the
 * first bytes of a TCP segment; ICMP: the protocol). */
static __always_inline void emit_app_packet(struct __sk_buff *skb, __u8 direction) {
  __u64 dns = vg_event_policies[VG_ID_NET_PACKET_DNS] | vg_event_policies[VG_ID_NET_PACKET_DNS_REQUEST] |
              vg_event_policies[VG_ID_NET_PACKET_DNS_RESPONSE];
  __u64 http = vg_event_policies[VG_ID_NET_PACKET_HTTP] | vg_event_policies[VG_ID_NET_PACKET_HTTP_REQUEST] |
               vg_event_policies[VG_ID_NET_PACKET_HTTP_RESPONSE];
  __u64 icmp = vg_event_policies[VG_ID_NET_PACKET_ICMP] | vg_event_policies[VG_ID_NET_PACKET_ICMPV6];
  if (!(dns | http | icmp)) return;
  struct vg_pkt_meta meta = {};
  __u32 payload = 0;
  if (!load_packet_headers(skb, &meta, &payload)) return;
  meta.direction = direction;
  meta.packet_len = skb->len;
  bool is_icmp = meta.protocol == IPPROTO_ICMP || meta.protocol == VG_IPPROTO_ICMPV6;
  /* Port 53 is DNS when a DNS event wants it; other TCP may be HTTP. */
  bool is_dns = dns && !is_icmp && (meta.src_port == VG_DNS_PORT || meta.dst_port == VG_DNS_PORT);
  if (is_icmp ? !icmp : !is_dns && !(http && meta.protocol == IPPROTO_TCP)) return;
  if (skb->len <= payload) return; /* no payload: handshakes, acks */
  bool response = false;
  if (!is_icmp && !is_dns && !http_segment(skb, payload, &response)) return;
  /* The owner is saved for every selected event's policies at once. ICMP
   * sent by the kernel's own sockets (echo replies, errors) leaves in softirq
   * under whichever task was running: only an echo request names its sender. */
  const struct vg_event_header *owner = NULL;
  if (!is_icmp || direction == VG_DIR_INGRESS || icmp_echo_request(skb, payload, meta.family))
    owner = packet_owner(skb, direction, dns | http | icmp);
  if (is_icmp)
    emit_icmp(skb, &meta, payload, owner);
  else if (is_dns)
    emit_dns(skb, &meta, payload, owner);
  else
    emit_http(skb, &meta, payload, owner, response);
}

SEC("cgroup_skb/ingress")
int vg_cgskb_app_ingress(struct __sk_buff *skb) {
  emit_app_packet(skb, VG_DIR_INGRESS);
  return 1;
}

SEC("cgroup_skb/egress")
int vg_cgskb_app_egress(struct __sk_buff *skb) {
  emit_app_packet(skb, VG_DIR_EGRESS);
  return 1;
}

/* ------------------------------------------------------------ bpf_prog_load */

/* bpf(BPF_PROG_LOAD, attr, size) returned: the program's type, name and size
 * from the caller's attr (resident: the kernel just copied it). */
__noinline int emit_bpf_prog_load(__s32 nr, long ret) {
  if (!EVENT_SELECTED(VG_ID_BPF_PROG_LOAD)) return 0;
  VG_SYSCALL_ARGS(regs);
  if (regs->di != BPF_PROG_LOAD) return 0;
  __u64 policies = event_policies(VG_ID_BPF_PROG_LOAD);
  if (!policies) return 0;
  const char *attr = (const char *)regs->si;
  __u32 prog_type = 0, insn_cnt = 0;
  bpf_probe_read_user(&prog_type, sizeof(prog_type), attr + __builtin_offsetof(union bpf_attr, prog_type));
  bpf_probe_read_user(&insn_cnt, sizeof(insn_cnt), attr + __builtin_offsetof(union bpf_attr, insn_cnt));
  struct vg_rec r = rec_begin(VG_ID_BPF_PROG_LOAD, nr, policies);
  if (!r.buf) return 0;
  REC_HDR(&r)->retval = ret;
  put_u64(&r, VG_ARG_BPF_PROG_LOAD_PROG_TYPE, prog_type);
  put_str(&r, VG_ARG_BPF_PROG_LOAD_PROG_NAME, attr + __builtin_offsetof(union bpf_attr, prog_name), 16, true);
  put_u64(&r, VG_ARG_BPF_PROG_LOAD_INSN_CNT, insn_cnt);
  rec_submit(&r);
  return 0;
}

VG_SYSCALL_EXIT_TP(sec, bpf, emit_bpf_prog_load)

/* -------------------------------------------------------- security_sb_mount */

#define VG_MOVE_MOUNT_F_EMPTY_PATH 0x4

/* The exit of mount(2) and move_mount(2), whatever the result (returnValue):
 * a refused mount is a signal too. Their arguments are the caller's, still
 * resident (the kernel just copied them). */
__noinline int emit_sb_mount(__s32 nr, long ret) {
  __u64 policies = event_policies(VG_ID_SECURITY_SB_MOUNT);
  if (!policies) return 0;
  VG_SYSCALL_ARGS(regs);
  /* mount(source, target, fstype, flags, data);
   * move_mount(from_dfd, from_path, to_dfd, to_path, flags), whose source is
   * from_dfd itself (an fsmount or open_tree fd) with an empty path. */
  bool is_mount = nr == VG_NR_mount;
  const char *dev = (const char *)(is_mount ? regs->di : regs->si);
  long to_dfd = is_mount ? VG_AT_FDCWD : (int)regs->dx;
  const char *to_path = (const char *)(is_mount ? regs->si : regs->r10);
  __u64 flags = is_mount ? regs->r10 : regs->r8;
  struct super_block *sb = NULL;
  if (!is_mount && (flags & VG_MOVE_MOUNT_F_EMPTY_PATH)) {
    struct file *from = vg_fd_file(bpf_get_current_task_btf(), (int)regs->di);
    if (from) sb = BPF_CORE_READ(from, f_path.mnt, mnt_sb);
  }
  struct vg_rec r = rec_begin(VG_ID_SECURITY_SB_MOUNT, nr, policies);
  if (!r.buf) return 0;
  REC_HDR(&r)->retval = ret;
  /* One code path per argument (a string from the caller or from the
   * kernel's superblock) keeps the dispatcher's verification small. */
  const char *type = sb ? (const char *)BPF_CORE_READ(sb, s_type, name) : (const char *)regs->dx;
  if (sb) dev = (const char *)&sb->s_id;
  put_str(&r, VG_ARG_SECURITY_SB_MOUNT_DEV_NAME, dev, 256, !sb);
  put_at_path(&r, VG_ARG_SECURITY_SB_MOUNT_PATH, to_dfd, to_path);
  if (is_mount || sb) put_str(&r, VG_ARG_SECURITY_SB_MOUNT_TYPE, type, 256, !sb);
  put_u64(&r, VG_ARG_SECURITY_SB_MOUNT_FLAGS, flags);
  put_u64(&r, VG_ARG_SECURITY_SB_MOUNT_SYSCALL, nr);
  rec_submit(&r);
  return 0;
}

VG_SYSCALL_EXIT_TP(sec, mount, emit_sb_mount)
VG_SYSCALL_EXIT_TP(sec, move_mount, emit_sb_mount)

/* ------------------------------------------------ the dispatcher's consumers */

#define VG_CONSUMES(consumers, c) ((consumers) & (1u << (c)))

/* The handlers the raw_syscalls dispatcher runs at a syscall's entry and exit
 * (vg_syscall_spec.consumers): the same ones the tracepoint programs above
 * call, for the syscalls the loader marked. */
static __always_inline void run_entry_consumers(long nr, __u16 consumers) {
  if (VG_CONSUMES(consumers, VG_CONSUMER_PRIV_ENTER)) stash_cred();
}

static __always_inline void run_exit_consumers(long nr, long ret, __u16 consumers) {
  if (VG_CONSUMES(consumers, VG_CONSUMER_FILE_OPEN)) emit_file_open(nr, ret);
  if (VG_CONSUMES(consumers, VG_CONSUMER_INODE_UNLINK)) emit_inode_unlink(nr, ret);
  if (VG_CONSUMES(consumers, VG_CONSUMER_INODE_RENAME)) emit_inode_rename(nr, ret);
  if (VG_CONSUMES(consumers, VG_CONSUMER_SOCKET_CONNECT)) emit_socket_connect(nr, ret);
  if (VG_CONSUMES(consumers, VG_CONSUMER_SOCKET_BIND)) emit_socket_bind(nr, ret);
  if (VG_CONSUMES(consumers, VG_CONSUMER_SOCKET_LISTEN)) emit_socket_listen(nr, ret);
  if (VG_CONSUMES(consumers, VG_CONSUMER_SOCKET_ACCEPT)) emit_socket_accept(nr, ret);
  if (VG_CONSUMES(consumers, VG_CONSUMER_CAPABILITIES_CHANGED)) emit_capabilities_changed(nr, ret);
  if (VG_CONSUMES(consumers, VG_CONSUMER_PRIV_EXIT)) emit_privilege_gained(nr, ret);
  if (VG_CONSUMES(consumers, VG_CONSUMER_MEM_PROT_ALERT)) emit_mem_prot_alert(nr, ret);
  if (VG_CONSUMES(consumers, VG_CONSUMER_MAGIC_WRITE)) emit_magic_write(nr, ret);
  if (VG_CONSUMES(consumers, VG_CONSUMER_BPF_PROG_LOAD)) emit_bpf_prog_load(nr, ret);
  if (VG_CONSUMES(consumers, VG_CONSUMER_SB_MOUNT)) emit_sb_mount(nr, ret);
}

#endif /* VIGIL_BPF_SECURITY_BPF_H */

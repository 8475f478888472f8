/* io_uring operations reported as their syscall twins. An SQE's open,
 * connect, write, rename or unlink never enters a syscall: the per-syscall
 * tracepoints and the raw_syscalls dispatcher do not see it. The kernel's
 * io_uring:io_uring_submit_req tracepoint fires once per request after the
 * request was prepared (io_init_req ran the op's prep), with the request:
 *
 *   IORING_OP_OPENAT, OPENAT2  -> openat, openat2          (submission)
 *   IORING_OP_CONNECT          -> connect, security_socket_connect
 *   IORING_OP_WRITE, WRITEV    -> write, writev; WRITE at offset 0: magic_write
 *   IORING_OP_RENAMEAT         -> renameat2, security_inode_rename
 *   IORING_OP_UNLINKAT         -> unlinkat, security_inode_unlink
 *   IORING_OP_MKDIRAT          -> mkdirat
 *   IORING_OP_OPENAT, OPENAT2  -> security_file_open       (completion)
 *
 * An fd is the SQE's: with IOSQE_FIXED_FILE it is an index into the ring's
 * registered files, not a descriptor (security_socket_connect then has no
 * socket type).
 * Records carry VG_HDR_IO_URING in the header ("ioUring":true in JSON), the
 * twin's syscall number, and returnValue 0 at submission (the request has
 * not run yet; its result goes to the ring's CQE). security_file_open is
 * built at io_uring:io_uring_complete from the new descriptor, as at an
 * open syscall's exit. Policies apply as to the syscalls: the twins' syscall
 * specs (scope, in-kernel pathname filters) and the security events' policy
 * masks.
 *
 * The layout relied on, read through CO-RE (the ___vg flavours below match
 * the kernel's types by name, so libbpf relocates every offset): struct
 * io_kiocb starts with a union of `file` and `cmd` (struct io_cmd_data,
 * 64 bytes), and io_kiocb_to_cmd() places each op's own struct (io_open,
 * io_connect, io_rw, io_rename, io_unlink, io_mkdir, static types of
 * io_uring/ sources that vmlinux BTF carries) at `cmd`. Since 6.0: before, the
 * per-op structs were named members of io_kiocb and `cmd` does not exist.
 * Each reader checks bpf_core_field_exists()/bpf_core_type_exists() first,
 * so a kernel without one of these types loads the programs and leaves that
 * op undecoded (counted in vg_iou_undecoded; `vigil list` says which), as
 * are the requests of ops no record reports whose syscall twin a policy in
 * scope selected (iou_unreported: a linkat, a send...). At
 * submission an open's (rename's, unlink's, mkdir's) name is the kernel's
 * struct filename (getname() in prep: kernel memory, which the caller cannot
 * change after submission), and a connect's address the kernel's copy in the
 * request's async data (iou_connect_kaddr), else the caller's buffer. */
#ifndef VIGIL_BPF_IO_URING_BPF_H
#define VIGIL_BPF_IO_URING_BPF_H

/* include/uapi/linux/io_uring.h: enum io_uring_op (stable ABI). */
#define VG_IORING_OP_WRITEV 2
#define VG_IORING_OP_CONNECT 16
#define VG_IORING_OP_OPENAT 18
#define VG_IORING_OP_WRITE 23
#define VG_IORING_OP_OPENAT2 28
#define VG_IORING_OP_RENAMEAT 35
#define VG_IORING_OP_UNLINKAT 36
#define VG_IORING_OP_MKDIRAT 37

#define VG_REQ_F_FIXED_FILE 0x1 /* REQ_F_FIXED_FILE_BIT = IOSQE_FIXED_FILE_BIT = 0 */

#define VG_O_LARGEFILE 0100000 /* added by the kernel to every io_uring open on 64-bit */

struct io_cmd_data___vg {
  struct file *file;
} __attribute__((preserve_access_index));

struct io_cqe___vg {
  __u64 user_data;
  __s32 res;
  __s32 fd; /* the SQE's fd until completion (a union with the CQE flags) */
} __attribute__((preserve_access_index));

struct io_uring_task___vg {
  struct task_struct *task;
} __attribute__((preserve_access_index));

struct io_kiocb___vg {
  union {
    struct file *file;
    struct io_cmd_data___vg cmd;
  };
  __u8 opcode;
  __u32 flags; /* io_req_flags_t (u64 since 6.10): the low bits are read */
  struct io_cqe___vg cqe;
  struct io_uring_task___vg *tctx;
  void *async_data;
} __attribute__((preserve_access_index));

struct open_how___vg {
  __u64 flags;
  __u64 mode;
} __attribute__((preserve_access_index));

struct io_open___vg {
  int dfd;
  __u32 file_slot;
  struct filename *filename;
  struct open_how___vg how;
} __attribute__((preserve_access_index));

struct io_connect___vg {
  struct sockaddr *addr;
  int addr_len;
} __attribute__((preserve_access_index));

/* The address sits in an anonymous struct of io_async_msghdr; CO-RE finds
 * it by name through the anonymous members. */
struct io_async_msghdr___vg {
  struct __kernel_sockaddr_storage addr;
} __attribute__((preserve_access_index));

struct io_rw___vg {
  struct kiocb kiocb; /* ki_pos: the SQE's offset (-1: the file's position) */
  __u64 addr;
  __u32 len;
} __attribute__((preserve_access_index));

struct io_rename___vg {
  int old_dfd;
  int new_dfd;
  struct filename *oldpath;
  struct filename *newpath;
  int flags;
} __attribute__((preserve_access_index));

struct io_unlink___vg {
  int dfd;
  int flags;
  struct filename *filename;
} __attribute__((preserve_access_index));

struct io_mkdir___vg {
  int dfd;
  __u32 mode;
  struct filename *filename;
} __attribute__((preserve_access_index));

struct io_uring_cqe___vg {
  __s32 res;
} __attribute__((preserve_access_index));

/* Requests seen whose op this kernel's types did not let us decode (by CPU;
 * user space reads .bss). */
__u64 vg_iou_undecoded[VG_MAX_CPUS];

static __always_inline void iou_undecoded(void) {
  __sync_fetch_and_add(&vg_iou_undecoded[bpf_get_smp_processor_id() & (VG_MAX_CPUS - 1)], 1);
}

/* Whether this kernel's types let us decode the request's op (`type_exists`:
 * bpf_core_type_exists of its struct); a request that cannot be is counted. */
static __always_inline bool iou_decodable(bool type_exists) {
  if (!type_exists) iou_undecoded();
  return type_exists;
}

/* The op's own struct, at the request's cmd area. */
#define IOU_CMD(req) ((void *)&(req)->cmd)

static __always_inline const char *iou_name(struct filename *f) {
  return f ? BPF_CORE_READ(f, name) : NULL;
}

/* A record of an io_uring operation: the current task (the submitter, or
 * the ring's SQPOLL thread, a thread of the same process) and the mark. */
static __always_inline struct vg_rec iou_rec_begin(__u32 event_id, __s32 nr, __u64 policies) {
  struct vg_rec r = rec_begin(event_id, nr, policies);
  if (r.buf) REC_HDR(&r)->flags |= VG_HDR_IO_URING;
  return r;
}

/* The policies that want syscall twin `nr` of this request: its spec's
 * scope, then its in-kernel pathname filter on the kernel's copy of the
 * name at the spec's path argument (`path_a` at argument `arg_a`, `path_b`
 * at `arg_b`; none: the path policies drop). 0 when unselected. */
static __always_inline __u64 iou_syscall_policies(__s32 nr, const struct vg_syscall_spec *spec, __u8 arg_a,
                                                  const char *path_a, __u8 arg_b, const char *path_b) {
  if (is_sensor()) return 0;
  __u64 policies = matched_policies(spec->policies);
  if (policies && (policies & spec->path_policies)) {
    const char *path = spec->path_arg == arg_a ? path_a : spec->path_arg == arg_b ? path_b : NULL;
    /* The name as given (no file yet at submission): its string decides. */
    policies = path ? vg_filter_path(nr, spec, NULL, path, true, NULL, false, 0, policies)
                    : policies & ~spec->path_policies;
    if (!policies) my_counters()->filtered_kernel++;
  }
  return policies;
}

#define IOU_NO_PATH 0xff

/* A record of syscall twin `nr` for the policies that want it (as
 * iou_syscall_policies decides; none when `spec` is NULL, the syscall not
 * selected). No buf: nothing to put or submit. */
static __always_inline struct vg_rec iou_syscall_rec(__s32 nr, const struct vg_syscall_spec *spec, __u8 arg_a,
                                                     const char *path_a, __u8 arg_b, const char *path_b) {
  struct vg_rec r = {};
  __u64 policies = spec ? iou_syscall_policies(nr, spec, arg_a, path_a, arg_b, path_b) : 0;
  if (policies) r = iou_rec_begin(nr, nr, policies);
  return r;
}

/* A record of event `id`, derived from syscall `nr`, for the policies that
 * select the event. No buf: nothing to put or submit. */
static __always_inline struct vg_rec iou_event_rec(__u32 id, __s32 nr) {
  struct vg_rec r = {};
  __u64 policies = event_policies(id);
  if (policies) r = iou_rec_begin(id, nr, policies);
  return r;
}

/* The record of syscall twin `nr` whose arguments begin (dfd, pathname), as
 * openat's and mkdirat's do, with those two put. */
static __always_inline struct vg_rec iou_at_name_rec(__s32 nr, const struct vg_syscall_spec *spec, __s64 dfd,
                                                     const char *name) {
  struct vg_rec r = iou_syscall_rec(nr, spec, 1, name, IOU_NO_PATH, NULL);
  if (!r.buf) return r;
  put_u64(&r, 0, dfd);
  put_str(&r, 1, name, VG_MAX_STR, false);
  return r;
}

static __noinline int iou_open(struct io_kiocb___vg *req, __u32 op) {
  __s32 nr = op == VG_IORING_OP_OPENAT ? VG_NR_openat : VG_NR_openat2;
  const struct vg_syscall_spec *spec = selected_spec(nr, 0);
  if (!spec) return 0;
  if (!iou_decodable(bpf_core_type_exists(struct io_open___vg))) return 0;
  struct io_open___vg *open = IOU_CMD(req);
  struct vg_rec r =
      iou_at_name_rec(nr, spec, (__s64)BPF_CORE_READ(open, dfd), iou_name(BPF_CORE_READ(open, filename)));
  if (!r.buf) return 0;
  /* openat2's `how` and `usize` describe the caller's struct, which the
   * request no longer points to: only openat has flags and mode here. */
  if (op == VG_IORING_OP_OPENAT) {
    put_u64(&r, 2, BPF_CORE_READ(open, how.flags) & ~(__u64)VG_O_LARGEFILE);
    put_u64(&r, 3, BPF_CORE_READ(open, how.mode));
  }
  rec_submit(&r);
  return 0;
}

/* The kernel's copy of a connect's address, made in prep (move_addr_to_kernel)
 * into the request's async data: a bare struct sockaddr_storage in newer
 * kernels (this 6.18 build), the `addr` of a struct io_async_msghdr before.
 * Both types exist in BTF either way, so the copy is the one whose family is
 * the caller's (which the kernel copied just before). NULL: none found. */
static __always_inline const void *iou_connect_kaddr(struct io_kiocb___vg *req, const void *uaddr) {
  const void *io = BPF_CORE_READ(req, async_data);
  __u16 want = 0, got = 0;
  if (!io) return NULL;
  /* (A caller's page that cannot be read now: any plausible family, AF_MAX 46.) */
  bpf_probe_read_user(&want, sizeof(want), uaddr);
#define IOU_FAMILY_OK(f) (want ? (f) == want : (f) > 0 && (f) < 46)
  if (!bpf_probe_read_kernel(&got, sizeof(got), io) && IOU_FAMILY_OK(got)) return io;
  if (!bpf_core_type_exists(struct io_async_msghdr___vg)) return NULL;
  /* (The offset through CO-RE explicitly: clang may fold &io->addr of a
   * member at local offset 0 into io itself.) */
  const void *msg_addr = io + bpf_core_field_offset(struct io_async_msghdr___vg, addr);
  if (!bpf_probe_read_kernel(&got, sizeof(got), msg_addr) && IOU_FAMILY_OK(got)) return msg_addr;
#undef IOU_FAMILY_OK
  return NULL;
}

static __noinline int iou_connect(struct io_kiocb___vg *req) {
  const struct vg_syscall_spec *spec = selected_spec(VG_NR_connect, 0);
  bool sec = EVENT_SELECTED(VG_ID_SECURITY_SOCKET_CONNECT);
  if (!spec && !sec) return 0;
  if (!iou_decodable(bpf_core_type_exists(struct io_connect___vg))) return 0;
  struct io_connect___vg *conn = IOU_CMD(req);
  long fd = BPF_CORE_READ(req, cqe.fd);
  __u64 len = (__u32)BPF_CORE_READ(conn, addr_len);
  if (len > VG_SOCKADDR_MAX) len = VG_SOCKADDR_MAX;
  const void *uaddr = (const void *)BPF_CORE_READ(conn, addr);
  const void *addr = iou_connect_kaddr(req, uaddr);
  bool user = !addr;
  if (user) addr = uaddr;
  struct vg_rec r = iou_syscall_rec(VG_NR_connect, spec, IOU_NO_PATH, NULL, IOU_NO_PATH, NULL);
  if (r.buf) {
    put_u64(&r, 0, fd);
    put_bytes(&r, 1, VG_KIND_SOCKADDR, addr, len, user);
    put_u64(&r, 2, len);
    rec_submit(&r);
  }
  if (!sec) return 0;
  /* A fixed file (IOSQE_FIXED_FILE) is an index into the ring's table, not
   * a descriptor: its socket type is not looked up. */
  bool fixed = BPF_CORE_READ(req, flags) & VG_REQ_F_FIXED_FILE;
  struct socket *sock = fixed ? NULL : vg_fd_socket(bpf_get_current_task_btf(), fd);
  r = iou_event_rec(VG_ID_SECURITY_SOCKET_CONNECT, VG_NR_connect);
  if (!r.buf) return 0;
  put_u64(&r, VG_ARG_SECURITY_SOCKET_CONNECT_SOCKFD, fd);
  if (sock) put_u64(&r, VG_ARG_SECURITY_SOCKET_CONNECT_TYPE, BPF_CORE_READ(sock, type));
  put_bytes(&r, VG_ARG_SECURITY_SOCKET_CONNECT_REMOTE_ADDR, VG_KIND_SOCKADDR, addr, len, user);
  rec_submit(&r);
  return 0;
}

/* magic_write of an IORING_OP_WRITE at offset 0 of a regular file, as at a
 * write's exit but at submission: the bytes are the caller's buffer (up to
 * 20), returnValue 0 (the write has not run yet). */
static __always_inline void iou_magic_write(struct io_kiocb___vg *req, struct io_rw___vg *rw) {
  if (BPF_CORE_READ(req, flags) & VG_REQ_F_FIXED_FILE) return;
  struct task_struct *task = bpf_get_current_task_btf();
  struct file *file = vg_fd_file(task, BPF_CORE_READ(req, cqe.fd));
  if (!file || !(BPF_CORE_READ(file, f_mode) & VG_FMODE_WRITE)) return;
  struct inode *inode = BPF_CORE_READ(file, f_inode);
  if ((BPF_CORE_READ(inode, i_mode) & VG_S_IFMT) != VG_S_IFREG) return;
  __s64 pos = BPF_CORE_READ(rw, kiocb.ki_pos);
  if (pos == -1) pos = BPF_CORE_READ(file, f_pos);
  __u32 len = BPF_CORE_READ(rw, len);
  if (pos != 0 || len == 0) return;
  struct vg_rec r = iou_event_rec(VG_ID_MAGIC_WRITE, VG_NR_write);
  if (!r.buf) return;
  put_path(&r, VG_ARG_MAGIC_WRITE_PATHNAME, &file->f_path);
  put_bytes(&r, VG_ARG_MAGIC_WRITE_BYTES, VG_KIND_BYTES, (const void *)BPF_CORE_READ(rw, addr),
            len < VG_MAGIC_BYTES ? len : VG_MAGIC_BYTES, true);
  put_u64(&r, VG_ARG_MAGIC_WRITE_DEV, BPF_CORE_READ(inode, i_sb, s_dev));
  put_u64(&r, VG_ARG_MAGIC_WRITE_INODE, BPF_CORE_READ(inode, i_ino));
  put_u64(&r, VG_ARG_MAGIC_WRITE_SYSCALL, VG_NR_write);
  rec_submit(&r);
}

static __noinline int iou_write(struct io_kiocb___vg *req, __u32 op) {
  __s32 nr = op == VG_IORING_OP_WRITE ? VG_NR_write : VG_NR_writev;
  const struct vg_syscall_spec *spec = selected_spec(nr, 0);
  bool magic = op == VG_IORING_OP_WRITE && EVENT_SELECTED(VG_ID_MAGIC_WRITE);
  if (!spec && !magic) return 0;
  if (!iou_decodable(bpf_core_type_exists(struct io_rw___vg))) return 0;
  struct io_rw___vg *rw = IOU_CMD(req);
  if (magic) iou_magic_write(req, rw);
  if (!spec) return 0;
  struct vg_rec r = iou_syscall_rec(nr, spec, IOU_NO_PATH, NULL, IOU_NO_PATH, NULL);
  if (!r.buf) return 0;
  /* write(fd, buf, count); writev(fd, vec, vlen) */
  put_u64(&r, 0, (__s64)BPF_CORE_READ(req, cqe.fd));
  put_u64(&r, 1, BPF_CORE_READ(rw, addr));
  put_u64(&r, 2, BPF_CORE_READ(rw, len));
  rec_submit(&r);
  return 0;
}

static __noinline int iou_rename(struct io_kiocb___vg *req) {
  const struct vg_syscall_spec *spec = selected_spec(VG_NR_renameat2, 0);
  bool sec = EVENT_SELECTED(VG_ID_SECURITY_INODE_RENAME);
  if (!spec && !sec) return 0;
  if (!iou_decodable(bpf_core_type_exists(struct io_rename___vg))) return 0;
  struct io_rename___vg *rn = IOU_CMD(req);
  const char *oldpath = iou_name(BPF_CORE_READ(rn, oldpath));
  const char *newpath = iou_name(BPF_CORE_READ(rn, newpath));
  long olddfd = BPF_CORE_READ(rn, old_dfd), newdfd = BPF_CORE_READ(rn, new_dfd);
  /* renameat2(olddfd, oldname, newdfd, newname, flags): it has the flags. */
  struct vg_rec r = iou_syscall_rec(VG_NR_renameat2, spec, 1, oldpath, 3, newpath);
  if (r.buf) {
    put_u64(&r, 0, olddfd);
    put_str(&r, 1, oldpath, VG_MAX_STR, false);
    put_u64(&r, 2, newdfd);
    put_str(&r, 3, newpath, VG_MAX_STR, false);
    put_u64(&r, 4, (__u32)BPF_CORE_READ(rn, flags));
    rec_submit(&r);
  }
  if (!sec) return 0;
  r = iou_event_rec(VG_ID_SECURITY_INODE_RENAME, VG_NR_renameat2);
  if (!r.buf) return 0;
  put_at_path_mem(&r, VG_ARG_SECURITY_INODE_RENAME_OLD_PATH, olddfd, oldpath, false);
  put_at_path_mem(&r, VG_ARG_SECURITY_INODE_RENAME_NEW_PATH, newdfd, newpath, false);
  put_u64(&r, VG_ARG_SECURITY_INODE_RENAME_SYSCALL, VG_NR_renameat2);
  rec_submit(&r);
  return 0;
}

static __noinline int iou_unlink(struct io_kiocb___vg *req) {
  const struct vg_syscall_spec *spec = selected_spec(VG_NR_unlinkat, 0);
  bool sec = EVENT_SELECTED(VG_ID_SECURITY_INODE_UNLINK);
  if (!spec && !sec) return 0;
  if (!iou_decodable(bpf_core_type_exists(struct io_unlink___vg))) return 0;
  struct io_unlink___vg *un = IOU_CMD(req);
  const char *name = iou_name(BPF_CORE_READ(un, filename));
  long dfd = BPF_CORE_READ(un, dfd);
  struct vg_rec r = iou_at_name_rec(VG_NR_unlinkat, spec, dfd, name);
  if (r.buf) {
    put_u64(&r, 2, (__u32)BPF_CORE_READ(un, flags));
    rec_submit(&r);
  }
  if (!sec) return 0;
  r = iou_event_rec(VG_ID_SECURITY_INODE_UNLINK, VG_NR_unlinkat);
  if (!r.buf) return 0;
  put_at_path_mem(&r, VG_ARG_SECURITY_INODE_UNLINK_PATHNAME, dfd, name, false);
  put_u64(&r, VG_ARG_SECURITY_INODE_UNLINK_INODE, 0);
  put_u64(&r, VG_ARG_SECURITY_INODE_UNLINK_DEV, 0);
  put_u64(&r, VG_ARG_SECURITY_INODE_UNLINK_CTIME, 0);
  put_u64(&r, VG_ARG_SECURITY_INODE_UNLINK_SYSCALL, VG_NR_unlinkat);
  rec_submit(&r);
  return 0;
}

static __noinline int iou_mkdir(struct io_kiocb___vg *req) {
  const struct vg_syscall_spec *spec = selected_spec(VG_NR_mkdirat, 0);
  if (!spec) return 0;
  if (!iou_decodable(bpf_core_type_exists(struct io_mkdir___vg))) return 0;
  struct io_mkdir___vg *mk = IOU_CMD(req);
  struct vg_rec r = iou_at_name_rec(VG_NR_mkdirat, spec, (__s64)BPF_CORE_READ(mk, dfd),
                                    iou_name(BPF_CORE_READ(mk, filename)));
  if (!r.buf) return 0;
  put_u64(&r, 2, BPF_CORE_READ(mk, mode));
  rec_submit(&r);
  return 0;
}

/* include/uapi/linux/io_uring.h: ops with a syscall twin that no record
 * reports (README: "not covered"). */
#define VG_IORING_OP_WRITE_FIXED 5
#define VG_IORING_OP_SENDMSG 9
#define VG_IORING_OP_ACCEPT 13
#define VG_IORING_OP_SEND 26
#define VG_IORING_OP_SPLICE 30
#define VG_IORING_OP_SYMLINKAT 38
#define VG_IORING_OP_LINKAT 39
#define VG_IORING_OP_FSETXATTR 41
#define VG_IORING_OP_SETXATTR 42
#define VG_IORING_OP_SOCKET 45
#define VG_IORING_OP_SEND_ZC 47
#define VG_IORING_OP_SENDMSG_ZC 48
#define VG_IORING_OP_BIND 56

/* The syscall twin of an op no record reports, or -1. */
static __always_inline __s32 iou_unreported_twin(__u32 op) {
  switch (op) {
    case VG_IORING_OP_WRITE_FIXED: return VG_NR_write;
    case VG_IORING_OP_SENDMSG:
    case VG_IORING_OP_SENDMSG_ZC: return VG_NR_sendmsg;
    case VG_IORING_OP_ACCEPT: return VG_NR_accept4;
    case VG_IORING_OP_SEND:
    case VG_IORING_OP_SEND_ZC: return VG_NR_sendto;
    case VG_IORING_OP_SPLICE: return VG_NR_splice;
    case VG_IORING_OP_SYMLINKAT: return VG_NR_symlinkat;
    case VG_IORING_OP_LINKAT: return VG_NR_linkat;
    case VG_IORING_OP_FSETXATTR: return VG_NR_fsetxattr;
    case VG_IORING_OP_SETXATTR: return VG_NR_setxattr;
    case VG_IORING_OP_SOCKET: return VG_NR_socket;
    case VG_IORING_OP_BIND: return VG_NR_bind;
    default: return -1;
  }
}

/* A request of such an op whose twin a policy in scope selected: counted as
 * undecoded, since the twin's event does not report it. */
static __noinline int iou_unreported(__u32 op) {
  __s32 nr = iou_unreported_twin(op);
  if (nr < 0 || is_sensor()) return 0;
  const struct vg_syscall_spec *spec = spec_of(nr);
  if (spec && (spec->flags & VG_SYSCALL_SELECTED) &&
      vg_scope_match((struct task_struct *)bpf_get_current_task(), spec->policies))
    iou_undecoded();
  return 0;
}

static __always_inline void on_iou_submit(void *ptr) {
  struct io_kiocb___vg *req = ptr;
  if (!req) return;
  if (!bpf_core_field_exists(req->cmd)) { /* before 6.0: another layout */
    iou_undecoded();
    return;
  }
  __u32 op = BPF_CORE_READ(req, opcode);
  if (op == VG_IORING_OP_OPENAT || op == VG_IORING_OP_OPENAT2)
    iou_open(req, op);
  else if (op == VG_IORING_OP_CONNECT)
    iou_connect(req);
  else if (op == VG_IORING_OP_WRITE || op == VG_IORING_OP_WRITEV)
    iou_write(req, op);
  else if (op == VG_IORING_OP_RENAMEAT)
    iou_rename(req);
  else if (op == VG_IORING_OP_UNLINKAT)
    iou_unlink(req);
  else if (op == VG_IORING_OP_MKDIRAT)
    iou_mkdir(req);
  else
    iou_unreported(op);
}

VG_BTF_AND_RAW(iou_, io_uring_submit_req, on_iou_submit(req), void *req)

/* An open request completed: its new descriptor's file, as security_file_open
 * at an open syscall's exit. The descriptor is in the table of the task that
 * submitted (io-wq workers and task work share it); a completion run by a
 * thread with another table (the ring's fallback worker when the submitter
 * is exiting) is skipped, as is an open into the ring's fixed-file table. */
static __always_inline void on_iou_complete(void *ptr, void *cqe_ptr) {
  if (!EVENT_SELECTED(VG_ID_SECURITY_FILE_OPEN)) return;
  struct io_kiocb___vg *req = ptr; /* NULL for auxiliary CQEs */
  struct io_uring_cqe___vg *cqe = cqe_ptr;
  if (!req || !cqe) return;
  if (!bpf_core_field_exists(req->cmd) || !bpf_core_type_exists(struct io_open___vg)) return;
  __u32 op = BPF_CORE_READ(req, opcode);
  if (op != VG_IORING_OP_OPENAT && op != VG_IORING_OP_OPENAT2) return;
  long fd = BPF_CORE_READ(cqe, res);
  if (fd < 0) return;
  struct io_open___vg *open = IOU_CMD(req);
  if (BPF_CORE_READ(open, file_slot)) return;
  struct task_struct *task = bpf_get_current_task_btf();
  if (BPF_CORE_READ(req, tctx, task, files) != task->files) return;
  __u64 policies = event_policies(VG_ID_SECURITY_FILE_OPEN);
  if (!policies) return;
  struct file *file = vg_fd_file(task, fd);
  if (!file) return;
  __s32 nr = op == VG_IORING_OP_OPENAT ? VG_NR_openat : VG_NR_openat2;
  struct vg_rec r = iou_rec_begin(VG_ID_SECURITY_FILE_OPEN, nr, policies);
  if (!r.buf) return;
  put_opened_file(&r, file, BPF_CORE_READ(open, how.flags));
  put_u64(&r, VG_ARG_SECURITY_FILE_OPEN_SYSCALL, nr);
  rec_submit(&r);
}

VG_BTF_AND_RAW(iou_, io_uring_complete, on_iou_complete(req, cqe), void *ring, void *req, void *cqe)

#endif /* VIGIL_BPF_IO_URING_BPF_H */

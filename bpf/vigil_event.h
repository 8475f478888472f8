/* Record layout shared by the kernel side (the bpf programs) and user space
 * (events/ decoders). Plain C, fixed-width types only: both compilers must
 * agree on every offset. */
#ifndef VIGIL_BPF_VIGIL_EVENT_H
#define VIGIL_BPF_VIGIL_EVENT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define VG_TASK_COMM_LEN 16
#define VG_MAX_CPUS 256          /* counters are indexed by cpu & (VG_MAX_CPUS-1) */
#define VG_MAX_SYSCALLS 512      /* x86-64 syscall numbers are below this */
#define VG_MAX_EVENTS 2048       /* registry ids are below this */
#define VG_SCRATCH_SIZE 32768    /* per-CPU record buffer (a per-CPU value is at most 32 KiB) */
#define VG_SCRATCH_HALF (VG_SCRATCH_SIZE / 2)
#define VG_MAX_RECORD VG_SCRATCH_HALF /* no record is larger than this */
#define VG_MAX_STR 4096          /* one string (path) read from memory */
#define VG_MAX_ARGV 64           /* argv/envp entries captured */
#define VG_MAX_ARGV_STR 1024     /* bytes of one argv entry */
#define VG_SOCKADDR_MAX 128      /* sizeof(struct sockaddr_storage) */

/* How one argument is encoded after the header. Each argument starts with
 * a u8 index (position in the registry definition) and a u8 kind:
 *   VG_KIND_U64      8 bytes, little endian (ints, pointers, flags)
 *   VG_KIND_STR      u16 length, then that many bytes (no NUL)
 *   VG_KIND_BYTES    u16 length, then that many bytes (raw memory)
 *   VG_KIND_STRARR   u8 count, then count x (u16 length, bytes)
 *   VG_KIND_SOCKADDR u16 length, then a struct sockaddr of that length */
enum vg_arg_kind {
  VG_KIND_NONE = 0,
  VG_KIND_U64 = 1,
  VG_KIND_STR = 2,
  VG_KIND_BYTES = 3,
  VG_KIND_STRARR = 4,
  VG_KIND_SOCKADDR = 5,
};

/* What the kernel side captures for one syscall argument; set per syscall
 * by user space from the registry before the programs run. */
enum vg_capture {
  VG_CAPTURE_NONE = 0,
  VG_CAPTURE_VALUE = 1,    /* the register value */
  VG_CAPTURE_STR = 2,      /* NUL-terminated user string */
  VG_CAPTURE_STRARR = 3,   /* NULL-terminated array of user strings */
  VG_CAPTURE_SOCKADDR = 4, /* user sockaddr, length in the next argument */
};

#define VG_SYSCALL_SELECTED 0x1   /* capture this syscall */
#define VG_SYSCALL_AT_ENTRY 0x2   /* emit at entry (exit: no return) */
/* execve/execveat: arguments stashed at entry and emitted from
 * sched_process_exec on success (the kernel's copy of argv in the new mm),
 * or at exit on failure. At entry their strings may sit in pages a fresh
 * fork has not faulted in yet, which a tracepoint program cannot read. */
#define VG_SYSCALL_DEFER 0x4

/* Handlers of non-syscall events that the raw_syscalls dispatcher calls for
 * a syscall (bit i of vg_syscall_spec.consumers: consumer i). They stand in
 * for the events' per-syscall tracepoint programs where tracefs is missing;
 * the loader sets the bits of the syscalls each event derives from. */
enum vg_consumer {
  VG_CONSUMER_FILE_OPEN = 0,
  VG_CONSUMER_INODE_UNLINK = 1,
  VG_CONSUMER_INODE_RENAME = 2,
  VG_CONSUMER_SOCKET_CONNECT = 3,
  VG_CONSUMER_SOCKET_BIND = 4,
  VG_CONSUMER_SOCKET_LISTEN = 5,
  VG_CONSUMER_SOCKET_ACCEPT = 6,
  VG_CONSUMER_CAPABILITIES_CHANGED = 7,
  VG_CONSUMER_PRIV_ENTER = 8, /* privilege_gained: credentials at the entry */
  VG_CONSUMER_PRIV_EXIT = 9,  /* privilege_gained: compared at the exit */
  VG_CONSUMER_MEM_PROT_ALERT = 10,
  VG_CONSUMER_MAGIC_WRITE = 11,
  VG_CONSUMER_BPF_PROG_LOAD = 12,
  VG_CONSUMER_SB_MOUNT = 13,
  VG_CONSUMERS = 14,
};

struct vg_syscall_spec {
  __u8 capture[6];      /* enum vg_capture per argument */
  __u8 flags;           /* VG_SYSCALL_* */
  __u8 argc;
  __u64 policies;       /* policies that selected the syscall's event */
  __u64 path_policies;  /* policies whose pathname filter the kernel decides */
  __u8 path_arg;        /* which argument is the path (with path_policies) */
  __u8 pad;
  __u16 consumers;      /* bit i: the dispatcher calls consumer i (enum vg_consumer) */
  /* The consumers to call for this syscall made by the ia32 ABI (compat),
   * which no per-syscall tracepoint sees: every running event's. */
  __u16 compat_consumers;
  __u8 pad2[2];
};

/* In-kernel pathname filters: an LPM trie keyed by (event id, path). An
 * exact pattern is stored with its NUL, a prefix pattern without; the value
 * is the mask of policies whose patterns match a path with that prefix. */
#define VG_PATH_KEY_LEN 248
struct vg_path_key {
  __u32 prefixlen; /* in bits, over event_id and path */
  __u32 event_id;  /* big-endian is not needed: matched as a whole */
  char path[VG_PATH_KEY_LEN];
};

/* In-kernel exact pathname filters by the file itself: (event id, device,
 * inode) of each exact pattern's file, stat()ed by user space at load time,
 * so that hard links and bind mounts of a filtered file match. The value is
 * the mask of policies whose exact patterns name that file. `dev` is the
 * kernel's encoding (super_block.s_dev: major << 20 | minor). */
struct vg_inode_key {
  __u32 event_id;
  __u32 dev;
  __u64 ino;
};

/* The metadata of a captured packet (packet events' "metadata" argument). */
struct vg_pkt_meta {
  __u8 family;    /* AF_INET, AF_INET6 */
  __u8 protocol;  /* IPPROTO_UDP, IPPROTO_TCP, IPPROTO_ICMP, IPPROTO_ICMPV6 */
  __u8 direction; /* VG_DIR_EGRESS, VG_DIR_INGRESS */
  __u8 pad;
  __u16 src_port; /* host order */
  __u16 dst_port;
  __u32 packet_len; /* the whole packet, from the IP header */
  __u8 src[16];     /* network order; IPv4 uses the first 4 bytes */
  __u8 dst[16];
};

#define VG_PKT_DNS_MAX 514 /* a classic 512-byte message, plus TCP's 2-byte length */
#define VG_PKT_HTTP_MAX 2048 /* an HTTP/1.x message head: request or status line and headers */
#define VG_PKT_ICMP_LEN 8 /* the ICMP/ICMPv6 header: type, code, checksum, id, seq */

#define VG_HDR_TRUNCATED 0x1 /* some argument did not fit and was cut */
#define VG_HDR_IO_URING 0x80 /* an io_uring operation reported as its syscall twin (bpf/io_uring.bpf.h) */
/* In a compat (ia32) syscall: int $0x80, sysenter or a 32-bit syscall. The
 * event id and syscall number are the x86-64 twin's. */
#define VG_HDR_COMPAT 0x2

struct vg_event_header {
  __u64 ts_boot_ns;      /* bpf_ktime_get_boot_ns() */
  __u64 cgroup_id;
  __u64 policies;        /* bit i: policy i matched */
  __s64 retval;
  __u32 event_id;        /* registry id */
  __s32 syscall_nr;      /* -1 for events that are not syscalls */
  __u32 cpu;
  __u32 host_tid;
  __u32 host_pid;
  __u32 host_ppid;
  __u32 tid;             /* in the task's own pid namespace */
  __u32 pid;
  __u32 ppid;
  __u32 uid;
  __u32 gid;
  __u32 mnt_ns;
  __u32 pid_ns;
  __u32 uts_ns;
  __u64 start_time_ns;   /* task start (boot-based), identifies the process */
  char comm[VG_TASK_COMM_LEN];
  __u32 args_size;       /* bytes of argument data after the header */
  __u8 argc;             /* arguments encoded */
  __u8 flags;            /* VG_HDR_* */
  __u16 reserved;
};

/* Per-CPU counters, in .bss so user space reads them through the mmap'd
 * map without a bpf() call. One cache line each. */
struct vg_cpu_counters {
  __u64 emitted;         /* records written to the ring buffer */
  __u64 lost_reserve;    /* ring buffer full: record dropped */
  __u64 filtered_kernel; /* matched by no policy's in-kernel filters */
  __u64 truncated;       /* records with a cut argument */
  __u64 since_wakeup;    /* records since this CPU last woke the reader */
  __u64 read_failed;     /* user memory (a path, an argument) that could not be read */
  __u64 map_full;        /* a kernel table was full: a pending context or state not kept */
  /* Compat syscalls no event can report: x32 ones (nr with
   * __X32_SYSCALL_BIT) and ia32 ones with no x86-64 twin of the same
   * arguments (syscall_nrs.h: vg_ia32_to_x64). */
  __u64 compat_undecoded;
};

#endif /* VIGIL_BPF_VIGIL_EVENT_H */

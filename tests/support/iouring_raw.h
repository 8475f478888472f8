/* A minimal io_uring client on the raw syscalls (no liburing): one ring,
 * one request at a time, each waited for. For tests that perform file and
 * socket operations that never enter their own syscall. Plain C, usable
 * from C++ (header-only, static functions). */
#ifndef VIGIL_TESTS_SUPPORT_IOURING_RAW_H_
#define VIGIL_TESTS_SUPPORT_IOURING_RAW_H_

#include <fcntl.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

struct vg_iou {
  int fd;
  int sqpoll; /* IORING_SETUP_SQPOLL: the kernel's thread submits, no syscall per request */
  unsigned *sq_tail, *sq_mask, *sq_array, *sq_flags;
  unsigned *cq_head, *cq_tail, *cq_mask;
  struct io_uring_sqe *sqes;
  struct io_uring_cqe *cqes;
};

/* Sets up a ring of 4 entries with io_uring_setup's `flags`; returns 0, or -1. */
static inline int vg_iou_init_flags(struct vg_iou *r, unsigned flags) {
  struct io_uring_params p;
  memset(&p, 0, sizeof(p));
  memset(r, 0, sizeof(*r));
  p.flags = flags;
  p.sq_thread_idle = 2000; /* ms */
  r->sqpoll = !!(flags & IORING_SETUP_SQPOLL);
  r->fd = (int)syscall(__NR_io_uring_setup, 4, &p);
  if (r->fd < 0) return -1;
  size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  char *sq = (char *)mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
                          IORING_OFF_SQ_RING);
  char *cq = (char *)mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
                          IORING_OFF_CQ_RING);
  void *sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
  if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) return -1;
  r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
  r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
  r->sq_array = (unsigned *)(sq + p.sq_off.array);
  r->sq_flags = (unsigned *)(sq + p.sq_off.flags);
  r->cq_head = (unsigned *)(cq + p.cq_off.head);
  r->cq_tail = (unsigned *)(cq + p.cq_off.tail);
  r->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
  r->sqes = (struct io_uring_sqe *)sqes;
  r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
  return 0;
}

static inline int vg_iou_init(struct vg_iou *r) { return vg_iou_init_flags(r, 0); }

/* A cleared SQE for the next request. */
static inline struct io_uring_sqe *vg_iou_sqe(struct vg_iou *r) {
  unsigned tail = *r->sq_tail;
  unsigned idx = tail & *r->sq_mask;
  struct io_uring_sqe *sqe = &r->sqes[idx];
  memset(sqe, 0, sizeof(*sqe));
  r->sq_array[idx] = idx;
  return sqe;
}

/* A cleared SQE for the next request with the fields every operation here
 * sets: the opcode, its file descriptor, its address and its length. */
static inline struct io_uring_sqe *vg_iou_prep(struct vg_iou *r, uint8_t opcode, int fd, const void *addr,
                                               uint32_t len) {
  struct io_uring_sqe *sqe = vg_iou_sqe(r);
  sqe->opcode = opcode;
  sqe->fd = fd;
  sqe->addr = (uint64_t)(uintptr_t)addr;
  sqe->len = len;
  return sqe;
}

/* Submits the prepared SQE and waits for its completion: the CQE's res. */
static inline int vg_iou_run(struct vg_iou *r) {
  __atomic_store_n(r->sq_tail, *r->sq_tail + 1, __ATOMIC_RELEASE);
  if (!r->sqpoll) {
    if (syscall(__NR_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0) return -1000;
  } else {
    /* The kernel's SQ thread picks the request up; it needs a wake-up only
     * once it went idle. The completion is polled: no syscall at all. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(r->sq_flags, __ATOMIC_ACQUIRE) & IORING_SQ_NEED_WAKEUP)
      syscall(__NR_io_uring_enter, r->fd, 0, 0, IORING_ENTER_SQ_WAKEUP, NULL, 0);
  }
  unsigned head = *r->cq_head;
  for (long spins = 0; head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE); ++spins)
    if (spins > 2000000000L) return -1001; /* no completion */
  int res = r->cqes[head & *r->cq_mask].res;
  __atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
  return res;
}

static inline int vg_iou_openat(struct vg_iou *r, int dfd, const char *path, int flags, mode_t mode) {
  vg_iou_prep(r, IORING_OP_OPENAT, dfd, path, mode)->open_flags = (uint32_t)flags;
  return vg_iou_run(r);
}

static inline int vg_iou_write(struct vg_iou *r, int fd, const void *buf, unsigned len) {
  vg_iou_prep(r, IORING_OP_WRITE, fd, buf, len)->off = 0;
  return vg_iou_run(r);
}

static inline int vg_iou_renameat(struct vg_iou *r, int olddfd, const char *oldpath, int newdfd, const char *newpath) {
  vg_iou_prep(r, IORING_OP_RENAMEAT, olddfd, oldpath, (uint32_t)newdfd)->addr2 = (uint64_t)(uintptr_t)newpath;
  return vg_iou_run(r);
}

static inline int vg_iou_unlinkat(struct vg_iou *r, int dfd, const char *path, int flags) {
  vg_iou_prep(r, IORING_OP_UNLINKAT, dfd, path, 0)->unlink_flags = (uint32_t)flags;
  return vg_iou_run(r);
}

static inline int vg_iou_mkdirat(struct vg_iou *r, int dfd, const char *path, mode_t mode) {
  vg_iou_prep(r, IORING_OP_MKDIRAT, dfd, path, mode);
  return vg_iou_run(r);
}

static inline int vg_iou_linkat(struct vg_iou *r, int olddfd, const char *oldpath, int newdfd, const char *newpath) {
  vg_iou_prep(r, IORING_OP_LINKAT, olddfd, oldpath, (uint32_t)newdfd)->addr2 = (uint64_t)(uintptr_t)newpath;
  return vg_iou_run(r);
}

/* The address must stay valid until the request completes (it does: the
 * request is waited for). */
static inline int vg_iou_connect(struct vg_iou *r, int sockfd, const struct sockaddr *addr, socklen_t len) {
  vg_iou_prep(r, IORING_OP_CONNECT, sockfd, addr, 0)->off = len; /* addr2: the address length */
  return vg_iou_run(r);
}

#endif /* VIGIL_TESTS_SUPPORT_IOURING_RAW_H_ */

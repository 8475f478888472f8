/* The fast path of the in-kernel path filters, shared by the kernel side
 * (bpf/vigil.bpf.c, "watched directories") and its writer (BpfSensor).
 *
 * Most opens on a host are of files no path pattern can name. Two bloom
 * filters prove that cheaply, before any path is built:
 *  - the caller's string: the bits of the first vg_str_prefix_len bytes of
 *    every pattern (the shortest pattern's length, at most 8), so a string
 *    whose first bytes are no pattern's is decided without the trie;
 *  - the opened file: the bits of every watched directory (by the address
 *    of its dentry, pinned by an O_PATH descriptor the sensor keeps open)
 *    and of every file an exact pattern names (by super block and inode),
 *    so a file none of whose ancestors is watched, and which is no exact
 *    pattern's file or hard link, cannot match any pattern's path.
 * A bit set is only "maybe": the slow path (the caller's string in the trie,
 * the inode table, the resolved path) then decides as without the blooms.
 * Plain C, fixed-width types only. */
#ifndef VIGIL_BPF_PATH_WATCH_H
#define VIGIL_BPF_PATH_WATCH_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define VG_WATCH_BLOOM_WORDS 128 /* 8192 bits */
#define VG_WATCH_MAX_FDS 128     /* watched directories and exact files */
#define VG_STR_BLOOM_WORDS 64    /* 4096 bits */
#define VG_STR_PREFIX_MAX 8

enum vg_watch_kind {
  VG_WATCH_DIR = 1,  /* a directory: by its dentry */
  VG_WATCH_FILE = 2, /* a file an exact pattern names: by super block and inode */
};

static inline __u32 vg_watch_bit(__u64 a, __u64 b) {
  return (__u32)(((a ^ (b * 0x9E3779B97F4A7C15ULL)) * 0xFF51AFD7ED558CCDULL) >> (64 - 13));
}

/* `first`: the string's first vg_str_prefix_len bytes, little-endian, the
 * rest zero. */
static inline __u32 vg_str_bit(__u64 first) { return (__u32)((first * 0x9E3779B97F4A7C15ULL) >> (64 - 12)); }

#endif

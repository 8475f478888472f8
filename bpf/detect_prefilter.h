/* The in-kernel prefilter of detection inputs (security_file_open), shared
 * by the kernel side and its one writer (BpfSensor::WritePolicyTables). The
 * tables come from rules::FileOpenPrefilter: an open passes when one
 * alternative holds — any file, a name of the file (basename exact, prefix
 * or suffix; the parent directory's name) or a path prefix — each with the
 * access modes and flags it needs. Plain C, fixed-width types only. */
#ifndef VIGIL_BPF_DETECT_PREFILTER_H
#define VIGIL_BPF_DETECT_PREFILTER_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define VG_DETECT_NAME_MAX 60      /* rules::FileOpenPrefilter::kMaxName */
#define VG_DETECT_AFFIX_LENS 8     /* ::kMaxAffixLengths */
#define VG_DETECT_PREFIX_MAX 128   /* ::kMaxPrefix + 1 */
#define VG_DETECT_PREFIX_COMPS 4   /* ::kPrefixComponents */

#define VG_DETECT_BLOOM_WORDS 16   /* 1024 bits */

enum vg_detect_name_kind {
  VG_DETECT_BASENAME = 1,
  VG_DETECT_BASENAME_PREFIX = 2,
  VG_DETECT_BASENAME_SUFFIX = 3,
  VG_DETECT_PARENT = 4,
};

/* Access mode (flags & 3) among `modes` (bit 1 << mode) and every bit of
 * `flags` set in the open's flags. modes 0: no such alternative. */
struct vg_detect_need {
  __u32 modes;
  __u32 pad;
  __u64 flags;
};

/* vg_detect_names (hash): a name of a kind, zero-padded. */
struct vg_detect_name_key {
  __u8 kind;
  __u8 len;
  __u8 pad[2];
  char name[VG_DETECT_NAME_MAX];
};

/* vg_detect_prefixes (LPM trie): the path's first VG_DETECT_PREFIX_COMPS
 * components ("/a/b/c/d", plus "/" when more follow). */
struct vg_detect_prefix_key {
  __u32 prefixlen; /* in bits */
  char path[VG_DETECT_PREFIX_MAX];
};

/* vg_detect_cfg (array, one entry). detect_only == 0 turns the prefilter
 * off: every open is built and sent. Each kind of entry carries the union
 * of its entries' needs, so that lookups no entry could satisfy are skipped. */
struct vg_detect_open_cfg {
  __u64 detect_only;                  /* policies that take security_file_open only for their detections */
  struct vg_detect_need any;          /* alternatives with no name */
  struct vg_detect_need prefix_any;   /* the union of the path prefixes' needs (modes 0: none) */
  struct vg_detect_need basename_any; /* ... of the VG_DETECT_BASENAME names */
  struct vg_detect_need parent_any;   /* ... of the VG_DETECT_PARENT names */
  __u8 prefix_lens[VG_DETECT_AFFIX_LENS]; /* lengths of VG_DETECT_BASENAME_PREFIX names (0: end) */
  __u8 suffix_lens[VG_DETECT_AFFIX_LENS]; /* ... of VG_DETECT_BASENAME_SUFFIX names */
  struct vg_detect_need prefix_len_any[VG_DETECT_AFFIX_LENS]; /* the union of the needs of each length */
  struct vg_detect_need suffix_len_any[VG_DETECT_AFFIX_LENS];
  /* A bit per name entry (vg_detect_bloom_bit): a lookup is made only when
   * the candidate's bit is set. */
  __u64 bloom[VG_DETECT_BLOOM_WORDS];
};

/* The bloom bit of a name entry of `kind` and length `len` whose first and
 * last bytes are `first` and `last` (for a file name: of the part compared). */
static inline __u32 vg_detect_bloom_bit(__u32 kind, __u32 len, __u8 first, __u8 last) {
  return (kind * 7u + len * 131u + (__u32)first * 17u + (__u32)last) & (VG_DETECT_BLOOM_WORDS * 64 - 1);
}

#endif

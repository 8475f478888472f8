#!/usr/bin/env python3
"""Generate events/src/syscalls_x86_64.inc (and bpf/syscall_nrs.h) from the kernel's syscall tracepoints.

Argument names and types come from tracefs
(<tracefs>/events/syscalls/sys_enter_*/format); syscall numbers come from the
uapi header asm/unistd_64.h plus SUPPLEMENT below for syscalls newer than that
header. The output is committed so that builds never read tracefs.
bpf/syscall_nrs.h holds the same numbers as VG_NR_<name> constants for the
BPF side (and any C or C++ that wants them), so that no syscall number is
written by hand there.

bpf/syscall_nrs.h also holds the ia32 ABI (int $0x80, sysenter, syscall from
32-bit code, which x86-64 processes can call too): VG_IA32_NR_<name>
constants from asm/unistd_32.h, and vg_ia32_to_x64[], the x86-64 syscall with
the same arguments for each ia32 number (-1 where there is none), so that the
sensor reports a compat syscall under the event of its x86-64 twin.

Usage (as root, so tracefs is readable):
    tools/gen_syscall_table.py            # rewrite events/src/syscalls_x86_64.inc
    tools/gen_syscall_table.py --check    # exit 1 and print a diff if it is stale

Only the Python standard library is used.
"""

import argparse
import difflib
import os
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path

DEFAULT_TRACEFS = "/sys/kernel/tracing"
DEFAULT_UNISTD = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"
DEFAULT_UNISTD32 = "/usr/include/x86_64-linux-gnu/asm/unistd_32.h"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_ROOT / "events" / "src" / "syscalls_x86_64.inc"
DEFAULT_NR_OUTPUT = REPO_ROOT / "bpf" / "syscall_nrs.h"

# Numbers >= this are the x32 ABI (__X32_SYSCALL_BIT = 0x40000000 is added on
# top; 512..547 are the x32-only compat entries). Not x86-64 syscalls.
X32_FIRST = 512

MAX_ARGS = 6

# x86-64 syscall numbers newer than the installed uapi header (Linux 6.1 has
# up to 450). From arch/x86/entry/syscalls/syscall_64.tbl. Where the header
# also defines a name, the header wins (and a mismatch is reported).
SUPPLEMENT = {
    "uretprobe": 335,  # 6.11
    "uprobe": 336,  # 6.16
    "cachestat": 451,
    "fchmodat2": 452,
    "map_shadow_stack": 453,
    "futex_wake": 454,
    "futex_wait": 455,
    "futex_requeue": 456,
    "statmount": 457,
    "listmount": 458,
    "lsm_get_self_attr": 459,
    "lsm_set_self_attr": 460,
    "lsm_list_modules": 461,
    "mseal": 462,
    "setxattrat": 463,
    "getxattrat": 464,
    "listxattrat": 465,
    "removexattrat": 466,
    "open_tree_attr": 467,
    "file_getattr": 468,
    "file_setattr": 469,
}

# ia32 syscall numbers newer than the installed uapi header (arch/x86/entry/
# syscalls/syscall_32.tbl). From 424 on, numbers are the same on every
# architecture, so these are SUPPLEMENT's shared entries.
SUPPLEMENT32 = {n: nr for n, nr in SUPPLEMENT.items() if nr >= 424}

# ia32 name -> x86-64 name where the ia32 syscall takes the same arguments as
# an x86-64 syscall of another name: 32-bit uid variants, 64-bit time
# variants, and the ia32 names of the calls x86-64 has under the plain name.
IA32_ALIASES = {
    "_newselect": "select",
    "ugetrlimit": "getrlimit",
    "fcntl64": "fcntl",
    "sendfile64": "sendfile",
    "fstatat64": "newfstatat",
    # mmap's offset in pages instead of bytes: the same registers otherwise.
    "mmap2": "mmap",
}
for _n in ("lchown", "getuid", "getgid", "geteuid", "getegid", "setreuid", "setregid",
           "getgroups", "setgroups", "fchown", "setresuid", "getresuid", "setresgid",
           "getresgid", "chown", "setuid", "setgid", "setfsuid", "setfsgid"):
    IA32_ALIASES[_n + "32"] = _n
for _n in ("clock_gettime", "clock_settime", "clock_adjtime", "timer_gettime",
           "timer_settime", "timerfd_gettime", "timerfd_settime"):
    IA32_ALIASES[_n + "64"] = _n

# ia32 syscalls named like an x86-64 one whose arguments differ: not mapped
# (reported as unsupported compat syscalls rather than with wrong arguments).
IA32_DIFFERENT = {
    "mmap",  # old_mmap: one pointer to a struct of the six arguments
    "select",  # old_select: one pointer to a struct
    "clone",  # flags, newsp, parent_tid, tls, child_tid (tls before child_tid)
    # 64-bit offsets split over two registers:
    "pread64", "pwrite64", "readahead", "fadvise64", "fallocate",
    "sync_file_range", "preadv", "pwritev", "preadv2", "pwritev2",
}

# Tracepoint name (sys_enter_<name>, i.e. the SYSCALL_DEFINE name) -> x86-64
# syscall name where the two differ.
TRACEPOINT_ALIASES = {
    "newstat": "stat",  # 4
    "newfstat": "fstat",  # 5
    "newlstat": "lstat",  # 6
    "sendfile64": "sendfile",  # 40
    "newuname": "uname",  # 63
    "umount": "umount2",  # 166: SYSCALL_DEFINE2(umount, name, flags)
    # pread64, pwrite64, newfstatat, fadvise64, prlimit64 are already the
    # x86-64 names.
}

_IDENT_AT_END = re.compile(r"^(?P<type>.*?)\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)$")
_FIELD = re.compile(r"^\s*field:(?P<decl>[^;]*);")
_NR_DEFINE = re.compile(r"^\s*#\s*define\s+__NR_(?P<name>\w+)\s+(?P<nr>\d+)\b")


def warn(msg):
    print(f"gen_syscall_table: {msg}", file=sys.stderr)


def normalise_type(t):
    """'const char *const *' -> 'const char*const*' (no blanks around '*')."""
    t = re.sub(r"\s*\*\s*", "*", t.strip())
    return re.sub(r"\s+", " ", t)


def parse_format(path):
    """Return [(type, name), ...] for the argument fields of a sys_enter format."""
    args = []
    seen_nr = False
    for line in Path(path).read_text().splitlines():
        m = _FIELD.match(line)
        if not m:
            continue
        decl = m.group("decl").strip()
        fm = _IDENT_AT_END.match(decl)
        if not fm or not fm.group("type"):
            raise ValueError(f"{path}: cannot split field declaration {decl!r}")
        ftype, fname = fm.group("type"), fm.group("name")
        if not seen_nr:
            if fname == "__syscall_nr":
                seen_nr = True
            continue
        args.append((normalise_type(ftype), fname))
    if not seen_nr:
        raise ValueError(f"{path}: no __syscall_nr field")
    if len(args) > MAX_ARGS:
        raise ValueError(f"{path}: {len(args)} arguments (> {MAX_ARGS})")
    return args


def ensure_tracefs(tracefs):
    events = Path(tracefs) / "events"
    if events.is_dir():
        return
    if os.path.normpath(tracefs) != DEFAULT_TRACEFS:
        sys.exit(f"gen_syscall_table: {events} does not exist")
    warn(f"{events} missing; mounting: mount -t tracefs nodev {tracefs}")
    try:
        subprocess.run(["mount", "-t", "tracefs", "nodev", tracefs], check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit(f"gen_syscall_table: mounting tracefs failed: {e}")
    if not events.is_dir():
        sys.exit(f"gen_syscall_table: {events} still missing after mount")


def read_tracepoints(tracefs):
    """{tracepoint syscall name: [(type, name), ...]} from sys_enter_* formats."""
    base = Path(tracefs) / "events" / "syscalls"
    out = {}
    for d in sorted(base.glob("sys_enter_*")):
        fmt = d / "format"
        if fmt.is_file():
            out[d.name[len("sys_enter_"):]] = parse_format(fmt)
    if not out:
        sys.exit(f"gen_syscall_table: no sys_enter_* tracepoints under {base}")
    return out


def read_defines(unistd):
    """{syscall name: number} from a unistd header's __NR_ defines."""
    numbers = {}
    for line in Path(unistd).read_text().splitlines():
        m = _NR_DEFINE.match(line)
        if m:
            numbers[m.group("name")] = int(m.group("nr"))
    if not numbers:
        sys.exit(f"gen_syscall_table: no __NR_ defines in {unistd}")
    return numbers


def read_numbers(unistd):
    """{x86-64 syscall name: number} from the header plus SUPPLEMENT."""
    numbers = read_defines(unistd)
    by_nr = {nr: name for name, nr in numbers.items()}
    for name, nr in SUPPLEMENT.items():
        if name in numbers:
            if numbers[name] != nr:
                warn(f"supplement says {name}={nr} but {unistd} says "
                     f"{numbers[name]}; using the header")
            continue
        if nr in by_nr:
            warn(f"supplement {name}={nr} collides with {by_nr[nr]} in "
                 f"{unistd}; dropping the supplement entry")
            continue
        numbers[name] = nr
        by_nr[nr] = name
    return {n: nr for n, nr in numbers.items() if nr < X32_FIRST}


def read_numbers32(unistd32):
    """{ia32 syscall name: number} from the header plus SUPPLEMENT32."""
    numbers = read_defines(unistd32)
    by_nr = {nr: name for name, nr in numbers.items()}
    for name, nr in SUPPLEMENT32.items():
        if name not in numbers and nr not in by_nr:
            numbers[name] = nr
            by_nr[nr] = name
    return numbers


def ia32_to_x64(numbers32, rows):
    """{ia32 nr: x86-64 nr} for the ia32 syscalls with an x86-64 twin."""
    x64 = {rows[nr][0]: nr for nr in rows}
    out = {}
    for name, nr in numbers32.items():
        if name in IA32_DIFFERENT:
            continue
        twin = IA32_ALIASES.get(name, name)
        if twin in x64:
            out[nr] = x64[twin]
    return out


def build_rows(tracepoints, numbers):
    rows = {}  # nr -> (name, has_tracepoint, args)
    for tp, args in tracepoints.items():
        name = TRACEPOINT_ALIASES.get(tp, tp)
        nr = numbers.get(name)
        if nr is None:
            warn(f"tracepoint sys_enter_{tp} maps to no x86-64 syscall number; skipped")
            continue
        if nr in rows:
            sys.exit(f"gen_syscall_table: tracepoints sys_enter_{tp} and "
                     f"{rows[nr][0]} both map to {nr}")
        rows[nr] = (name, True, args)
    for name, nr in numbers.items():
        if nr not in rows:
            rows[nr] = (name, False, [])
    missing = sorted((nr, rows[nr][0]) for nr in rows if not rows[nr][1])
    if missing:
        warn("x86-64 syscalls without a sys_enter tracepoint: "
             + ", ".join(f"{name}({nr})" for nr, name in missing))
    return rows


def render(rows, kernel):
    lines = [
        "// GENERATED FILE - DO NOT EDIT BY HAND.",
        "// Generated by tools/gen_syscall_table.py from the syscall tracepoint",
        f"// formats of Linux {kernel} (x86-64). Re-run that script to update it.",
        "//",
        "// One row per x86-64 syscall, sorted by number. Argument names are the",
        "// kernel's; has_tracepoint=false rows have no sys_enter_* tracepoint",
        "// on that kernel and an empty argument list.",
        "// struct SyscallRow { int nr; const char* name; bool has_tracepoint;"
        " int argc; SyscallArgRow args[6]; };",
        "// struct SyscallArgRow { const char* type; const char* name; };",
    ]
    for nr in sorted(rows):
        name, has_tp, args = rows[nr]
        arglist = ", ".join(f'{{"{t}", "{n}"}}' for t, n in args)
        lines.append(f'{{{nr}, "{name}", {"true" if has_tp else "false"}, '
                     f"{len(args)}, {{{arglist}}}}},")
    return "\n".join(lines) + "\n"


TWINS_PER_ROW = 10


def render_numbers(rows, kernel, numbers32=None, to_x64=None):
    lines = [
        "/* GENERATED FILE - DO NOT EDIT BY HAND.",
        " * Generated by tools/gen_syscall_table.py (Linux " + kernel + ", x86-64),",
        " * beside events/src/syscalls_x86_64.inc: the x86-64 syscall numbers for",
        " * the BPF side, so that none is written there by hand. Plain C. */",
        "#ifndef VIGIL_BPF_SYSCALL_NRS_H",
        "#define VIGIL_BPF_SYSCALL_NRS_H",
        "",
    ]
    for nr in sorted(rows):
        lines.append(f"#define VG_NR_{rows[nr][0]} {nr}")
    if numbers32:
        by_nr = sorted((nr, name) for name, nr in numbers32.items())
        size = by_nr[-1][0] + 1
        renamed = [f"{name} -> {rows[to_x64[nr]][0]}" for nr, name in by_nr
                   if nr in to_x64 and rows[to_x64[nr]][0] != name]
        lines += ["", "/* The ia32 ABI (asm/unistd_32.h): numbers, and the x86-64 syscall taking",
                  " * the same arguments (-1: none, or different arguments), by ia32 number",
                  f" * in rows of {TWINS_PER_ROW} (the comment: the row's first number). Twins of another name:"]
        text = " *"
        for i, pair in enumerate(renamed):
            item = " " + pair + ("," if i + 1 < len(renamed) else ". */")
            if len(text) + len(item) > 100:
                lines.append(text)
                text = " *"
            text += item
        lines.append(text)
        lines += [f"#define VG_IA32_NR_{name} {nr}" for nr, name in by_nr]
        lines += ["", f"#define VG_IA32_NR_COUNT {size}",
                  "static const short vg_ia32_to_x64[VG_IA32_NR_COUNT] = {"]
        table = [[f"{to_x64.get(nr, -1)}," for nr in range(first, min(first + TWINS_PER_ROW, size))]
                 for first in range(0, size, TWINS_PER_ROW)]
        # In columns, as clang-format lays them out.
        widths = [max(len(row[c]) for row in table if c < len(row)) for c in range(TWINS_PER_ROW)]
        for first, row in zip(range(0, size, TWINS_PER_ROW), table):
            cells = [cell.ljust(widths[c]) for c, cell in enumerate(row)]
            lines.append(f"    /* {first:3} */ " + " ".join(cells).rstrip())
        lines.append("};")
    lines += ["", "#endif /* VIGIL_BPF_SYSCALL_NRS_H */"]
    return "\n".join(lines) + "\n"


def check(out, text, summary):
    """0 if `out` holds `text`, else 1 with a diff."""
    old = out.read_text() if out.exists() else ""
    if old != text:
        sys.stdout.writelines(difflib.unified_diff(
            old.splitlines(keepends=True), text.splitlines(keepends=True),
            fromfile=str(out), tofile=f"{out} (regenerated)"))
        warn(f"{out} is stale: {summary}")
        return 1
    warn(f"{out} is up to date: {summary}")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracefs", default=DEFAULT_TRACEFS,
                    help=f"tracefs mount point (default {DEFAULT_TRACEFS})")
    ap.add_argument("--unistd", default=DEFAULT_UNISTD,
                    help=f"x86-64 unistd header (default {DEFAULT_UNISTD})")
    ap.add_argument("--unistd32", default=DEFAULT_UNISTD32,
                    help=f"ia32 unistd header (default {DEFAULT_UNISTD32})")
    ap.add_argument("-o", "--output", default=str(DEFAULT_OUTPUT),
                    help="output file (default events/src/syscalls_x86_64.inc "
                         "in the repository)")
    ap.add_argument("--nr-output", default=str(DEFAULT_NR_OUTPUT),
                    help="syscall number header (default bpf/syscall_nrs.h "
                         "in the repository)")
    ap.add_argument("--check", action="store_true",
                    help="regenerate to a temporary file; exit 1 with a diff "
                         "if the output file differs")
    opts = ap.parse_args()

    ensure_tracefs(opts.tracefs)
    tracepoints = read_tracepoints(opts.tracefs)
    numbers = read_numbers(opts.unistd)
    rows = build_rows(tracepoints, numbers)
    numbers32 = read_numbers32(opts.unistd32)
    to_x64 = ia32_to_x64(numbers32, rows)
    text = render(rows, platform.release())
    missing = sum(1 for r in rows.values() if not r[1])
    summary = (f"{len(rows)} syscalls, {missing} without tracepoint, "
               f"{len(to_x64)} of {len(numbers32)} ia32 syscalls mapped "
               f"(kernel {platform.release()})")

    outputs = [(Path(opts.output), text),
               (Path(opts.nr_output),
                render_numbers(rows, platform.release(), numbers32, to_x64))]
    if opts.check:
        return max(check(out, t, summary) for out, t in outputs)

    for out, t in outputs:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(t)
        warn(f"wrote {out}: {summary}")
    return 0

if __name__ == "__main__":
    sys.exit(main())

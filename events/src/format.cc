#include "vigil/events/format.h"

#include "vigil/caps/process_caps.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstddef>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "vigil/caps/cap_set.h"
#include "vigil/events/registry.h"

namespace vigil::events {
namespace {

struct FlagName {
  uint64_t bit;
  const char* name;
};

std::string JoinFlags(uint64_t value, std::span<const FlagName> names, std::string base) {
  std::string out = std::move(base);
  for (const FlagName& f : names) {
    if ((value & f.bit) == f.bit && f.bit != 0) {
      if (!out.empty()) out += '|';
      out += f.name;
      value &= ~f.bit;
    }
  }
  if (value != 0) {
    if (!out.empty()) out += '|';
    absl::StrAppend(&out, absl::StrFormat("0x%x", value));
  }
  return out;
}

constexpr FlagName kOpenFlags[] = {
    {O_CREAT, "O_CREAT"},     {O_EXCL, "O_EXCL"},         {O_NOCTTY, "O_NOCTTY"},
    {O_TRUNC, "O_TRUNC"},     {O_APPEND, "O_APPEND"},     {O_NONBLOCK, "O_NONBLOCK"},
    {O_DSYNC, "O_DSYNC"},     {O_ASYNC, "O_ASYNC"},       {O_DIRECT, "O_DIRECT"},
    {0100000, "O_LARGEFILE"}  /* the kernel's value; glibc defines O_LARGEFILE as 0 on x86-64 */, {O_DIRECTORY, "O_DIRECTORY"}, {O_NOFOLLOW, "O_NOFOLLOW"},
    {O_NOATIME, "O_NOATIME"}, {O_CLOEXEC, "O_CLOEXEC"},   {(O_SYNC & ~O_DSYNC), "O_SYNC"},
    {O_PATH, "O_PATH"},       {__O_TMPFILE, "O_TMPFILE"},
};

constexpr FlagName kProt[] = {{PROT_READ, "PROT_READ"},
                              {PROT_WRITE, "PROT_WRITE"},
                              {PROT_EXEC, "PROT_EXEC"},
                              {PROT_GROWSDOWN, "PROT_GROWSDOWN"},
                              {PROT_GROWSUP, "PROT_GROWSUP"}};

// mmap flags beside the mapping type (the low 4 bits), x86-64 values.
constexpr FlagName kMmap[] = {{0x10, "MAP_FIXED"},          {0x20, "MAP_ANONYMOUS"},
                              {0x100, "MAP_GROWSDOWN"},     {0x800, "MAP_DENYWRITE"},
                              {0x1000, "MAP_EXECUTABLE"},   {0x2000, "MAP_LOCKED"},
                              {0x4000, "MAP_NORESERVE"},    {0x8000, "MAP_POPULATE"},
                              {0x10000, "MAP_NONBLOCK"},    {0x20000, "MAP_STACK"},
                              {0x40000, "MAP_HUGETLB"},     {0x80000, "MAP_SYNC"},
                              {0x100000, "MAP_FIXED_NOREPLACE"}, {0x4000000, "MAP_UNINITIALIZED"}};

constexpr FlagName kClone[] = {
    {CLONE_VM, "CLONE_VM"},          {CLONE_FS, "CLONE_FS"},
    {CLONE_FILES, "CLONE_FILES"},    {CLONE_SIGHAND, "CLONE_SIGHAND"},
    {CLONE_PIDFD, "CLONE_PIDFD"},    {CLONE_PTRACE, "CLONE_PTRACE"},
    {CLONE_VFORK, "CLONE_VFORK"},    {CLONE_PARENT, "CLONE_PARENT"},
    {CLONE_THREAD, "CLONE_THREAD"},  {CLONE_NEWNS, "CLONE_NEWNS"},
    {CLONE_SYSVSEM, "CLONE_SYSVSEM"}, {CLONE_SETTLS, "CLONE_SETTLS"},
    {CLONE_PARENT_SETTID, "CLONE_PARENT_SETTID"}, {CLONE_CHILD_CLEARTID, "CLONE_CHILD_CLEARTID"},
    {CLONE_DETACHED, "CLONE_DETACHED"}, {CLONE_UNTRACED, "CLONE_UNTRACED"},
    {CLONE_CHILD_SETTID, "CLONE_CHILD_SETTID"}, {CLONE_NEWCGROUP, "CLONE_NEWCGROUP"},
    {CLONE_NEWUTS, "CLONE_NEWUTS"},  {CLONE_NEWIPC, "CLONE_NEWIPC"},
    {CLONE_NEWUSER, "CLONE_NEWUSER"}, {CLONE_NEWPID, "CLONE_NEWPID"},
    {CLONE_NEWNET, "CLONE_NEWNET"},  {CLONE_IO, "CLONE_IO"},
};

constexpr FlagName kAccess[] = {{R_OK, "R_OK"}, {W_OK, "W_OK"}, {X_OK, "X_OK"}};

// Numbered names of the kernel's ABI (values fixed by the UAPI headers; listed
// here rather than taken from the build host's headers, which may predate the
// running kernel).
struct NumberName {
  int64_t value;
  const char* name;
};

const char* FindName(std::span<const NumberName> names, int64_t value) {
  for (const NumberName& n : names)
    if (n.value == value) return n.name;
  return nullptr;
}

std::string NameOrNumber(std::span<const NumberName> names, int64_t value) {
  const char* name = FindName(names, value);
  return name ? std::string(name) : absl::StrCat(value);
}

constexpr NumberName kTcpStates[] = {
    {1, "TCP_ESTABLISHED"},     {2, "TCP_SYN_SENT"},  {3, "TCP_SYN_RECV"}, {4, "TCP_FIN_WAIT1"},
    {5, "TCP_FIN_WAIT2"},       {6, "TCP_TIME_WAIT"}, {7, "TCP_CLOSE"},    {8, "TCP_CLOSE_WAIT"},
    {9, "TCP_LAST_ACK"},        {10, "TCP_LISTEN"},   {11, "TCP_CLOSING"}, {12, "TCP_NEW_SYN_RECV"},
    {13, "TCP_BOUND_INACTIVE"},
};

constexpr NumberName kDomains[] = {
    {0, "AF_UNSPEC"},    {1, "AF_UNIX"},        {2, "AF_INET"},     {3, "AF_AX25"},     {4, "AF_IPX"},
    {5, "AF_APPLETALK"}, {6, "AF_NETROM"},      {7, "AF_BRIDGE"},   {8, "AF_ATMPVC"},   {9, "AF_X25"},
    {10, "AF_INET6"},    {11, "AF_ROSE"},       {12, "AF_DECnet"},  {13, "AF_NETBEUI"}, {14, "AF_SECURITY"},
    {15, "AF_KEY"},      {16, "AF_NETLINK"},    {17, "AF_PACKET"},  {18, "AF_ASH"},     {19, "AF_ECONET"},
    {20, "AF_ATMSVC"},   {21, "AF_RDS"},        {22, "AF_SNA"},     {23, "AF_IRDA"},    {24, "AF_PPPOX"},
    {25, "AF_WANPIPE"},  {26, "AF_LLC"},        {27, "AF_IB"},      {28, "AF_MPLS"},    {29, "AF_CAN"},
    {30, "AF_TIPC"},     {31, "AF_BLUETOOTH"},  {32, "AF_IUCV"},    {33, "AF_RXRPC"},   {34, "AF_ISDN"},
    {35, "AF_PHONET"},   {36, "AF_IEEE802154"}, {37, "AF_CAIF"},    {38, "AF_ALG"},     {39, "AF_NFC"},
    {40, "AF_VSOCK"},    {41, "AF_KCM"},        {42, "AF_QIPCRTR"}, {43, "AF_SMC"},     {44, "AF_XDP"},
    {45, "AF_MCTP"},
};

constexpr NumberName kSocketTypes[] = {{1, "SOCK_STREAM"}, {2, "SOCK_DGRAM"},     {3, "SOCK_RAW"},
                                       {4, "SOCK_RDM"},    {5, "SOCK_SEQPACKET"}, {6, "SOCK_DCCP"},
                                       {10, "SOCK_PACKET"}};

constexpr NumberName kPtraceRequests[] = {
    {0, "PTRACE_TRACEME"},
    {1, "PTRACE_PEEKTEXT"},
    {2, "PTRACE_PEEKDATA"},
    {3, "PTRACE_PEEKUSR"},
    {4, "PTRACE_POKETEXT"},
    {5, "PTRACE_POKEDATA"},
    {6, "PTRACE_POKEUSR"},
    {7, "PTRACE_CONT"},
    {8, "PTRACE_KILL"},
    {9, "PTRACE_SINGLESTEP"},
    {12, "PTRACE_GETREGS"},
    {13, "PTRACE_SETREGS"},
    {14, "PTRACE_GETFPREGS"},
    {15, "PTRACE_SETFPREGS"},
    {16, "PTRACE_ATTACH"},
    {17, "PTRACE_DETACH"},
    {18, "PTRACE_GETFPXREGS"},
    {19, "PTRACE_SETFPXREGS"},
    {24, "PTRACE_SYSCALL"},
    {25, "PTRACE_GET_THREAD_AREA"},
    {26, "PTRACE_SET_THREAD_AREA"},
    {30, "PTRACE_ARCH_PRCTL"},
    {31, "PTRACE_SYSEMU"},
    {32, "PTRACE_SYSEMU_SINGLESTEP"},
    {33, "PTRACE_SINGLEBLOCK"},
    {0x4200, "PTRACE_SETOPTIONS"},
    {0x4201, "PTRACE_GETEVENTMSG"},
    {0x4202, "PTRACE_GETSIGINFO"},
    {0x4203, "PTRACE_SETSIGINFO"},
    {0x4204, "PTRACE_GETREGSET"},
    {0x4205, "PTRACE_SETREGSET"},
    {0x4206, "PTRACE_SEIZE"},
    {0x4207, "PTRACE_INTERRUPT"},
    {0x4208, "PTRACE_LISTEN"},
    {0x4209, "PTRACE_PEEKSIGINFO"},
    {0x420a, "PTRACE_GETSIGMASK"},
    {0x420b, "PTRACE_SETSIGMASK"},
    {0x420c, "PTRACE_SECCOMP_GET_FILTER"},
    {0x420d, "PTRACE_SECCOMP_GET_METADATA"},
    {0x420e, "PTRACE_GET_SYSCALL_INFO"},
    {0x420f, "PTRACE_GET_RSEQ_CONFIGURATION"},
    {0x4210, "PTRACE_SET_SYSCALL_USER_DISPATCH_CONFIG"},
    {0x4211, "PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG"},
    {0x4212, "PTRACE_SET_SYSCALL_INFO"},
};

constexpr NumberName kPrctlOptions[] = {
    {1, "PR_SET_PDEATHSIG"},
    {2, "PR_GET_PDEATHSIG"},
    {3, "PR_GET_DUMPABLE"},
    {4, "PR_SET_DUMPABLE"},
    {5, "PR_GET_UNALIGN"},
    {6, "PR_SET_UNALIGN"},
    {7, "PR_GET_KEEPCAPS"},
    {8, "PR_SET_KEEPCAPS"},
    {9, "PR_GET_FPEMU"},
    {10, "PR_SET_FPEMU"},
    {11, "PR_GET_FPEXC"},
    {12, "PR_SET_FPEXC"},
    {13, "PR_GET_TIMING"},
    {14, "PR_SET_TIMING"},
    {15, "PR_SET_NAME"},
    {16, "PR_GET_NAME"},
    {19, "PR_GET_ENDIAN"},
    {20, "PR_SET_ENDIAN"},
    {21, "PR_GET_SECCOMP"},
    {22, "PR_SET_SECCOMP"},
    {23, "PR_CAPBSET_READ"},
    {24, "PR_CAPBSET_DROP"},
    {25, "PR_GET_TSC"},
    {26, "PR_SET_TSC"},
    {27, "PR_GET_SECUREBITS"},
    {28, "PR_SET_SECUREBITS"},
    {29, "PR_SET_TIMERSLACK"},
    {30, "PR_GET_TIMERSLACK"},
    {31, "PR_TASK_PERF_EVENTS_DISABLE"},
    {32, "PR_TASK_PERF_EVENTS_ENABLE"},
    {33, "PR_MCE_KILL"},
    {34, "PR_MCE_KILL_GET"},
    {35, "PR_SET_MM"},
    {36, "PR_SET_CHILD_SUBREAPER"},
    {37, "PR_GET_CHILD_SUBREAPER"},
    {38, "PR_SET_NO_NEW_PRIVS"},
    {39, "PR_GET_NO_NEW_PRIVS"},
    {40, "PR_GET_TID_ADDRESS"},
    {41, "PR_SET_THP_DISABLE"},
    {42, "PR_GET_THP_DISABLE"},
    {43, "PR_MPX_ENABLE_MANAGEMENT"},
    {44, "PR_MPX_DISABLE_MANAGEMENT"},
    {45, "PR_SET_FP_MODE"},
    {46, "PR_GET_FP_MODE"},
    {47, "PR_CAP_AMBIENT"},
    {50, "PR_SVE_SET_VL"},
    {51, "PR_SVE_GET_VL"},
    {52, "PR_GET_SPECULATION_CTRL"},
    {53, "PR_SET_SPECULATION_CTRL"},
    {54, "PR_PAC_RESET_KEYS"},
    {55, "PR_SET_TAGGED_ADDR_CTRL"},
    {56, "PR_GET_TAGGED_ADDR_CTRL"},
    {57, "PR_SET_IO_FLUSHER"},
    {58, "PR_GET_IO_FLUSHER"},
    {59, "PR_SET_SYSCALL_USER_DISPATCH"},
    {60, "PR_PAC_SET_ENABLED_KEYS"},
    {61, "PR_PAC_GET_ENABLED_KEYS"},
    {62, "PR_SCHED_CORE"},
    {63, "PR_SME_SET_VL"},
    {64, "PR_SME_GET_VL"},
    {65, "PR_SET_MDWE"},
    {66, "PR_GET_MDWE"},
    {67, "PR_SET_MEMORY_MERGE"},
    {68, "PR_GET_MEMORY_MERGE"},
    {69, "PR_RISCV_V_SET_CONTROL"},
    {70, "PR_RISCV_V_GET_CONTROL"},
    {71, "PR_RISCV_SET_ICACHE_FLUSH_CTX"},
    {72, "PR_PPC_GET_DEXCR"},
    {73, "PR_PPC_SET_DEXCR"},
    {74, "PR_GET_SHADOW_STACK_STATUS"},
    {75, "PR_SET_SHADOW_STACK_STATUS"},
    {76, "PR_LOCK_SHADOW_STACK_STATUS"},
    {77, "PR_TIMER_CREATE_RESTORE_IDS"},
    {0x53564d41, "PR_SET_VMA"},
    {0x59616d61, "PR_SET_PTRACER"},
};

constexpr NumberName kBpfProgTypes[] = {
    {0, "BPF_PROG_TYPE_UNSPEC"},         {1, "BPF_PROG_TYPE_SOCKET_FILTER"},
    {2, "BPF_PROG_TYPE_KPROBE"},         {3, "BPF_PROG_TYPE_SCHED_CLS"},
    {4, "BPF_PROG_TYPE_SCHED_ACT"},      {5, "BPF_PROG_TYPE_TRACEPOINT"},
    {6, "BPF_PROG_TYPE_XDP"},            {7, "BPF_PROG_TYPE_PERF_EVENT"},
    {8, "BPF_PROG_TYPE_CGROUP_SKB"},     {9, "BPF_PROG_TYPE_CGROUP_SOCK"},
    {10, "BPF_PROG_TYPE_LWT_IN"},        {11, "BPF_PROG_TYPE_LWT_OUT"},
    {12, "BPF_PROG_TYPE_LWT_XMIT"},      {13, "BPF_PROG_TYPE_SOCK_OPS"},
    {14, "BPF_PROG_TYPE_SK_SKB"},        {15, "BPF_PROG_TYPE_CGROUP_DEVICE"},
    {16, "BPF_PROG_TYPE_SK_MSG"},        {17, "BPF_PROG_TYPE_RAW_TRACEPOINT"},
    {18, "BPF_PROG_TYPE_CGROUP_SOCK_ADDR"}, {19, "BPF_PROG_TYPE_LWT_SEG6LOCAL"},
    {20, "BPF_PROG_TYPE_LIRC_MODE2"},    {21, "BPF_PROG_TYPE_SK_REUSEPORT"},
    {22, "BPF_PROG_TYPE_FLOW_DISSECTOR"}, {23, "BPF_PROG_TYPE_CGROUP_SYSCTL"},
    {24, "BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE"}, {25, "BPF_PROG_TYPE_CGROUP_SOCKOPT"},
    {26, "BPF_PROG_TYPE_TRACING"},       {27, "BPF_PROG_TYPE_STRUCT_OPS"},
    {28, "BPF_PROG_TYPE_EXT"},           {29, "BPF_PROG_TYPE_LSM"},
    {30, "BPF_PROG_TYPE_SK_LOOKUP"},     {31, "BPF_PROG_TYPE_SYSCALL"},
    {32, "BPF_PROG_TYPE_NETFILTER"},
};

constexpr NumberName kBpfCmds[] = {
    {0, "BPF_MAP_CREATE"},
    {1, "BPF_MAP_LOOKUP_ELEM"},
    {2, "BPF_MAP_UPDATE_ELEM"},
    {3, "BPF_MAP_DELETE_ELEM"},
    {4, "BPF_MAP_GET_NEXT_KEY"},
    {5, "BPF_PROG_LOAD"},
    {6, "BPF_OBJ_PIN"},
    {7, "BPF_OBJ_GET"},
    {8, "BPF_PROG_ATTACH"},
    {9, "BPF_PROG_DETACH"},
    {10, "BPF_PROG_TEST_RUN"},
    {11, "BPF_PROG_GET_NEXT_ID"},
    {12, "BPF_MAP_GET_NEXT_ID"},
    {13, "BPF_PROG_GET_FD_BY_ID"},
    {14, "BPF_MAP_GET_FD_BY_ID"},
    {15, "BPF_OBJ_GET_INFO_BY_FD"},
    {16, "BPF_PROG_QUERY"},
    {17, "BPF_RAW_TRACEPOINT_OPEN"},
    {18, "BPF_BTF_LOAD"},
    {19, "BPF_BTF_GET_FD_BY_ID"},
    {20, "BPF_TASK_FD_QUERY"},
    {21, "BPF_MAP_LOOKUP_AND_DELETE_ELEM"},
    {22, "BPF_MAP_FREEZE"},
    {23, "BPF_BTF_GET_NEXT_ID"},
    {24, "BPF_MAP_LOOKUP_BATCH"},
    {25, "BPF_MAP_LOOKUP_AND_DELETE_BATCH"},
    {26, "BPF_MAP_UPDATE_BATCH"},
    {27, "BPF_MAP_DELETE_BATCH"},
    {28, "BPF_LINK_CREATE"},
    {29, "BPF_LINK_UPDATE"},
    {30, "BPF_LINK_GET_FD_BY_ID"},
    {31, "BPF_LINK_GET_NEXT_ID"},
    {32, "BPF_ENABLE_STATS"},
    {33, "BPF_ITER_CREATE"},
    {34, "BPF_LINK_DETACH"},
    {35, "BPF_PROG_BIND_MAP"},
    {36, "BPF_TOKEN_CREATE"},
    {37, "BPF_PROG_STREAM_READ_BY_FD"},
};

// unshare(2) takes these; setns(2) takes one CLONE_NEW* (or 0: any type).
// CLONE_NEWTIME (0x80) shares its bit with the exit signal of clone(2),
// which is why clone flags have their own rendering.
constexpr FlagName kNamespaceFlags[] = {
    {CLONE_NEWNS, "CLONE_NEWNS"},     {CLONE_NEWCGROUP, "CLONE_NEWCGROUP"},
    {CLONE_NEWUTS, "CLONE_NEWUTS"},   {CLONE_NEWIPC, "CLONE_NEWIPC"},
    {CLONE_NEWUSER, "CLONE_NEWUSER"}, {CLONE_NEWPID, "CLONE_NEWPID"},
    {CLONE_NEWNET, "CLONE_NEWNET"},   {0x80, "CLONE_NEWTIME"},
    {CLONE_FILES, "CLONE_FILES"},     {CLONE_FS, "CLONE_FS"},
    {CLONE_SYSVSEM, "CLONE_SYSVSEM"}, {CLONE_VM, "CLONE_VM"},
    {CLONE_SIGHAND, "CLONE_SIGHAND"}, {CLONE_THREAD, "CLONE_THREAD"},
};

constexpr NumberName kIpProtocols[] = {
    {0, "IPPROTO_IP"},        {1, "IPPROTO_ICMP"},   {2, "IPPROTO_IGMP"},       {4, "IPPROTO_IPIP"},
    {6, "IPPROTO_TCP"},       {8, "IPPROTO_EGP"},    {12, "IPPROTO_PUP"},       {17, "IPPROTO_UDP"},
    {22, "IPPROTO_IDP"},      {29, "IPPROTO_TP"},    {33, "IPPROTO_DCCP"},      {41, "IPPROTO_IPV6"},
    {46, "IPPROTO_RSVP"},     {47, "IPPROTO_GRE"},   {50, "IPPROTO_ESP"},       {51, "IPPROTO_AH"},
    {58, "IPPROTO_ICMPV6"},   {92, "IPPROTO_MTP"},   {94, "IPPROTO_BEETPH"},    {98, "IPPROTO_ENCAP"},
    {103, "IPPROTO_PIM"},     {108, "IPPROTO_COMP"}, {115, "IPPROTO_L2TP"},     {132, "IPPROTO_SCTP"},
    {136, "IPPROTO_UDPLITE"}, {137, "IPPROTO_MPLS"}, {143, "IPPROTO_ETHERNET"}, {255, "IPPROTO_RAW"},
    {262, "IPPROTO_MPTCP"},
};

constexpr NumberName kDirections[] = {{1, "outbound"}, {2, "inbound"}, {3, "egress"}, {4, "ingress"}};

}  // namespace

std::string FormatOpenFlags(uint64_t flags) {
  const char* access = "O_RDONLY";
  switch (flags & O_ACCMODE) {
    case O_WRONLY: access = "O_WRONLY"; break;
    case O_RDWR: access = "O_RDWR"; break;
    case O_ACCMODE: access = "O_ACCMODE"; break;
  }
  uint64_t rest = flags & ~static_cast<uint64_t>(O_ACCMODE);
  // O_TMPFILE includes O_DIRECTORY; O_SYNC includes O_DSYNC.
  std::string out = access;
  if ((rest & (__O_TMPFILE | O_DIRECTORY)) == (__O_TMPFILE | O_DIRECTORY)) {
    rest &= ~static_cast<uint64_t>(__O_TMPFILE | O_DIRECTORY);
    out += "|O_TMPFILE";
  }
  if ((rest & ((O_SYNC & ~O_DSYNC) | O_DSYNC)) == ((O_SYNC & ~O_DSYNC) | O_DSYNC)) {
    rest &= ~static_cast<uint64_t>((O_SYNC & ~O_DSYNC) | O_DSYNC);
    out += "|O_SYNC";
  }
  return JoinFlags(rest, kOpenFlags, out);
}

std::string FormatMode(uint64_t mode) {
  const char* type = nullptr;
  switch (mode & S_IFMT) {
    case S_IFREG: type = "S_IFREG"; break;
    case S_IFDIR: type = "S_IFDIR"; break;
    case S_IFLNK: type = "S_IFLNK"; break;
    case S_IFCHR: type = "S_IFCHR"; break;
    case S_IFBLK: type = "S_IFBLK"; break;
    case S_IFIFO: type = "S_IFIFO"; break;
    case S_IFSOCK: type = "S_IFSOCK"; break;
  }
  std::string perm = absl::StrFormat("%04o", mode & 07777);
  return type ? absl::StrCat(type, "|", perm) : perm;
}

std::string FormatFileType(uint64_t mode) {
  std::string m = FormatMode(mode & S_IFMT);
  size_t bar = m.find('|');
  return bar == std::string::npos ? absl::StrCat(mode & S_IFMT) : m.substr(0, bar);
}

std::string FormatSignal(int64_t sig) {
  if (sig == 0) return "0";
  if (sig > 0 && sig < 65) {
    if (const char* abbrev = sigabbrev_np(static_cast<int>(sig))) return absl::StrCat("SIG", abbrev);
    if (sig >= SIGRTMIN && sig <= SIGRTMAX) return absl::StrCat("SIGRTMIN+", sig - SIGRTMIN);
  }
  return absl::StrCat(sig);
}

std::string FormatCapability(int64_t cap) {
  return absl::AsciiStrToUpper(caps::CapName(static_cast<int>(cap)));
}

std::vector<std::string> FormatCapabilitySet(uint64_t set) {
  std::vector<std::string> names;
  for (int cap = 0; cap < 64; ++cap)
    if (set & (1ULL << cap)) names.push_back(FormatCapability(cap));
  return names;
}

std::string FormatMmapFlags(uint64_t flags) {
  const uint64_t type = flags & 0xf;
  std::string base = type == 1   ? "MAP_SHARED"
                     : type == 2 ? "MAP_PRIVATE"
                     : type == 3 ? "MAP_SHARED_VALIDATE"
                     : type == 0 ? ""
                                 : absl::StrFormat("0x%x", type);
  std::string out = JoinFlags(flags & ~uint64_t{0xf}, kMmap, base);
  return out.empty() ? "0" : out;
}

std::string FormatProt(uint64_t prot) {
  if (prot == 0) return "PROT_NONE";
  return JoinFlags(prot, kProt, "");
}

std::string FormatCloneFlags(uint64_t flags) {
  uint64_t sig = flags & 0xff;
  std::string out = JoinFlags(flags & ~0xffULL, kClone, "");
  if (sig != 0) {
    if (!out.empty()) out += '|';
    out += FormatSignal(static_cast<int64_t>(sig));
  }
  return out.empty() ? "0" : out;
}

std::string FormatAccessMode(uint64_t mode) {
  if (mode == 0) return "F_OK";
  return JoinFlags(mode, kAccess, "");
}

std::string FormatSyscallName(int64_t nr) {
  if (nr >= 0) {
    const EventDef* def = Registry::Builtin().FindId(static_cast<uint32_t>(nr));
    if (def != nullptr && def->is_syscall()) return def->name;
  }
  return absl::StrCat(nr);
}

std::string FormatCapCheckResult(int64_t ret) {
  if (ret == 0) return "granted";
  int err = static_cast<int>(ret < 0 ? -ret : ret);
  const char* name = strerrorname_np(err);
  return name ? std::string(name) : absl::StrCat(ret);
}

std::string FormatErrno(int err) { return caps::ErrnoText(err); }

std::string FormatTcpState(int64_t state) { return NameOrNumber(kTcpStates, state); }

std::string FormatSocketDomain(int64_t domain) { return NameOrNumber(kDomains, domain); }

std::string FormatSocketType(uint64_t type) {
  constexpr uint64_t kTypeMask = 0xf;
  constexpr FlagName kFlags[] = {{SOCK_NONBLOCK, "SOCK_NONBLOCK"}, {SOCK_CLOEXEC, "SOCK_CLOEXEC"}};
  return JoinFlags(type & ~kTypeMask, kFlags,
                   NameOrNumber(kSocketTypes, static_cast<int64_t>(type & kTypeMask)));
}

std::string FormatPtraceRequest(int64_t request) { return NameOrNumber(kPtraceRequests, request); }

std::string FormatPrctlOption(int64_t option) { return NameOrNumber(kPrctlOptions, option); }

std::string FormatBpfCmd(int64_t cmd) { return NameOrNumber(kBpfCmds, cmd); }
std::string FormatBpfProgType(int64_t type) { return NameOrNumber(kBpfProgTypes, type); }

std::string FormatNamespaceFlags(uint64_t flags) {
  if (flags == 0) return "0";
  return JoinFlags(flags, kNamespaceFlags, "");
}

std::string FormatIpProtocol(int64_t protocol) { return NameOrNumber(kIpProtocols, protocol); }

std::string FormatIpv4(uint32_t network_order) {
  char buf[INET_ADDRSTRLEN] = {};
  in_addr a{.s_addr = network_order};
  inet_ntop(AF_INET, &a, buf, sizeof(buf));
  return buf;
}

std::string FormatDirection(int64_t direction) { return NameOrNumber(kDirections, direction); }

std::string FormatHex(uint64_t value) { return absl::StrFormat("0x%x", value); }

Fields FormatSockaddr(std::span<const uint8_t> raw) {
  Fields f;
  if (raw.size() < sizeof(sa_family_t)) return f;
  sa_family_t family;
  std::memcpy(&family, raw.data(), sizeof(family));
  char buf[INET6_ADDRSTRLEN] = {};
  switch (family) {
    // Only fields whose bytes were captured in full are shown.
    case AF_INET: {
      sockaddr_in in{};
      std::memcpy(&in, raw.data(), std::min(raw.size(), sizeof(in)));
      f.emplace_back("sa_family", "AF_INET");
      if (raw.size() >= offsetof(sockaddr_in, sin_port) + sizeof(in.sin_port))
        f.emplace_back("sin_port", absl::StrCat(ntohs(in.sin_port)));
      if (raw.size() >= offsetof(sockaddr_in, sin_addr) + sizeof(in.sin_addr)) {
        inet_ntop(AF_INET, &in.sin_addr, buf, sizeof(buf));
        f.emplace(f.begin() + 1, "sin_addr", buf);
      }
      break;
    }
    case AF_INET6: {
      sockaddr_in6 in6{};
      std::memcpy(&in6, raw.data(), std::min(raw.size(), sizeof(in6)));
      f.emplace_back("sa_family", "AF_INET6");
      if (raw.size() >= offsetof(sockaddr_in6, sin6_addr) + sizeof(in6.sin6_addr)) {
        inet_ntop(AF_INET6, &in6.sin6_addr, buf, sizeof(buf));
        f.emplace_back("sin6_addr", buf);
      }
      if (raw.size() >= offsetof(sockaddr_in6, sin6_port) + sizeof(in6.sin6_port))
        f.emplace_back("sin6_port", absl::StrCat(ntohs(in6.sin6_port)));
      if (raw.size() >= offsetof(sockaddr_in6, sin6_flowinfo) + sizeof(in6.sin6_flowinfo))
        f.emplace_back("sin6_flowinfo", absl::StrCat(ntohl(in6.sin6_flowinfo)));
      if (raw.size() >= offsetof(sockaddr_in6, sin6_scope_id) + sizeof(in6.sin6_scope_id))
        f.emplace_back("sin6_scopeid", absl::StrCat(in6.sin6_scope_id));
      break;
    }
    case AF_UNIX: {
      f.emplace_back("sa_family", "AF_UNIX");
      std::string_view path(reinterpret_cast<const char*>(raw.data()) + sizeof(sa_family_t),
                            raw.size() - sizeof(sa_family_t));
      // Abstract sockets start with a NUL; shown with a leading '@' as ss(8) does.
      if (!path.empty() && path[0] == '\0') {
        std::string abstract = "@" + std::string(path.substr(1));
        while (!abstract.empty() && abstract.back() == '\0') abstract.pop_back();
        f.emplace_back("sun_path", abstract);
      } else {
        f.emplace_back("sun_path", std::string(path.substr(0, path.find('\0'))));
      }
      break;
    }
    default:
      f.emplace_back("sa_family", absl::StrCat(family));
  }
  return f;
}

namespace {

// The formats that name a number from a table (its decimal text when the
// table has no name for it). int32: a C int, the register's upper half ignored.
struct NamedFormat {
  ArgFormat format;
  std::span<const NumberName> names;
  bool int32;
};
constexpr NamedFormat kNamedFormats[] = {
    {ArgFormat::kTcpState, kTcpStates, true},        {ArgFormat::kSocketDomain, kDomains, true},
    {ArgFormat::kPtraceRequest, kPtraceRequests, false}, {ArgFormat::kPrctlOption, kPrctlOptions, true},
    {ArgFormat::kBpfCmd, kBpfCmds, true},            {ArgFormat::kBpfProgType, kBpfProgTypes, true},
    {ArgFormat::kIpProtocol, kIpProtocols, false},   {ArgFormat::kDirection, kDirections, false},
};

}  // namespace

Value RenderInteger(const ArgDef& def, uint64_t raw) {
  for (const NamedFormat& n : kNamedFormats)
    if (n.format == def.format)
      return NameOrNumber(n.names, n.int32 ? static_cast<int32_t>(raw) : static_cast<int64_t>(raw));
  switch (def.format) {
    case ArgFormat::kUint: return raw;
    case ArgFormat::kHex: return FormatHex(raw);
    case ArgFormat::kBool: return raw != 0;
    case ArgFormat::kOpenFlags: return FormatOpenFlags(raw);
    // A zero mode means "none given" (open without O_CREAT): kept as the number 0.
    case ArgFormat::kMode: return raw == 0 ? Value(int64_t{0}) : Value(FormatMode(raw));
    case ArgFormat::kSignal: return FormatSignal(static_cast<int32_t>(raw));
    case ArgFormat::kCapability: return FormatCapability(static_cast<int32_t>(raw));
    case ArgFormat::kProt: return FormatProt(raw);
    case ArgFormat::kCloneFlags: return FormatCloneFlags(raw);
    case ArgFormat::kAccessMode: return FormatAccessMode(raw);
    case ArgFormat::kSyscallName:
      return FormatSyscallName(static_cast<int64_t>(raw));
    case ArgFormat::kCapCheckResult:
      return FormatCapCheckResult(static_cast<int32_t>(raw));
    case ArgFormat::kSocketType:
      return FormatSocketType(static_cast<uint32_t>(raw));
    case ArgFormat::kNamespaceFlags:
      return FormatNamespaceFlags(raw);
    case ArgFormat::kIpv4Addr:
      return FormatIpv4(static_cast<uint32_t>(raw));
    case ArgFormat::kCapabilitySet:
      return FormatCapabilitySet(raw);
    case ArgFormat::kFileType:
      return FormatFileType(raw);
    case ArgFormat::kMmapFlags:
      return FormatMmapFlags(raw);
    default:
      return TypedInteger(def, raw);
  }
}

bool RendersInteger(ArgFormat format) {
  switch (format) {
    case ArgFormat::kInt:
    case ArgFormat::kUint:
    case ArgFormat::kBool:
    case ArgFormat::kDirfd:
    case ArgFormat::kString:
    case ArgFormat::kStringArray:
    case ArgFormat::kArgvBlob:
    case ArgFormat::kSockaddr:
    case ArgFormat::kBytes:
    case ArgFormat::kPacketMetadata:
    case ArgFormat::kDnsMessage:
    case ArgFormat::kDnsQuestions:
    case ArgFormat::kDnsResponse:
    case ArgFormat::kPacketDirection:
    case ArgFormat::kHttpMessage:
    case ArgFormat::kHttpRequest:
    case ArgFormat::kHttpResponse:
    case ArgFormat::kIcmp:
    case ArgFormat::kIcmpv6:
      return false;
    default:
      return true;
  }
}

namespace {
thread_local uint64_t render_count = 0;
}  // namespace

uint64_t RenderCount() { return render_count; }

const Value& Rendered(const Arg& arg) {
  const auto* raw = std::get_if<uint64_t>(&arg.value);
  if (raw == nullptr || arg.def == nullptr || !RendersInteger(arg.def->format)) return arg.value;
  if (!arg.rendered_ready) {
    ++render_count;
    arg.rendered = RenderInteger(*arg.def, *raw);
    arg.rendered_ready = true;
  }
  return arg.rendered;
}

Value TypedInteger(const ArgDef& def, uint64_t raw) {
  switch (def.format) {
    case ArgFormat::kUint: return raw;
    case ArgFormat::kBool: return raw != 0;
    default:
      if (RendersInteger(def.format)) return raw;
      // Syscall registers hold ints sign-extended or not; show 32-bit types as such.
      if (def.type == "int" || def.type == "pid_t" || def.type == "long" || def.type.empty())
        return def.type == "long" ? static_cast<int64_t>(raw)
                                  : static_cast<int64_t>(static_cast<int32_t>(raw));
      return static_cast<int64_t>(raw);
  }
}

}  // namespace vigil::events

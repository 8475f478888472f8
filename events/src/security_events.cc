// Security events beyond raw syscalls: files, sockets, TCP connections,
// capability checks and packets. The kernel side is bpf/security.bpf.h; the
// argument order here is the order in which it writes them.
#include "security_events.h"

#include <string>

#include "security.bpf.h"  // the ids and values both sides share
#include "vigil/events/event_ids.h"

namespace vigil::events {
namespace {

static_assert(kCapCapable == VG_ID_CAP_CAPABLE);
static_assert(kMemProtAlert == VG_ID_MEM_PROT_ALERT);
static_assert(kMagicWrite == VG_ID_MAGIC_WRITE);
static_assert(kSecurityFileOpen == VG_ID_SECURITY_FILE_OPEN);
static_assert(kSecurityInodeUnlink == VG_ID_SECURITY_INODE_UNLINK);
static_assert(kSecurityInodeRename == VG_ID_SECURITY_INODE_RENAME);
static_assert(kSecuritySocketListen == VG_ID_SECURITY_SOCKET_LISTEN);
static_assert(kSecuritySocketConnect == VG_ID_SECURITY_SOCKET_CONNECT);
static_assert(kSecuritySocketAccept == VG_ID_SECURITY_SOCKET_ACCEPT);
static_assert(kSecuritySocketBind == VG_ID_SECURITY_SOCKET_BIND);
static_assert(kNetTcpConnection == VG_ID_NET_TCP_CONNECTION);
static_assert(kCapabilitiesChanged == VG_ID_CAPABILITIES_CHANGED);
static_assert(kPrivilegeGained == VG_ID_PRIVILEGE_GAINED);
static_assert(kBpfProgLoad == VG_ID_BPF_PROG_LOAD);
static_assert(kNetPacketIpv4 == VG_ID_NET_PACKET_IPV4);

using caps::Cap;

// A tracepoint at the exit of one syscall, run by its own program (so that
// the event works whether or not the syscall's own event is selected).
// `raw_fallback` names a raw_syscalls exit program serving all of the
// event's syscalls, for kernels or mounts without tracefs; it goes on the
// event's first probe only, whose failure then stands for all of them (the
// others are optional), so that it is attached once.
ProbeDef SyscallExitProbe(const std::string& syscall, bool required, const std::string& raw_fallback = "") {
  ProbeDef p{
      .name = "syscalls/sys_exit_" + syscall,
      .required = required,
      .alternatives = {
          {AttachKind::kTracepoint, {"vg_tp_sec_" + syscall + "_exit"}, "syscalls/sys_exit_" + syscall}}};
  if (!raw_fallback.empty())
    p.alternatives.push_back({AttachKind::kRawTracepoint, {raw_fallback}, "sys_exit"});
  return p;
}

// A kernel tracepoint through BTF (tp_btf), else as a raw tracepoint.
ProbeDef BtfOrRawProbe(const std::string& tracepoint) {
  return ProbeDef{.name = tracepoint,
                  .required = true,
                  .alternatives = {{AttachKind::kTpBtf, {"vg_btf_sec_" + tracepoint}, tracepoint},
                                   {AttachKind::kRawTracepoint, {"vg_raw_sec_" + tracepoint}, tracepoint}}};
}

// A privilege_gained pair: the syscall's entry (the credentials before) and
// exit (after), each with its raw_syscalls fallback on the first pair.
std::vector<ProbeDef> PrivilegeProbes(const std::vector<std::string>& syscalls) {
  std::vector<ProbeDef> probes;
  for (size_t i = 0; i < syscalls.size(); ++i) {
    const std::string& sc = syscalls[i];
    for (const char* side : {"enter", "exit"}) {
      ProbeDef p{.name = "syscalls/sys_" + std::string(side) + "_" + sc,
                 .required = i == 0,
                 .alternatives = {{AttachKind::kTracepoint,
                                   {"vg_tp_priv_" + sc + "_" + side},
                                   "syscalls/sys_" + std::string(side) + "_" + sc}}};
      if (i == 0)
        p.alternatives.push_back(
            {AttachKind::kRawTracepoint, {"vg_raw_priv_" + std::string(side)}, "sys_" + std::string(side)});
      probes.push_back(std::move(p));
    }
  }
  return probes;
}

ProbeDef CgroupSkbProbe(const std::string& direction) {
  return ProbeDef{.name = "cgroup_skb/" + direction,
                  .required = true,
                  .alternatives = {{AttachKind::kCgroupSkb, {"vg_cgskb_" + direction}, "/"}}};
}

const ArgDef kSockfd{"sockfd", "int", ArgFormat::kInt};
const ArgDef kSocketType{"type", "int", ArgFormat::kSocketType};

}  // namespace

void AddSecurityEvents(std::vector<EventDef>& defs) {
  // Where an LSM or fentry hook would be exact (io_uring opens, opens by the
  // kernel for a process), this kernel refuses both (EPERM), so the syscall
  // exits are the probes; they see every open(2)-family call that succeeds.
  defs.push_back(EventDef{
      .id = kSecurityFileOpen,
      .name = "security_file_open",
      .description = "a file was opened: the resolved path of the new descriptor's file (whatever dirfd, "
                     "symlinks or O_PATH the caller used), its flags, device, inode and ctime",
      .sets = {"lsm_hooks", "fs", "fs_file_ops", "security"},
      .args = {{"pathname", "const char*", ArgFormat::kString},
               {"flags", "string", ArgFormat::kOpenFlags},
               {"dev", "dev_t", ArgFormat::kUint},
               {"inode", "unsigned long", ArgFormat::kUint},
               {"ctime", "unsigned long", ArgFormat::kUint},
               {"syscall_pathname", "const char*", ArgFormat::kString},
               {"syscall", "int", ArgFormat::kSyscallName}},
      .probes = {SyscallExitProbe("openat", true, "vg_raw_sec_file_open_exit"),
                 SyscallExitProbe("open", false), SyscallExitProbe("openat2", false),
                 SyscallExitProbe("creat", false), SyscallExitProbe("open_by_handle_at", false)},
  });

  // Derived at the syscall exits (the LSM hooks are refused here): the path
  // the syscall named, made full against its dirfd or the cwd.
  defs.push_back(EventDef{
      .id = kSecurityInodeUnlink,
      .name = "security_inode_unlink",
      .description = "a file or directory was removed (unlink, unlinkat, rmdir succeeded): its full path, "
                     "the caller's name resolved against its dirfd or cwd (\".\" and \"..\" kept as given); "
                     "inode, dev and ctime are 0: the syscall exit no longer sees the removed inode",
      .sets = {"lsm_hooks", "fs", "fs_file_ops", "security"},
      .args = {{"pathname", "const char*", ArgFormat::kString},
               {"inode", "unsigned long", ArgFormat::kUint},
               {"dev", "dev_t", ArgFormat::kUint},
               {"ctime", "u64", ArgFormat::kUint},
               {"syscall", "int", ArgFormat::kSyscallName}},
      .probes = {SyscallExitProbe("unlinkat", true, "vg_raw_sec_inode_unlink_exit"),
                 SyscallExitProbe("unlink", false), SyscallExitProbe("rmdir", false)},
  });
  defs.push_back(EventDef{
      .id = kSecurityInodeRename,
      .name = "security_inode_rename",
      .description = "a file or directory was renamed (rename, renameat, renameat2 succeeded): both full "
                     "paths, the caller's names resolved against their dirfds or the cwd",
      .sets = {"lsm_hooks", "fs", "fs_file_ops", "security"},
      .args = {{"old_path", "const char*", ArgFormat::kString},
               {"new_path", "const char*", ArgFormat::kString},
               {"syscall", "int", ArgFormat::kSyscallName}},
      .probes = {SyscallExitProbe("renameat2", true, "vg_raw_sec_inode_rename_exit"),
                 SyscallExitProbe("renameat", false), SyscallExitProbe("rename", false)},
  });

  defs.push_back(EventDef{
      .id = kSecuritySocketConnect,
      .name = "security_socket_connect",
      .description =
          "a socket is being connected: the address the caller gave (returnValue: connect's result)",
      .sets = {"default", "lsm_hooks", "net", "net_sock", "security"},
      .args = {kSockfd, kSocketType, {"remote_addr", "struct sockaddr*", ArgFormat::kSockaddr}},
      .probes = {SyscallExitProbe("connect", true, "vg_raw_sec_connect_exit")},
  });
  defs.push_back(EventDef{
      .id = kSecuritySocketBind,
      .name = "security_socket_bind",
      .description = "a socket is being bound to a local address (returnValue: bind's result)",
      .sets = {"lsm_hooks", "net", "net_sock", "security"},
      .args = {kSockfd, {"local_addr", "struct sockaddr*", ArgFormat::kSockaddr}, kSocketType},
      .probes = {SyscallExitProbe("bind", true, "vg_raw_sec_bind_exit")},
  });
  defs.push_back(EventDef{
      .id = kSecuritySocketListen,
      .name = "security_socket_listen",
      .description = "a socket listens: its bound address, from the kernel's socket",
      .sets = {"lsm_hooks", "net", "net_sock", "security"},
      .args = {kSockfd,
               {"local_addr", "struct sockaddr*", ArgFormat::kSockaddr},
               {"backlog", "int", ArgFormat::kInt},
               kSocketType},
      .probes = {SyscallExitProbe("listen", true, "vg_raw_sec_listen_exit")},
  });
  defs.push_back(EventDef{
      .id = kSecuritySocketAccept,
      .name = "security_socket_accept",
      .description = "a connection was accepted: the listening descriptor, and the new connection's local "
                     "and peer addresses from the kernel's socket (returnValue: the new descriptor)",
      .sets = {"lsm_hooks", "net", "net_sock", "security"},
      .args = {kSockfd,
               {"local_addr", "struct sockaddr*", ArgFormat::kSockaddr},
               {"remote_addr", "struct sockaddr*", ArgFormat::kSockaddr},
               kSocketType},
      .probes = {SyscallExitProbe("accept", true, "vg_raw_sec_accept_exit"),
                 SyscallExitProbe("accept4", false)},
  });

  defs.push_back(EventDef{
      .id = kNetTcpConnection,
      .name = "net_tcp_connection",
      .description = "a TCP connection was established (outbound: SYN_SENT->ESTABLISHED, inbound: "
                     "SYN_RECV->ESTABLISHED) or an outbound one failed (SYN_SENT->CLOSE); the process is the "
                     "one that connected or listens (0 when it predates the sensor)",
      .sets = {"net", "net_tcp", "security"},
      .args = {{"direction", "string", ArgFormat::kDirection},
               {"family", "int", ArgFormat::kSocketDomain},
               {"src", "struct sockaddr*", ArgFormat::kSockaddr},
               {"dst", "struct sockaddr*", ArgFormat::kSockaddr},
               {"old_state", "int", ArgFormat::kTcpState},
               {"new_state", "int", ArgFormat::kTcpState}},
      .probes = {BtfOrRawProbe("inet_sock_set_state")},
  });

  defs.push_back(EventDef{
      .id = kCapCapable,
      .name = "cap_capable",
      .description = "the kernel checked a capability of a process (result: granted or the errno); fires "
                     "on every check of the host",
      .sets = {"caps", "security"},
      .args = {{"cap", "int", ArgFormat::kCapability},
               {"result", "int", ArgFormat::kCapCheckResult},
               {"syscall", "int", ArgFormat::kSyscallName}},
      .probes = {BtfOrRawProbe("cap_capable")},
  });

  defs.push_back(EventDef{
      .id = kCapabilitiesChanged,
      .name = "capabilities_changed",
      .description = "capset succeeded: the calling thread's capability sets as they now are, by name",
      .sets = {"caps", "security"},
      .args = {{"effective", "kernel_cap_t", ArgFormat::kCapabilitySet},
               {"permitted", "kernel_cap_t", ArgFormat::kCapabilitySet},
               {"inheritable", "kernel_cap_t", ArgFormat::kCapabilitySet}},
      .probes = {SyscallExitProbe("capset", true, "vg_raw_sec_capset_exit")},
  });
  // The credentials are read at the syscall's entry and at its exit, so the
  // change is the syscall's own (whatever changed them since the last exec).
  defs.push_back(EventDef{
      .id = kPrivilegeGained,
      .name = "privilege_gained",
      .description = "a thread's credentials gained privilege across setuid, setreuid, setresuid, setfsuid, "
                     "capset or execve/execveat: euid or fsuid became 0 from non-0, or effective "
                     "capabilities it did not have at the syscall's entry (gained_caps)",
      .sets = {"caps", "security", "proc"},
      .args = {{"syscall", "int", ArgFormat::kSyscallName},
               {"old_uid", "uid_t", ArgFormat::kUint},
               {"new_uid", "uid_t", ArgFormat::kUint},
               {"old_euid", "uid_t", ArgFormat::kUint},
               {"new_euid", "uid_t", ArgFormat::kUint},
               {"old_fsuid", "uid_t", ArgFormat::kUint},
               {"new_fsuid", "uid_t", ArgFormat::kUint},
               {"gained_caps", "kernel_cap_t", ArgFormat::kCapabilitySet},
               {"cap_effective", "kernel_cap_t", ArgFormat::kCapabilitySet}},
      .probes = PrivilegeProbes({"setuid", "setreuid", "setresuid", "setfsuid", "capset", "execve", "execveat"}),
  });

  // Derived at the syscall exits (Tracee reads the VMA's previous protection
  // in security_file_mprotect, an LSM hook refused here).
  defs.push_back(EventDef{
      .id = kMemProtAlert,
      .name = "mem_prot_alert",
      .description = "memory became executable: mprotect/pkey_mprotect succeeded with PROT_EXEC "
                     "(\"mprotect: made executable\"), or mmap succeeded with PROT_EXEC and the mapping is "
                     "writable (\"mmap: writable and executable\") or anonymous (\"mmap: anonymous "
                     "executable\"); file-backed read+exec mappings are dropped in the kernel. flags and fd: "
                     "mmap only",
      .sets = {"security", "memory"},
      .args = {{"alert", "const char*", ArgFormat::kString},
               {"address", "void*", ArgFormat::kHex},
               {"length", "size_t", ArgFormat::kUint},
               {"prot", "int", ArgFormat::kProt},
               {"flags", "int", ArgFormat::kMmapFlags},
               {"fd", "int", ArgFormat::kInt},
               {"syscall", "int", ArgFormat::kSyscallName}},
      .probes = {SyscallExitProbe("mmap", true, "vg_raw_sec_mem_prot_exit"), SyscallExitProbe("mprotect", false),
                 SyscallExitProbe("pkey_mprotect", false)},
  });

  // Tracee's magic_write, derived at the syscall exits (no vfs_write probe here).
  defs.push_back(EventDef{
      .id = kMagicWrite,
      .name = "magic_write",
      .description = "the first bytes written to a regular file: write or pwrite64 succeeded at offset 0 "
                     "(up to 20 bytes, as written: an ELF header, a script's #!), with the file's resolved "
                     "path, dev and inode; other writes are dropped in the kernel before any record is built. "
                     "Copies made in the kernel (copy_file_range, sendfile: GNU cp) are not writes and "
                     "are not seen",
      .sets = {"security", "fs", "fs_file_ops"},
      .args = {{"pathname", "const char*", ArgFormat::kString},
               {"bytes", "bytes", ArgFormat::kBytes},
               {"dev", "dev_t", ArgFormat::kUint},
               {"inode", "unsigned long", ArgFormat::kUint},
               {"syscall", "int", ArgFormat::kSyscallName}},
      .probes = {SyscallExitProbe("write", true, "vg_raw_sec_magic_write_exit"),
                 SyscallExitProbe("pwrite64", false)},
  });

  // Attaching (and loading) a cgroup_skb program needs CAP_NET_ADMIN; once
  // attached, nothing more is needed.
  defs.push_back(EventDef{
      .id = kNetPacketIpv4,
      .name = "net_packet_ipv4",
      .description = "an IPv4 packet of a local socket, both directions (cgroup_skb on the cgroup v2 root); "
                     "no process: the header carries the socket's uid and cgroup",
      .sets = {"net", "network_events"},
      .args = {{"src", "const char*", ArgFormat::kIpv4Addr},
               {"dst", "const char*", ArgFormat::kIpv4Addr},
               {"src_port", "u16", ArgFormat::kUint},
               {"dst_port", "u16", ArgFormat::kUint},
               {"protocol", "u8", ArgFormat::kIpProtocol},
               {"length", "u16", ArgFormat::kUint},
               {"direction", "string", ArgFormat::kDirection}},
      .probes = {CgroupSkbProbe("ingress"), CgroupSkbProbe("egress")},
      .caps = {.base = {}, .ebpf = caps::CapSet{Cap::kNetAdmin}},
  });
  // Tracee's security_bpf_prog is an LSM hook, refused here; this is the
  // syscall's view of the same act: a BPF program being loaded.
  defs.push_back(EventDef{
      .id = kBpfProgLoad,
      .name = "bpf_prog_load",
      .description = "bpf(BPF_PROG_LOAD): a process loads a BPF program; returnValue is its fd or the error",
      .sets = {"security", "proc"},
      .args = {{"prog_type", "int", ArgFormat::kBpfProgType},
               {"prog_name", "const char*", ArgFormat::kString},
               {"insn_cnt", "unsigned int", ArgFormat::kUint}},
      .probes = {SyscallExitProbe("bpf", true, "vg_raw_sec_bpf_exit")},
  });
}

}  // namespace vigil::events

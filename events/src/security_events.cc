// Security events beyond raw syscalls: files, sockets, TCP connections,
// capability checks and packets. The kernel side is bpf/security.bpf.h; ids
// and arguments of both sides come from bpf/events.def.
#include "security_events.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "defined_events.h"
#include "vigil/events/event_ids.h"
#include "vigil_event.h"  // the raw_syscalls dispatcher's consumer bits

namespace vigil::events {
namespace {

using caps::Cap;

// The exit of one syscall whose raw_syscalls fallback is the dispatcher
// (vg_raw_sys_exit, or vg_raw_sys_enter at the entry) calling `consumer` for
// `syscalls`.
ProbeAlternative DispatcherFallback(const std::vector<std::string>& syscalls, int consumer, bool entry) {
  ProbeAlternative alt{AttachKind::kRawTracepoint,
                       {entry ? "vg_raw_sys_enter" : "vg_raw_sys_exit"},
                       entry ? "sys_enter" : "sys_exit"};
  alt.consumer = consumer;
  for (const std::string& sc : syscalls) alt.consumer_syscalls.push_back(SyscallNumber(sc));
  return alt;
}

// An event derived at the exits of `syscalls`: a tracepoint program per
// syscall (so that the event works whether or not the syscall's own event is
// selected). Without tracefs (no per-syscall tracepoints), the raw_syscalls
// exit dispatcher stands in, calling the event's `consumer` for all of them;
// it goes on the first probe only, whose failure then stands for all (the
// others are optional), so that it is set up once.
std::vector<ProbeDef> SyscallExitProbes(const std::vector<std::string>& syscalls, int consumer) {
  std::vector<ProbeDef> probes;
  for (const std::string& sc : syscalls) {
    ProbeDef p{.name = "syscalls/sys_exit_" + sc,
               .required = probes.empty(),
               .alternatives = {
                   {AttachKind::kTracepoint, {"vg_tp_sec_" + sc + "_exit"}, "syscalls/sys_exit_" + sc}}};
    if (probes.empty()) p.alternatives.push_back(DispatcherFallback(syscalls, consumer, false));
    probes.push_back(std::move(p));
  }
  return probes;
}

// A kernel tracepoint through BTF (tp_btf), else as a raw tracepoint.
ProbeDef BtfOrRawProbe(const std::string& tracepoint) {
  return ProbeDef{.name = tracepoint,
                  .required = true,
                  .alternatives = {{AttachKind::kTpBtf, {"vg_btf_sec_" + tracepoint}, tracepoint},
                                   {AttachKind::kRawTracepoint, {"vg_raw_sec_" + tracepoint}, tracepoint}}};
}

// A privilege_gained pair: the syscall's entry (the credentials before) and
// exit (after), each with the dispatcher as fallback on the first pair.
std::vector<ProbeDef> PrivilegeProbes(const std::vector<std::string>& syscalls) {
  std::vector<ProbeDef> probes;
  for (size_t i = 0; i < syscalls.size(); ++i) {
    const std::string& sc = syscalls[i];
    for (const char* side : {"enter", "exit"}) {
      bool entry = side == std::string_view("enter");
      ProbeDef p{.name = "syscalls/sys_" + std::string(side) + "_" + sc,
                 .required = i == 0,
                 .alternatives = {{AttachKind::kTracepoint,
                                   {"vg_tp_priv_" + sc + "_" + side},
                                   "syscalls/sys_" + std::string(side) + "_" + sc}}};
      if (i == 0)
        p.alternatives.push_back(
            DispatcherFallback(syscalls, entry ? VG_CONSUMER_PRIV_ENTER : VG_CONSUMER_PRIV_EXIT, entry));
      probes.push_back(std::move(p));
    }
  }
  return probes;
}

ProbeDef CgroupSkbProbe(const std::string& direction, const std::string& program_prefix = "vg_cgskb_") {
  return ProbeDef{.name = "cgroup_skb/" + direction,
                  .required = true,
                  .alternatives = {{AttachKind::kCgroupSkb, {program_prefix + direction}, "/"}}};
}

}  // namespace

void AddSecurityEvents(std::vector<EventDef>& defs) {
  // Where an LSM or fentry hook would be exact (io_uring opens, opens by the
  // kernel for a process), this kernel refuses both (EPERM), so the syscall
  // exits are the probes; they see every open(2)-family call that succeeds.
  defs.push_back(Defined(
      kSecurityFileOpen,
      {
          .description = "a file was opened: the resolved path of the new descriptor's file (whatever dirfd, "
                         "symlinks or O_PATH the caller used), its flags, device, inode and ctime",
          .sets = {"lsm_hooks", "fs", "fs_file_ops", "security"},
          .probes = SyscallExitProbes({"openat", "open", "openat2", "creat", "open_by_handle_at"},
                                      VG_CONSUMER_FILE_OPEN),
      }));

  // Derived at the syscall exits (the LSM hooks are refused here): the path
  // the syscall named, made full against its dirfd or the cwd.
  defs.push_back(
      Defined(kSecurityInodeUnlink,
              {
                  .description =
                      "a file or directory was removed (unlink, unlinkat, rmdir succeeded): its full path, "
                      "the caller's name resolved against its dirfd or cwd (\".\" and \"..\" kept as given); "
                      "inode, dev and ctime are 0: the syscall exit no longer sees the removed inode",
                  .sets = {"lsm_hooks", "fs", "fs_file_ops", "security"},
                  .probes = SyscallExitProbes({"unlinkat", "unlink", "rmdir"}, VG_CONSUMER_INODE_UNLINK),
              }));
  defs.push_back(Defined(
      kSecurityInodeRename,
      {
          .description = "a file or directory was renamed (rename, renameat, renameat2 succeeded): both full "
                         "paths, the caller's names resolved against their dirfds or the cwd",
          .sets = {"lsm_hooks", "fs", "fs_file_ops", "security"},
          .probes = SyscallExitProbes({"renameat2", "renameat", "rename"}, VG_CONSUMER_INODE_RENAME),
      }));

  defs.push_back(Defined(
      kSecuritySocketConnect,
      {
          .description =
              "a socket is being connected: the address the caller gave (returnValue: connect's result)",
          .sets = {"default", "lsm_hooks", "net", "net_sock", "security"},
          .probes = SyscallExitProbes({"connect"}, VG_CONSUMER_SOCKET_CONNECT),
      }));
  defs.push_back(
      Defined(kSecuritySocketBind,
              {
                  .description = "a socket is being bound to a local address (returnValue: bind's result)",
                  .sets = {"lsm_hooks", "net", "net_sock", "security"},
                  .probes = SyscallExitProbes({"bind"}, VG_CONSUMER_SOCKET_BIND),
              }));
  defs.push_back(Defined(kSecuritySocketListen,
                         {
                             .description = "a socket listens: its bound address, from the kernel's socket",
                             .sets = {"lsm_hooks", "net", "net_sock", "security"},
                             .probes = SyscallExitProbes({"listen"}, VG_CONSUMER_SOCKET_LISTEN),
                         }));
  defs.push_back(
      Defined(kSecuritySocketAccept,
              {
                  .description =
                      "a connection was accepted: the listening descriptor, and the new connection's local "
                      "and peer addresses from the kernel's socket (returnValue: the new descriptor)",
                  .sets = {"lsm_hooks", "net", "net_sock", "security"},
                  .probes = SyscallExitProbes({"accept", "accept4"}, VG_CONSUMER_SOCKET_ACCEPT),
              }));

  defs.push_back(Defined(
      kNetTcpConnection,
      {
          .description =
              "a TCP connection was established (outbound: SYN_SENT->ESTABLISHED, inbound: "
              "SYN_RECV->ESTABLISHED) or an outbound one failed (SYN_SENT->CLOSE); the process is the "
              "one that connected or listens (0 when it predates the sensor)",
          .sets = {"net", "net_tcp", "security"},
          .probes = {BtfOrRawProbe("inet_sock_set_state")},
      }));

  defs.push_back(Defined(
      kCapCapable,
      {
          .description = "the kernel checked a capability of a process (result: granted or the errno); fires "
                         "on every check of the host",
          .sets = {"caps", "security"},
          .probes = {BtfOrRawProbe("cap_capable")},
      }));

  defs.push_back(Defined(
      kCapabilitiesChanged,
      {
          .description = "capset succeeded: the calling thread's capability sets as they now are, by name",
          .sets = {"caps", "security"},
          .probes = SyscallExitProbes({"capset"}, VG_CONSUMER_CAPABILITIES_CHANGED),
      }));
  // The credentials are read at the syscall's entry and at its exit, so the
  // change is the syscall's own (whatever changed them since the last exec).
  defs.push_back(
      Defined(kPrivilegeGained,
              {
                  .description =
                      "a thread's credentials gained privilege across setuid, setreuid, setresuid, setfsuid, "
                      "capset or execve/execveat: euid or fsuid became 0 from non-0, or effective "
                      "capabilities it did not have at the syscall's entry (gained_caps)",
                  .sets = {"caps", "security", "proc"},
                  .probes = PrivilegeProbes(
                      {"setuid", "setreuid", "setresuid", "setfsuid", "capset", "execve", "execveat"}),
              }));

  // Derived at the syscall exits (Tracee reads the VMA's previous protection
  // in security_file_mprotect, an LSM hook refused here).
  defs.push_back(Defined(
      kMemProtAlert,
      {
          .description =
              "memory became executable: mprotect/pkey_mprotect succeeded with PROT_EXEC "
              "(\"mprotect: made executable\"), or mmap succeeded with PROT_EXEC and the mapping is "
              "writable (\"mmap: writable and executable\") or anonymous (\"mmap: anonymous "
              "executable\"); file-backed read+exec mappings are dropped in the kernel. flags and fd: "
              "mmap only",
          .sets = {"security", "memory"},
          .probes = SyscallExitProbes({"mmap", "mprotect", "pkey_mprotect"}, VG_CONSUMER_MEM_PROT_ALERT),
      }));

  // Tracee's magic_write, derived at the syscall exits (no vfs_write probe here).
  defs.push_back(Defined(
      kMagicWrite,
      {
          .description =
              "the first bytes written to a regular file: write or pwrite64 succeeded at offset 0 "
              "(up to 20 bytes, as written: an ELF header, a script's #!), with the file's resolved "
              "path, dev and inode; other writes are dropped in the kernel before any record is built. "
              "Copies made in the kernel (copy_file_range, sendfile: GNU cp) are not writes and "
              "are not seen",
          .sets = {"security", "fs", "fs_file_ops"},
          .probes = SyscallExitProbes({"write", "pwrite64"}, VG_CONSUMER_MAGIC_WRITE),
      }));

  // Attaching (and loading) a cgroup_skb program needs CAP_NET_ADMIN; once
  // attached, nothing more is needed.
  defs.push_back(
      Defined(kNetPacketIpv4,
              {
                  .description =
                      "an IPv4 packet of a local socket, both directions (cgroup_skb on the cgroup v2 root); "
                      "no process: the header carries the socket's uid and cgroup",
                  .sets = {"net", "network_events"},
                  .probes = {CgroupSkbProbe("ingress"), CgroupSkbProbe("egress")},
                  .caps = {.base = {}, .ebpf = caps::CapSet{Cap::kNetAdmin}},
              }));
  // The application-layer packet events share one pair of cgroup_skb
  // programs (a program is attached once), owned by this internal event.
  defs.push_back(Defined(
      kNetPacketCapture,
      {
          .description = "the cgroup_skb programs that read DNS messages, HTTP/1.x heads and ICMP headers of "
                         "local sockets (only what the selected events parse)",
          .sets = {"net"},
          .probes = {CgroupSkbProbe("ingress", "vg_cgskb_app_"), CgroupSkbProbe("egress", "vg_cgskb_app_")},
          .caps = {.base = {}, .ebpf = caps::CapSet{Cap::kNetAdmin}},
          .internal = true,
      }));
  const char* kDnsOwner =
      "; the process is the socket's owner (the task that first sent on it; replies to that socket are its "
      "too), or none (uid and cgroup of the socket only) for packets of sockets that never sent";
  defs.push_back(Defined(kNetPacketDns,
                         {
                             .description = absl::StrCat(
                                 "a DNS message (UDP or TCP port 53, IPv4 or IPv6, both directions; at most "
                                 "512 bytes are read): metadata and the whole message decoded (header, "
                                 "questions, answers, authorities, additionals)",
                                 kDnsOwner),
                             .sets = {"net", "network_events", "net_packet_dns"},
                             .dependencies = {"net_packet_capture"},
                         }));
  defs.push_back(Defined(kNetPacketDnsRequest,
                         {
                             .description = absl::StrCat(
                                 "a DNS query: metadata and its questions (query, type, class)", kDnsOwner),
                             .sets = {"net", "network_events", "net_packet_dns"},
                             .dependencies = {"net_packet_capture"},
                         }));
  defs.push_back(Defined(
      kNetPacketDnsResponse,
      {
          .description = absl::StrCat("a DNS answer: metadata and, per question, its answers (type, TTL, the "
                                      "address, name or text); fills the DNS cache that names connection "
                                      "peers (dst_dns of security_socket_connect and net_tcp_connection)",
                                      kDnsOwner),
          .sets = {"net", "network_events", "net_packet_dns"},
          .dependencies = {"net_packet_capture"},
      }));
  const char* kHttpWhat =
      "plain-text HTTP/1.x on any TCP port, recognised from the segment's first bytes (a method or "
      "\"HTTP/1.\"), not the port; only the head is read (up to its empty line, at most 2048 bytes); "
      "HTTPS and HTTP/2 stay opaque";
  // The HTTP and ICMP events: programs of net_packet_capture, the owner as for DNS.
  auto packet_event = [&](uint32_t id, std::string what, std::vector<std::string> sets) {
    defs.push_back(Defined(id, {
                                   .description = absl::StrCat(what, kDnsOwner),
                                   .sets = std::move(sets),
                                   .dependencies = {"net_packet_capture"},
                               }));
  };
  const std::vector<std::string> kHttpSets = {"net", "network_events", "net_packet_http"};
  packet_event(kNetPacketHttp,
               absl::StrCat("an HTTP request or response: addresses, ports, direction and the head decoded "
                            "(method, host, path, status, headers, content length); ",
                            kHttpWhat),
               kHttpSets);
  packet_event(
      kNetPacketHttpRequest,
      absl::StrCat("an HTTP request: metadata, method, protocol, host, path, headers (User-Agent...) "
                   "and content length; ",
                   kHttpWhat),
      kHttpSets);
  packet_event(kNetPacketHttpResponse,
               absl::StrCat("an HTTP response: metadata, status, status code, protocol, headers and content "
                            "length; ",
                            kHttpWhat),
               kHttpSets);
  packet_event(kNetPacketIcmp,
               "an ICMP message over IPv4, both directions: addresses, direction, type and code by name, "
               "checksum, and the echo identifier and sequence number (what the kernel sends itself, echo "
               "replies and errors, names no process)",
               {"net", "network_events"});
  packet_event(kNetPacketIcmpv6,
               "an ICMPv6 message (IPv6 without extension headers), both directions: addresses, direction, "
               "type and code by name, checksum, and for echoes the identifier and sequence number (what the "
               "kernel sends itself, echo replies and errors, names no process)",
               {"net", "network_events"});
  // Tracee's security_bpf_prog is an LSM hook, refused here; this is the
  // syscall's view of the same act: a BPF program being loaded.
  defs.push_back(
      Defined(kBpfProgLoad,
              {
                  .description =
                      "bpf(BPF_PROG_LOAD): a process loads a BPF program; returnValue is its fd or the error",
                  .sets = {"security", "proc"},
                  .probes = SyscallExitProbes({"bpf"}, VG_CONSUMER_BPF_PROG_LOAD),
              }));
  // Tracee's is the LSM hook (refused here); this is the syscalls' view, at
  // their exit, with the result.
  defs.push_back(Defined(
      kSecuritySbMount,
      {
          .description =
              "a filesystem is being mounted: mount(2) (dev_name, type and flags as given, the target "
              "made full against the cwd) or move_mount(2), the new mount API's attach step (the "
              "source's device name and filesystem type from its fsmount/open_tree fd); "
              "returnValue is the syscall's result",
          .sets = {"lsm_hooks", "fs", "security"},
          .probes = SyscallExitProbes({"mount", "move_mount"}, VG_CONSUMER_SB_MOUNT),
      }));
}

}  // namespace vigil::events

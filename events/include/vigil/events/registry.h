// The event registry: every event vigil can emit, with its arguments, the
// probes it needs, the events it depends on and the capabilities it needs.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "vigil/caps/cap_set.h"

namespace vigil::events {

// How user space renders an argument value (SPEC §2.1 decoding).
enum class ArgFormat : uint8_t {
  kInt,   // signed decimal
  kUint,  // unsigned decimal
  kHex,   // pointers, addresses: "0x7ffd..."
  kBool,
  kString,
  kStringArray,  // argv/envp as captured from a user array
  kArgvBlob,     // NUL-separated argument area of a process
  kSockaddr,     // {"sa_family":"AF_INET","sin_addr":...}
  kOpenFlags,    // "O_RDONLY|O_CLOEXEC"
  kMode,         // "S_IFREG|0644" style (mode_t)
  kSignal,       // "SIGKILL"
  kCapability,   // "CAP_SYS_ADMIN"
  kProt,         // "PROT_READ|PROT_EXEC"
  kCloneFlags,
  kDirfd,           // AT_FDCWD shown as -100 (kept numeric, as Tracee does)
  kAccessMode,      // "F_OK|R_OK"
  kBytes,           // raw memory, as lowercase hex ("7f454c46")
  kSyscallName,     // x86-64 syscall number: "openat"
  kCapCheckResult,  // 0: "granted", else the errno: "EPERM"
  kTcpState,        // "TCP_ESTABLISHED"
  kSocketDomain,    // "AF_INET"
  kSocketType,      // "SOCK_STREAM|SOCK_CLOEXEC"
  kPtraceRequest,   // "PTRACE_ATTACH"
  kPrctlOption,     // "PR_SET_NAME"
  kBpfCmd,          // "BPF_PROG_LOAD"
  kNamespaceFlags,  // unshare/setns: "CLONE_NEWNS|CLONE_NEWUSER" (0 for setns: "0")
  kIpProtocol,      // "IPPROTO_TCP"
  kIpv4Addr,        // an IPv4 address in network byte order: "127.0.0.1"
  kDirection,       // 1 "outbound", 2 "inbound" (connections); 3 "egress", 4 "ingress" (packets)
  kCapabilitySet,   // a u64 capability mask: ["CAP_SETUID", "CAP_NET_RAW"] (empty list: none)
  kFileType,        // the S_IFMT bits of a mode: "S_IFIFO", "S_IFCHR", "S_IFREG"...
  kMmapFlags,       // mmap flags: "MAP_PRIVATE|MAP_ANONYMOUS"
  kBpfProgType,     // "BPF_PROG_TYPE_KPROBE"
  // Packet events: the kernel's bytes, kept raw by the decoder and rendered
  // (as Tracee's JSON objects) by the pipeline's network enrichment.
  kPacketMetadata,  // struct vg_pkt_meta -> {"src_ip":...,"dst_port":53,...}
  kDnsMessage,      // a DNS message -> Tracee's ProtoDNS
  kDnsQuestions,    // a DNS message -> [{"query":...,"query_type":"A","query_class":"IN"}]
  kDnsResponse,     // a DNS message -> [{"query_data":{...},"dns_answer":[...]}]
  kPacketDirection, // struct vg_pkt_meta -> Tracee's PacketMetadata {"direction":"egress"}
  kHttpMessage,     // an HTTP/1.x head -> Tracee's ProtoHTTP (request or response)
  kHttpRequest,     // an HTTP/1.x request head -> ProtoHTTPRequest {"method":...,"uri_path":...}
  kHttpResponse,    // an HTTP/1.x status head -> ProtoHTTPResponse {"status_code":200,...}
  kIcmp,            // an ICMP header -> ProtoICMP {"typeCode":"EchoRequest","id":...,"seq":...}
  kIcmpv6,          // an ICMPv6 header -> ProtoICMPv6 {"typeCode":...} (id, seq for echoes)
};

// What the kernel side captures for a syscall argument (vigil_event.h VG_CAPTURE_*).
enum class Capture : uint8_t { kNone = 0, kValue = 1, kString = 2, kStringArray = 3, kSockaddr = 4 };

struct ArgDef {
  std::string name;  // Tracee's name where it has one ("pathname")
  std::string type;  // C type shown in JSON "type" ("const char*")
  ArgFormat format = ArgFormat::kInt;
  Capture capture = Capture::kValue;
};

// One way of attaching a probe. Alternatives are tried in order.
enum class AttachKind : uint8_t {
  kTpBtf,               // program SEC("tp_btf/...")
  kRawTracepoint,       // program SEC("raw_tp/...")
  kTracepoint,          // program SEC("tracepoint"), target "category/name"
  kSyscallTracepoints,  // generic enter/exit programs on syscalls/sys_{enter,exit}_<target>
  kRawSyscalls,         // the raw_syscalls:sys_enter/sys_exit dispatcher
  kCgroupSkb,           // program SEC("cgroup_skb/..."), attached to the cgroup v2 root (target "/")
};
const char* AttachKindName(AttachKind kind);

struct ProbeAlternative {
  AttachKind kind;
  std::vector<std::string> programs;  // BPF program names in the skeleton
  std::string target;                 // tracepoint name or syscall name
  // On the raw_syscalls dispatcher (kRawTracepoint, vg_raw_sys_enter/exit):
  // the consumer (enum vg_consumer) the loader marks these syscalls' specs
  // with, so that the dispatcher calls the event's handler for them.
  int consumer = -1;
  std::vector<int> consumer_syscalls;
};

struct ProbeDef {
  std::string name;  // e.g. "sched_process_exec" or "syscall:openat"
  bool required = true;
  std::vector<ProbeAlternative> alternatives;  // in order of preference
};

struct EventCaps {
  caps::CapSet base;  // needed for the whole run
  caps::CapSet ebpf;  // needed only while its programs are set up
};

// What a detection (an event of set `signatures`) says about itself; shown as
// Tracee's `metadata` (SPEC §2.2). Filled by rules/ (vigil_rules).
struct DetectionMeta {
  std::string version = "1";
  std::string description;  // Tracee's threat description (metadata.Description)
  std::vector<std::string> tags;
  std::string signature_id;    // "TRC-102"
  std::string signature_name;  // "Anti-Debugging detected"
  int severity = 0;            // 0 info, 1 low, 2 medium, 3 high, 4 critical
  std::string category;        // "defense-evasion"
  std::string technique;       // MITRE technique name: "Debugger Evasion"
  std::string external_id;     // MITRE id: "T1622"
  std::string tactic;          // MITRE tactic: "Defense Evasion"
  bool needs_exec_env = false; // reads sched_process_exec's env: the sensor turns on --exec-env
  std::vector<std::string> missing_inputs;  // inputs this build does not have (not in dependencies)
  std::string unavailable;  // non-empty: cancelled on this build, and why
  std::string origin;       // "rules/builtin/tracee.yaml:12" or a detector's name
};

// An io_uring operation reported as an event (bpf/io_uring.bpf.h): the op,
// the kernel tracepoint it is read at and the kernel type (vmlinux BTF) its
// decoding needs.
struct IoUringOp {
  std::string op;          // "IORING_OP_OPENAT"
  std::string tracepoint;  // "io_uring_submit_req"
  std::string kernel_type; // "io_open": the op's struct at io_kiocb's cmd
};

struct EventDef {
  uint32_t id = 0;
  std::string name;
  std::string description;
  std::vector<std::string> sets;
  std::vector<ArgDef> args;
  std::vector<ProbeDef> probes;
  std::vector<std::string> dependencies;  // event names
  EventCaps caps;
  int syscall_nr = -1;        // >= 0 for syscall events
  bool emit_at_entry = false; // exit, exit_group: they do not return
  bool deferred_exec = false; // execve, execveat: emitted at exec (success) or exit (failure)
  bool internal = false;      // not selectable by users
  std::vector<IoUringOp> io_uring_ops;  // io_uring operations reported as this event too
  std::shared_ptr<const DetectionMeta> detection;  // set for detections only

  bool is_syscall() const { return syscall_nr >= 0; }
  const ArgDef* FindArg(std::string_view arg_name) const;
  int ArgIndex(std::string_view arg_name) const;  // -1 when absent
};

class Registry {
 public:
  explicit Registry(std::vector<EventDef> defs);

  // The events this build of vigil ships (syscalls, lifecycle, ...).
  static const Registry& Builtin();

  // Adds detections (rules::DetectionEngine::event_defs()) to Builtin(); call
  // once at start, before other threads read the registry. Definitions already
  // handed out stay valid (the storage is a deque). Id or name clashes and
  // unknown dependencies are errors.
  static absl::Status AddBuiltinDetections(std::vector<EventDef> defs);
  // The same for this registry.
  absl::Status Add(std::vector<EventDef> defs);

  const EventDef* Find(std::string_view name) const;
  const EventDef* FindId(uint32_t id) const;
  const std::deque<EventDef>& all() const { return defs_; }
  bool IsSet(std::string_view set) const { return sets_.contains(std::string(set)); }
  const std::set<std::string>& sets() const { return sets_; }

  // Expands -e items: names, "tag=SET", "prefix*", "-name" (exclusion, applied
  // last). Unknown names and sets are errors that name them.
  absl::StatusOr<std::set<uint32_t>> Expand(const std::vector<std::string>& items) const;

  // The selection plus every event it depends on, transitively.
  std::set<uint32_t> WithDependencies(const std::set<uint32_t>& ids) const;

  // Events that depend (transitively) on `id`, not including `id` itself.
  std::set<uint32_t> Dependents(uint32_t id, const std::set<uint32_t>& among) const;

  // The event's own capabilities merged with those of its dependencies.
  EventCaps CapsClosure(uint32_t id) const;

 private:
  std::deque<EventDef> defs_;
  std::map<std::string, size_t, std::less<>> by_name_;
  std::map<uint32_t, size_t> by_id_;
  std::set<std::string> sets_;
};

}  // namespace vigil::events

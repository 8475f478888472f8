// io_uring operations as the events of their syscall twins. An SQE's open,
// connect, write, rename or unlink runs in the kernel without a syscall of
// its own; bpf/io_uring.bpf.h reads the prepared request at the
// io_uring:io_uring_submit_req tracepoint (and a finished open at
// io_uring:io_uring_complete) and emits the twin's record marked io_uring.
// Two internal events own those programs; every twin depends on one, so
// selecting the twin loads them.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "defined_events.h"
#include "security_events.h"
#include "vigil/events/event_ids.h"

namespace vigil::events {
namespace {

constexpr const char* kSubmit = "io_uring_submit_req";
constexpr const char* kComplete = "io_uring_complete";

// An io_uring tracepoint through BTF (tp_btf), else as a raw tracepoint.
// Optional: a kernel without it (or that refuses both programs) leaves the
// twins running without their io_uring operations, which `vigil list` says.
ProbeDef IoUringProbe(const std::string& tracepoint) {
  return ProbeDef{.name = "io_uring:" + tracepoint,
                  .required = false,
                  .alternatives = {{AttachKind::kTpBtf, {"vg_btf_iou_" + tracepoint}, tracepoint},
                                   {AttachKind::kRawTracepoint, {"vg_raw_iou_" + tracepoint}, tracepoint}}};
}

struct Twin {
  const char* event;
  std::vector<IoUringOp> ops;
};

IoUringOp Op(const char* op, const char* type, const char* tracepoint = kSubmit) {
  return IoUringOp{.op = op, .tracepoint = tracepoint, .kernel_type = type};
}

}  // namespace

void AddIoUringEvents(std::vector<EventDef>& defs) {
  defs.push_back(Defined(kIoUringSubmit,
                         {
                             .description = "io_uring requests at submission, prepared by the kernel: the "
                                            "operations reported as their syscall and security twins",
                             .probes = {IoUringProbe(kSubmit)},
                             .internal = true,
                         }));
  defs.push_back(Defined(kIoUringComplete,
                         {
                             .description = "io_uring completions: finished opens reported as security_file_open",
                             .probes = {IoUringProbe(kComplete)},
                             .internal = true,
                         }));
  const std::vector<Twin> twins = {
      {"openat", {Op("IORING_OP_OPENAT", "io_open")}},
      {"openat2", {Op("IORING_OP_OPENAT2", "io_open")}},
      {"connect", {Op("IORING_OP_CONNECT", "io_connect")}},
      {"write", {Op("IORING_OP_WRITE", "io_rw")}},
      {"writev", {Op("IORING_OP_WRITEV", "io_rw")}},
      {"renameat2", {Op("IORING_OP_RENAMEAT", "io_rename")}},
      {"unlinkat", {Op("IORING_OP_UNLINKAT", "io_unlink")}},
      {"mkdirat", {Op("IORING_OP_MKDIRAT", "io_mkdir")}},
      {"magic_write", {Op("IORING_OP_WRITE", "io_rw")}},
      {"security_socket_connect", {Op("IORING_OP_CONNECT", "io_connect")}},
      {"security_inode_rename", {Op("IORING_OP_RENAMEAT", "io_rename")}},
      {"security_inode_unlink", {Op("IORING_OP_UNLINKAT", "io_unlink")}},
      {"security_file_open",
       {Op("IORING_OP_OPENAT", "io_open", kComplete), Op("IORING_OP_OPENAT2", "io_open", kComplete)}},
  };
  for (const Twin& t : twins) {
    for (EventDef& d : defs) {
      if (d.name != t.event) continue;
      d.io_uring_ops = t.ops;
      std::vector<std::string> names;
      bool at_completion = false;
      for (const IoUringOp& op : t.ops) {
        names.push_back(op.op);
        at_completion |= op.tracepoint == kComplete;
        if (std::find(d.dependencies.begin(), d.dependencies.end(), op.tracepoint) == d.dependencies.end())
          d.dependencies.push_back(op.tracepoint);
      }
      absl::StrAppend(&d.description, "; also io_uring's ", absl::StrJoin(names, ", "),
                      at_completion ? " (at completion" : " (at submission, returnValue 0",
                      ", marked \"ioUring\":true)");
    }
  }
}

}  // namespace vigil::events

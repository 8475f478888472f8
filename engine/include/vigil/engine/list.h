// `vigil list`: the registry as a table or JSON.
#pragma once

#include <ostream>
#include <string>

#include "vigil/events/registry.h"

struct btf;

namespace vigil::engine {

// Why bpf/io_uring.bpf.h cannot decode io_uring operation `op` on the kernel
// described by `kernel_btf` (its tracepoint, io_kiocb's cmd area or the op's
// struct missing; no BTF at all), or "" when it can. Shown by `vigil list`.
std::string IoUringNotDecodedReason(const btf* kernel_btf, const events::IoUringOp& op);

int PrintRegistry(std::ostream& out, bool json);

}  // namespace vigil::engine

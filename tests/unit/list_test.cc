// `vigil list`'s io_uring coverage (engine/src/list.cc): whether a kernel's
// BTF lets bpf/io_uring.bpf.h decode an operation, on BTF built by hand with
// and without each piece it needs.
#include "vigil/engine/list.h"

#include <bpf/btf.h>

#include <memory>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vigil::engine {
namespace {

using ::testing::HasSubstr;

struct KernelBtf {
  bool tracepoint = true;  // btf_trace_io_uring_submit_req
  bool cmd = true;         // io_kiocb's anonymous union holds `cmd`
  bool op_type = true;     // struct io_open
};

std::unique_ptr<btf, decltype(&btf__free)> Build(const KernelBtf& k) {
  std::unique_ptr<btf, decltype(&btf__free)> b(btf__new_empty(), &btf__free);
  int u64 = btf__add_int(b.get(), "u64", 8, 0);
  int ptr = btf__add_ptr(b.get(), u64);
  if (k.tracepoint) btf__add_typedef(b.get(), "btf_trace_io_uring_submit_req", ptr);
  int cmd_data = btf__add_struct(b.get(), "io_cmd_data", 64);
  btf__add_field(b.get(), "file", ptr, 0, 0);
  int anon = btf__add_union(b.get(), nullptr, 64);
  btf__add_field(b.get(), "file", ptr, 0, 0);
  if (k.cmd) btf__add_field(b.get(), "cmd", cmd_data, 0, 0);
  btf__add_struct(b.get(), "io_kiocb", 72);
  btf__add_field(b.get(), nullptr, anon, 0, 0);
  btf__add_field(b.get(), "opcode", u64, 512, 0);
  if (k.op_type) {
    btf__add_struct(b.get(), "io_open", 8);
    btf__add_field(b.get(), "file", ptr, 0, 0);
  }
  return b;
}

const events::IoUringOp kOpen{.op = "IORING_OP_OPENAT", .tracepoint = "io_uring_submit_req", .kernel_type = "io_open"};

TEST(IoUringCoverage, DecodedWhereTheKernelHasEveryPiece) {
  EXPECT_EQ(IoUringNotDecodedReason(Build({}).get(), kOpen), "");
}

TEST(IoUringCoverage, EachMissingPieceIsNamed) {
  EXPECT_THAT(IoUringNotDecodedReason(Build({.tracepoint = false}).get(), kOpen),
              HasSubstr("no io_uring:io_uring_submit_req tracepoint"));
  EXPECT_THAT(IoUringNotDecodedReason(Build({.cmd = false}).get(), kOpen), HasSubstr("no cmd area"));
  EXPECT_THAT(IoUringNotDecodedReason(Build({.op_type = false}).get(), kOpen), HasSubstr("no struct io_open"));
  EXPECT_THAT(IoUringNotDecodedReason(nullptr, kOpen), HasSubstr("no kernel BTF"));
}

TEST(IoUringCoverage, ListShowsEachTwinsOperations) {
  std::ostringstream text, json;
  PrintRegistry(text, false);
  PrintRegistry(json, true);
  EXPECT_THAT(text.str(), HasSubstr("io_uring:IORING_OP_OPENAT"));
  EXPECT_THAT(json.str(), HasSubstr("\"ioUring\":[{\"op\":\"IORING_OP_OPENAT\",\"tracepoint\":\"io_uring_submit_req\""));
}

}  // namespace
}  // namespace vigil::engine

// User-space cost per event: decode a ring-buffer record and render it as a
// JSON line, on one core, for a typical openat record and an exec record
// with argv. Prints events/s for each; no kernel or privileges needed.
#include <time.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "record_builder.h"
#include "vigil/engine/json.h"
#include "vigil/events/decoder.h"
#include "vigil/events/event_ids.h"
#include "vigil_event.h"

namespace {

using vigil::events::Registry;

using vigil::test_support::RecordBuilder;  // tests/support/record_builder.h

// The header every benchmark record carries.
RecordBuilder BenchRecord(uint32_t event_id, int32_t nr) {
  vg_event_header h{};
  h.ts_boot_ns = 123456789;
  h.event_id = event_id;
  h.syscall_nr = nr;
  h.host_pid = h.pid = h.host_tid = h.tid = 4242;
  h.host_ppid = h.ppid = 1;
  std::strcpy(h.comm, "cat");
  h.policies = 1;
  return RecordBuilder(h);
}

double Seconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

double Measure(const std::vector<uint8_t>& record, int n) {
  vigil::events::Decoder decoder(Registry::Builtin(), 0);
  vigil::events::Event event;
  std::vector<std::string> policies = {"default"};
  std::string out;
  out.reserve(1 << 20);
  size_t bytes = 0;
  double start = Seconds();
  for (int i = 0; i < n; ++i) {
    if (!decoder.Decode(record, event).ok()) return 0;
    event.executable = "/usr/bin/cat";
    event.host_name = "host";
    vigil::engine::AppendEventJson(out, event, policies);
    if (out.size() > (1 << 20) - 4096) {  // as a sink flushes its buffer
      bytes += out.size();
      out.clear();
    }
  }
  double elapsed = Seconds() - start;
  bytes += out.size();
  std::fprintf(stderr, "  (%zu bytes of JSON)\n", bytes);
  return n / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 1000000;
  RecordBuilder open = BenchRecord(257, 257);
  open.U64(0, static_cast<uint64_t>(-100)).Str(1, "/etc/ld.so.cache").U64(2, 02000000).U64(3, 0);
  RecordBuilder exec = BenchRecord(vigil::events::kSchedProcessExec, -1);
  exec.Str(0, "/usr/bin/cat")
      .Str(1, "/usr/bin/cat")
      .U64(2, 0x10300000)
      .U64(3, 247304)
      .U64(4, 1663687647000000000ULL)
      .U64(5, 0100755)
      .Str(7, std::string_view("cat\0-n\0/etc/hostname\0", 22), VG_KIND_BYTES)
      .U64(8, 3);
  std::printf("openat: %.0f events/s\n", Measure(open.Build(), n));
  std::printf("sched_process_exec (argv): %.0f events/s\n", Measure(exec.Build(), n / 2));
  return 0;
}

// User-space cost per event: decode a ring-buffer record and render it as a
// JSON line, on one core, for a typical openat record and an exec record
// with argv. Prints events/s for each; no kernel or privileges needed.
#include <time.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "vigil/engine/json.h"
#include "vigil/events/decoder.h"
#include "vigil/events/event_ids.h"
#include "vigil_event.h"

namespace {

using vigil::events::Registry;

class RecordBuilder {
 public:
  explicit RecordBuilder(uint32_t event_id, int32_t nr) {
    vg_event_header h{};
    h.ts_boot_ns = 123456789;
    h.event_id = event_id;
    h.syscall_nr = nr;
    h.host_pid = h.pid = h.host_tid = h.tid = 4242;
    h.host_ppid = h.ppid = 1;
    std::strcpy(h.comm, "cat");
    h.policies = 1;
    buf_.resize(sizeof(h));
    std::memcpy(buf_.data(), &h, sizeof(h));
  }
  void U64(uint8_t index, uint64_t v) {
    Head(index, VG_KIND_U64);
    Append(&v, 8);
  }
  void Str(uint8_t index, uint8_t kind, const std::string& s) {
    Head(index, kind);
    uint16_t len = static_cast<uint16_t>(s.size());
    Append(&len, 2);
    Append(s.data(), s.size());
  }
  std::vector<uint8_t> Done() {
    auto* h = reinterpret_cast<vg_event_header*>(buf_.data());
    h->args_size = static_cast<uint32_t>(buf_.size() - sizeof(vg_event_header));
    h->argc = argc_;
    return buf_;
  }

 private:
  void Head(uint8_t index, uint8_t kind) {
    buf_.push_back(index);
    buf_.push_back(kind);
    ++argc_;
  }
  void Append(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    buf_.insert(buf_.end(), b, b + n);
  }
  std::vector<uint8_t> buf_;
  uint8_t argc_ = 0;
};

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
  RecordBuilder open(257, 257);
  open.U64(0, static_cast<uint64_t>(-100));
  open.Str(1, VG_KIND_STR, "/etc/ld.so.cache");
  open.U64(2, 02000000);
  open.U64(3, 0);
  RecordBuilder exec(vigil::events::kSchedProcessExec, -1);
  exec.Str(0, VG_KIND_STR, "/usr/bin/cat");
  exec.Str(1, VG_KIND_STR, "/usr/bin/cat");
  exec.U64(2, 0x10300000);
  exec.U64(3, 247304);
  exec.U64(4, 1663687647000000000ULL);
  exec.U64(5, 0100755);
  exec.Str(7, VG_KIND_BYTES, std::string("cat\0-n\0/etc/hostname\0", 22));
  exec.U64(8, 3);
  std::printf("openat: %.0f events/s\n", Measure(open.Done(), n));
  std::printf("sched_process_exec (argv): %.0f events/s\n", Measure(exec.Done(), n / 2));
  return 0;
}

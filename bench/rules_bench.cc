// Events per second through the whole built-in rule set (every detection
// enabled) for openat and security_file_open records, on one core, and the
// heap allocations made per event (counted by a replaced operator new).
//
//   ./build/bench/rules_bench [events]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <set>
#include <string>
#include <vector>

#include "vigil/events/event.h"
#include "vigil/events/format.h"
#include "vigil/events/registry.h"
#include "vigil/rules/rules.h"

#include "alloc_counter.h"
#include "synthetic_process.h"

namespace {

using namespace vigil;

events::Event Make(const events::EventDef* def, const std::string& path, int64_t flags) {
  events::Event e = test_support::EventFrom(
      def, {.comm = "cc1", .executable = "/usr/libexec/gcc/x86_64-linux-gnu/12/cc1", .parent_comm = "gcc"});
  e.retval = 3;
  for (size_t i = 0; i < def->args.size(); ++i) {
    const events::ArgDef& a = def->args[i];
    if (a.name == "pathname")
      e.SetArg(i).value = path;
    else if (a.name == "flags")
      e.SetArg(i).value = events::TypedInteger(a, static_cast<uint64_t>(flags));  // as decoded
    else if (a.name == "dirfd")
      e.SetArg(i).value = int64_t{-100};
    else if (a.name == "mode")
      e.SetArg(i).value = events::TypedInteger(a, 0);
  }
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 5'000'000;
  const events::Registry& reg = events::Registry::Builtin();
  auto engine = rules::DetectionEngine::Create({}, reg);
  if (!engine.ok()) {
    std::fprintf(stderr, "rules: %s\n", std::string(engine.status().message()).c_str());
    return 1;
  }
  std::set<uint32_t> all;
  for (const events::EventDef& d : (*engine)->event_defs()) all.insert(d.id);
  (*engine)->Enable(all);

  // A compile-like mix: libraries, headers, /proc, temporaries; some writes.
  const char* paths[] = {"/usr/lib/x86_64-linux-gnu/libc.so.6",
                         "/etc/ld.so.cache",
                         "/usr/include/stdio.h",
                         "/proc/self/stat",
                         "/tmp/ccX1a2b3.s",
                         "/home/u/src/main.c",
                         "/etc/passwd",
                         "/usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h",
                         "/dev/null",
                         "/var/log/syslog"};
  std::vector<events::Event> evs;
  for (const char* name : {"openat", "security_file_open"})
    for (const char* p : paths)
      for (int64_t flags : {int64_t{0} /*O_RDONLY*/, int64_t{01 | 0100 | 01000} /*O_WRONLY|O_CREAT|O_TRUNC*/,
                            int64_t{02000000} /*O_CLOEXEC*/})
        evs.push_back(Make(reg.Find(name), p, flags));

  rules::NoProcessLookup lookup;
  uint64_t detections = 0;
  auto count = [&](const rules::Detection&) { ++detections; };
  for (size_t i = 0; i < evs.size() * 100; ++i)
    (*engine)->OnEvent(evs[i % evs.size()], lookup, count);  // warm
  detections = 0;
  uint64_t allocs_before = vigil::test_support::Allocations();
  auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < n; ++i) (*engine)->OnEvent(evs[i % evs.size()], lookup, count);
  auto t1 = std::chrono::steady_clock::now();
  uint64_t allocs = vigil::test_support::Allocations() - allocs_before;
  double s = std::chrono::duration<double>(t1 - t0).count();
  std::printf(
      "rules_bench: %zu events (openat + security_file_open, %zu detections enabled) in %.3f s: %.2f M "
      "events/s, "
      "%.1f ns/event; %lu detections; %lu heap allocations (%.4f per event, all in detections' output)\n",
      n, all.size(), s, n / s / 1e6, s * 1e9 / n, static_cast<unsigned long>(detections),
      static_cast<unsigned long>(allocs), static_cast<double>(allocs) / n);
  return 0;
}

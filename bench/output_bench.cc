// Events/s one output sustains against its server: N synthetic openat events
// (a real openat definition, ~700 bytes of JSON each) written through the
// output as the sensor would, never more than WINDOW queued and unsent, timed
// from the first Write to the last delivery (sent == N). No kernel needed.
//   output_bench -o SPEC [-n N] [--webhook-format falco] [--kafka-opt K=V]...
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "vigil/engine/outputs/output.h"
#include "vigil/events/registry.h"

using namespace vigil;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  std::string spec;
  uint64_t n = 200000, window = 20000;
  engine::OutputOptions options;
  options.queue_bytes = 64u << 20;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-o" && i + 1 < argc)
      spec = argv[++i];
    else if (a == "-n" && i + 1 < argc)
      n = std::stoull(argv[++i]);
    else if (a == "--webhook-format" && i + 1 < argc && std::strcmp(argv[++i], "falco") == 0)
      options.webhook_format = engine::WebhookFormat::kFalco;
    else if (a == "--kafka-opt" && i + 1 < argc)
      options.kafka_options.push_back(argv[++i]);
    else {
      std::fprintf(stderr, "usage: output_bench -o SPEC [-n N] [--webhook-format falco] [--kafka-opt K=V]\n");
      return 2;
    }
  }
  const events::EventDef* def = events::Registry::Builtin().Find("openat");
  std::vector<std::string> names = {"default"};
  engine::OutputContext context{.policy_names = &names, .host_name = "bench-host"};
  auto outputs = engine::Outputs::Open({spec}, options, context);
  if (!outputs.ok()) {
    std::fprintf(stderr, "%s\n", std::string(outputs.status().message()).c_str());
    return 2;
  }
  (*outputs)->Start();
  events::Event e;
  e.def = def;
  e.comm = "cat";
  e.host_name = "bench-host";
  e.executable = "/usr/bin/cat";
  e.parent_comm = "bash";
  e.policies = 1;
  e.pid = e.tid = e.host_pid = e.host_tid = 4242;
  for (const events::ArgDef& a : def->args) {
    events::Arg arg;
    arg.def = &a;
    if (a.name == "pathname")
      arg.value = std::string("/var/lib/app/data/some/longer/path/to/a/file.json");
    else
      arg.value = int64_t{0};
    e.args.push_back(std::move(arg));
  }
  auto stats = [&] { return (*outputs)->Stats()[0]; };
  const auto start = Clock::now();
  uint64_t written = 0;
  while (written < n) {
    engine::OutputStats s = stats();
    if (written - s.sent - s.dropped >= window) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      continue;
    }
    for (int k = 0; k < 500 && written < n; ++k, ++written) {
      e.timestamp_ns = 1764370000000000000ull + written;
      (*outputs)->Write(e);
    }
    (*outputs)->Flush();
  }
  while (true) {
    engine::OutputStats s = stats();
    if (s.sent + s.dropped >= n || Clock::now() - start > std::chrono::seconds(120)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  engine::OutputStats s = stats();
  (*outputs)->Stop(Clock::now() + std::chrono::seconds(1));
  std::printf("%s: %llu events in %.3f s: %.0f events/s (sent %llu, dropped %llu, retried %llu)\n",
              spec.c_str(), static_cast<unsigned long long>(n), secs, static_cast<double>(s.sent) / secs,
              static_cast<unsigned long long>(s.sent), static_cast<unsigned long long>(s.dropped),
              static_cast<unsigned long long>(s.retried));
  return s.sent == n ? 0 : 1;
}

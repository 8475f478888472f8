// The sensor run: selection -> capabilities -> load/attach -> poll/decode/sink -> clean stop.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vigil/engine/bpf_sensor.h"
#include "vigil/engine/outputs/output.h"

namespace vigil::rules {
class DetectionEngine;
}

namespace vigil::engine {

struct SensorOptions {
  std::vector<std::string> events;        // -e
  std::vector<std::string> scopes;        // -s
  std::vector<std::string> policy_paths;  // -p
  std::vector<std::string> rules;         // --rules (loaded by LoadDetections before the selection)
  std::vector<std::string> outputs;       // -o
  OutputOptions output_options;           // --output-filter, --webhook-*, --kafka-opt
  std::vector<std::string> capabilities;  // -C
  std::string ready_file;
  // Counters in Prometheus text format (node_exporter's textfile collector
  // reads such files), rewritten atomically every second and at stop.
  std::string metrics_file;
  // --listen ADDR:PORT: GET /healthz and GET /metrics (checked by main).
  std::string listen;
  std::optional<uint64_t> duration_ms;
  std::optional<uint64_t> max_events;
  uint32_t ring_bytes = 16u << 20;
  SyscallHook syscall_hook = SyscallHook::kAuto;
  // --exec-env: sched_process_exec also carries the environment (never read otherwise).
  bool exec_env = false;
  // `vigil caps audit`: record the kernel's capability checks for the whole
  // run and print the report (format "text" or "json") on stdout at the end.
  bool audit = false;
  // The loaded rules (LoadDetections); null: no detection can be selected.
  rules::DetectionEngine* detections = nullptr;
  std::string audit_format = "text";
};

// Exit status per SPEC §1: 0 clean stop, 1 cannot run, 2 bad usage/policy.
int RunSensor(const SensorOptions& options);

// "10s", "2m", "500ms", "1h" -> milliseconds.
bool ParseDuration(std::string_view text, uint64_t& ms);
// "16M", "4096K", "1G", "65536" -> bytes.
bool ParseSize(std::string_view text, uint64_t& bytes);

}  // namespace vigil::engine

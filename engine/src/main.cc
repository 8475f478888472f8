// vigil: command line.
#include <malloc.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "vigil/engine/cli_config.h"
#include "vigil/engine/http_server.h"
#include "vigil/engine/detections.h"
#include "vigil/engine/list.h"
#include "vigil/engine/log.h"
#include "vigil/engine/sensor.h"
#include "vigil/engine/startup.h"
#include "vigil/version.h"

namespace {

using vigil::engine::LogLevel;

constexpr const char* kVersion = VIGIL_VERSION;

void AddSelectionFlags(CLI::App& app, vigil::engine::SensorOptions& o) {
  app.add_option("-e,--events", o.events,
                 "events: names, tag=SET, prefix*, -name to exclude (comma list, repeatable)")
      ->delimiter(',')
      ->allow_extra_args(false);
  app.add_option("-s,--scope", o.scopes, "scope filter (repeatable, ANDed)")->allow_extra_args(false);
  app.add_option("-p,--policy", o.policy_paths, "policy file or directory (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--rules", o.rules,
                 "rule file or directory of *.yaml (repeatable): added to the built-in rules, "
                 "overriding them by name")
      ->allow_extra_args(false);
}

// A `caps` subcommand: the sensor's selection flags and its -C.
CLI::App* AddCapsSubcommand(CLI::App& caps, const char* name, const char* description,
                            vigil::engine::SensorOptions& o) {
  CLI::App* sub = caps.add_subcommand(name, description);
  AddSelectionFlags(*sub, o);
  sub->add_option("-C,--capabilities", o.capabilities, "bypass=, add=, drop= as for the sensor")
      ->allow_extra_args(false);
  return sub;
}

// The built-in rules and --rules, loaded into the registry before anything
// resolves an event name. Exit status 2 on a broken rule file.
int LoadRules(vigil::engine::SensorOptions& o, std::unique_ptr<vigil::rules::DetectionEngine>& engine) {
  absl::StatusOr<std::unique_ptr<vigil::rules::DetectionEngine>> loaded =
      vigil::engine::LoadDetections(o.rules);
  if (!loaded.ok()) {
    std::cerr << "vigil: " << loaded.status().message() << "\n";
    return 2;
  }
  engine = std::move(*loaded);
  o.detections = engine.get();
  return 0;
}

// Every private writable mapping the heap creates or grows (brk, mmap of a
// large block, mremap, a new thread arena) asks the kernel's overcommit
// accounting whether the caller holds CAP_SYS_ADMIN (security_vm_enough_memory:
// root may dip into the admin reserve). Without the capability each is a denied
// check, which `vigil caps audit` would show in the steady state. One arena,
// grown in large steps from brk and never trimmed, and a heap reserved at
// start-up (ReserveHeap, address space only: no page is touched) keep the
// steady state free of them.
void QuietHeap() {
  mallopt(M_ARENA_MAX, 1);
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 32 << 20);
}

}  // namespace

int main(int argc, char** argv) {
  QuietHeap();
  CLI::App app{"vigil: an eBPF runtime-security sensor that holds only the capabilities it needs"};
  app.set_help_all_flag("--help-all");
  vigil::engine::SensorOptions opts;
  std::string duration, ring_size = "16M", log_level = "info", syscall_hook = "auto";
  uint64_t max_events = 0;

  AddSelectionFlags(app, opts);
  std::string webhook_format = "json";
  app.add_option("-o,--output", opts.outputs,
                 "json|table[:PATH], syslog[:udp://H:P|tcp://H:P|unix:PATH], webhook:URL, "
                 "kafka:BROKER[,BROKER...]/TOPIC (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--output-filter", opts.output_options.filters,
                 "OUTPUT:CONDITIONS, OUTPUT a kind (json, webhook...) or an -o position from 1; conditions "
                 "(comma = and): detections, policy=NAME[|NAME], severity>=N (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--webhook-format", webhook_format, "json (JSON lines, batched) or falco (Falco's payload)");
  app.add_option("--webhook-ca-file", opts.output_options.webhook_ca_file,
                 "CA certificates (PEM) to verify the webhook's TLS server with");
  app.add_option("--kafka-opt", opts.output_options.kafka_options,
                 "KEY=VALUE librdkafka setting for the kafka output (repeatable)")
      ->allow_extra_args(false);
  app.add_option("-C,--capabilities", opts.capabilities,
                 "bypass=true|false, add=CAPS, drop=CAPS (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--ready-file", opts.ready_file, "written once every selected event is attached");
  app.add_option("--metrics-file", opts.metrics_file,
                 "event and loss counters in Prometheus text format, rewritten every second");
  app.add_option("--duration", duration, "stop cleanly after this long (10s, 2m)");
  app.add_option("--max-events", max_events, "stop cleanly after emitting this many events");
  app.add_option("--log-level", log_level, "debug|info|warn|error");
  app.add_option("--ring-buffer", ring_size, "ring buffer size (power of two, e.g. 16M)");
  app.add_option("--syscall-hook", syscall_hook,
                 "auto|tracepoints|raw: per-syscall tracepoints or the raw_syscalls dispatcher");
  app.add_flag("--exec-env", opts.exec_env,
               "sched_process_exec also carries the new image's environment (env)");
  app.add_option("--listen", opts.listen,
                 "ADDR:PORT: serve GET /healthz and GET /metrics (off unless given)");
  std::string config_path;
  app.add_option("--config", config_path,
                 "YAML file whose keys are the long flag names; the command line overrides it");

  bool list_json = false;
  vigil::engine::SensorOptions list_opts;
  CLI::App* list = app.add_subcommand("list", "print the event registry (events and detections)");
  list->add_flag("--json", list_json, "as JSON");
  list->add_option("--rules", list_opts.rules, "rule file or directory (repeatable), as for the sensor")
      ->allow_extra_args(false);
  CLI::App* version = app.add_subcommand("version", "print the version");

  CLI::App* caps_cmd = app.add_subcommand("caps", "capability planning and auditing");
  caps_cmd->require_subcommand(1);
  vigil::engine::SensorOptions plan_opts;
  std::string plan_format = "text";
  CLI::App* plan = AddCapsSubcommand(
      *caps_cmd, "plan", "print each ring's capabilities and the minimal grant, loading nothing", plan_opts);
  plan->add_option("--format", plan_format, "text|json|systemd|docker|k8s");
  std::string plan_config_path;
  plan->add_option("--config", plan_config_path, "the sensor's config file: its selection and capabilities");
  vigil::engine::SensorOptions audit_opts;
  std::string audit_duration = "3s";
  CLI::App* audit = AddCapsSubcommand(
      *caps_cmd, "audit",
      "run the selection and report the capability checks the kernel made, by phase and event", audit_opts);
  audit->add_option("-o,--output", audit_opts.outputs, "also write events: json|table[:PATH]")
      ->allow_extra_args(false);
  audit->add_option("--duration", audit_duration, "how long to run (default 3s)");
  audit->add_option("--format", audit_opts.audit_format, "text|json");
  app.require_subcommand(0, 1);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "vigil: " << e.what() << "\n(see vigil --help)\n";
    return 2;
  }

  // --config: every key fills what the command line left unset (for `caps
  // plan`, its selection and capabilities). `where` prefixes a message about a
  // value that came from the file with its file:line:column.
  std::map<std::string, std::string> from_file;
  auto where = [&from_file](const std::string& key) {
    auto it = from_file.find(key);
    return it == from_file.end() ? std::string() : it->second;
  };
  if (const std::string& path = *plan ? plan_config_path : config_path; !path.empty()) {
    absl::StatusOr<vigil::engine::ConfigFile> file =
        vigil::engine::LoadConfigFile(path, vigil::engine::ConfigKeysOf(app));
    absl::StatusOr<std::map<std::string, std::string>> applied =
        file.ok() ? vigil::engine::ApplyConfig(*plan ? *plan : app, *file) : file.status();
    if (!applied.ok()) {
      std::cerr << "vigil: " << applied.status().message() << "\n";
      return 2;
    }
    from_file = std::move(*applied);
  }

  LogLevel level;
  if (!vigil::engine::ParseLogLevel(log_level, level)) {
    std::cerr << "vigil: " << where("log-level") << "--log-level " << log_level
              << ": expected debug, info, warn or error\n";
    return 2;
  }
  vigil::engine::SetLogLevel(level);

  if (*version) {
    std::cout << "vigil " << kVersion << "\n";
    return 0;
  }
  std::unique_ptr<vigil::rules::DetectionEngine> detections;
  if (*list) {
    if (int rc = LoadRules(list_opts, detections)) return rc;
    return vigil::engine::PrintRegistry(std::cout, list_json);
  }
  if (*plan) {
    if (int rc = LoadRules(plan_opts, detections)) return rc;
    return vigil::engine::PrintCapsPlan(plan_opts, plan_format);
  }
  if (*audit) {
    if (int rc = LoadRules(audit_opts, detections)) return rc;
    uint64_t ms;
    if (!vigil::engine::ParseDuration(audit_duration, ms)) {
      std::cerr << "vigil: --duration " << audit_duration
                << ": expected a duration such as 500ms, 10s or 2m\n";
      return 2;
    }
    if (audit_opts.audit_format != "text" && audit_opts.audit_format != "json") {
      std::cerr << "vigil: --format " << audit_opts.audit_format << ": expected text or json\n";
      return 2;
    }
    audit_opts.duration_ms = ms;
    audit_opts.audit = true;
    return vigil::engine::RunSensor(audit_opts);
  }

  if (!duration.empty()) {
    uint64_t ms;
    if (!vigil::engine::ParseDuration(duration, ms)) {
      std::cerr << "vigil: " << where("duration") << "--duration " << duration
                << ": expected a duration such as 500ms, 10s, 2m or 1h\n";
      return 2;
    }
    opts.duration_ms = ms;
  }
  if (max_events > 0) opts.max_events = max_events;
  if (webhook_format == "falco")
    opts.output_options.webhook_format = vigil::engine::WebhookFormat::kFalco;
  else if (webhook_format != "json") {
    std::cerr << "vigil: --webhook-format " << webhook_format << ": expected json or falco\n";
    return 2;
  }
  uint64_t ring_bytes;
  if (!vigil::engine::ParseSize(ring_size, ring_bytes) || ring_bytes < 4096 ||
      (ring_bytes & (ring_bytes - 1)) != 0 || ring_bytes > (1ull << 30)) {
    std::cerr << "vigil: " << where("ring-buffer") << "--ring-buffer " << ring_size
              << ": expected a power of two between 4K and 1G, such as 16M\n";
    return 2;
  }
  opts.ring_bytes = static_cast<uint32_t>(ring_bytes);
  if (syscall_hook == "auto")
    opts.syscall_hook = vigil::engine::SyscallHook::kAuto;
  else if (syscall_hook == "tracepoints")
    opts.syscall_hook = vigil::engine::SyscallHook::kTracepoints;
  else if (syscall_hook == "raw")
    opts.syscall_hook = vigil::engine::SyscallHook::kRawSyscalls;
  else {
    std::cerr << "vigil: " << where("syscall-hook") << "--syscall-hook " << syscall_hook
              << ": expected auto, tracepoints or raw\n";
    return 2;
  }
  if (!opts.listen.empty()) {
    if (absl::StatusOr<vigil::engine::ListenAddress> a = vigil::engine::ParseListenAddress(opts.listen);
        !a.ok()) {
      std::cerr << "vigil: " << where("listen") << a.status().message() << "\n";
      return 2;
    }
  }
  if (int rc = LoadRules(opts, detections)) return rc;
  return vigil::engine::RunSensor(opts);
}

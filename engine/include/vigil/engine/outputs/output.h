// Outputs: where events go (files, syslog, webhooks, Kafka). Each output has
// its own bounded queue and worker thread, so Write() on the ring-buffer
// consumer thread only renders and enqueues: a slow, full or dead destination
// drops (and counts) events but never slows the drain or another output.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "vigil/events/event.h"

namespace vigil::engine {

enum class OutputKind { kJson, kTable, kSyslog, kWebhook, kKafka };
std::string_view OutputKindName(OutputKind kind);

// Which events an output takes (--output-filter): all conditions hold.
struct OutputFilter {
  bool detections_only = false;
  std::vector<std::string> policies;  // any of these matched; empty: any policy
  int min_severity = -1;              // >= 0: detections of at least this Severity only
  uint64_t policy_mask = 0;           // `policies` resolved to policy bits at open time

  bool Accepts(const events::Event& e, bool detection, int severity) const;
  std::string ToString() const;
};

// "detections", "policy=P[|P...]", "severity>=N" joined by ','.
absl::StatusOr<OutputFilter> ParseOutputFilterConditions(std::string_view text);

struct OutputSpec {
  OutputKind kind = OutputKind::kTable;
  std::string target;  // file path (empty: stdout), syslog target, URL, or BROKERS/TOPIC
  std::string text;    // as the user typed it, for messages
  OutputFilter filter;
};

// "json", "table:/var/log/vigil.table", "syslog", "syslog:tcp://127.0.0.1:514",
// "webhook:https://h/path", "kafka:b1:9092,b2:9092/topic". A malformed value
// is an error naming it (a usage error for the caller).
absl::StatusOr<OutputSpec> ParseOutputSpec(std::string_view text);

enum class WebhookFormat { kJsonLines, kFalco };

// Settings shared by all outputs of a run (flags beside -o).
struct OutputOptions {
  // "--output-filter OUTPUT:CONDITIONS": OUTPUT is a kind name (every output
  // of that kind) or the 1-based position of an -o value.
  std::vector<std::string> filters;
  WebhookFormat webhook_format = WebhookFormat::kJsonLines;
  std::string webhook_ca_file;             // empty: the system's CA store
  std::vector<std::string> kafka_options;  // "KEY=VALUE" librdkafka settings
  size_t queue_bytes = 16u << 20;          // per output
  size_t webhook_batch_events = 500;
  std::chrono::milliseconds webhook_batch_interval{1000};
  std::chrono::milliseconds webhook_timeout{5000};
};

// What the renderers need beyond the event: policy names, the host name and
// how to tell a detection and its Severity (0-4).
struct OutputContext {
  const std::vector<std::string>* policy_names = nullptr;
  std::string host_name;
  // -1 for a plain event. A detection is an event of set "signatures"; its
  // Severity is `detection_severity` when set (tests), else its definition's
  // DetectionMeta::severity.
  std::function<int(const events::EventDef&)> detection_severity;
  bool IsDetection(const events::EventDef& def) const;
  int SeverityOf(const events::Event& e) const;
};

struct OutputStats {
  std::string name;      // "json:/var/log/vigil.json", "kafka:b/t"
  uint64_t queued = 0;   // accepted into the output's queue
  uint64_t sent = 0;     // written / acknowledged by the server
  uint64_t retried = 0;  // send attempts repeated after a retryable failure
  uint64_t dropped = 0;  // never sent: queue full, refused (4xx), given up
  uint64_t errors = 0;   // failed attempts (each logged at most once per second)
  uint64_t unsent = 0;   // still queued when Stop() returned
};

class Output {
 public:
  virtual ~Output() = default;
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  // Starts the worker thread(s): called after set-up, so that they inherit the
  // empty effective capability set. Events written before are kept queued.
  virtual void Start() {}
  // Consumer thread. Never blocks: renders and enqueues, or drops and counts.
  virtual void Write(const events::Event& e) = 0;
  // Consumer thread, after each poll: hands what was written to the worker.
  virtual void Flush() {}
  // SIGHUP: files are reopened (for logrotate); a no-op for network outputs.
  virtual absl::Status Reopen() { return absl::OkStatus(); }
  // Sends what it can until `deadline`, then abandons the rest (see unsent).
  virtual void Stop(std::chrono::steady_clock::time_point deadline) = 0;
  virtual OutputStats Stats() const;

  const std::string& name() const { return name_; }
  const OutputFilter& filter() const { return filter_; }

 protected:
  Output(std::string name, OutputFilter filter, const OutputContext& context)
      : name_(std::move(name)), filter_(std::move(filter)), context_(context) {}
  // Whether the filter lets `e` through (the severity for renderers in `severity`).
  bool Wanted(const events::Event& e, int& severity) const;

  struct Counters {
    std::atomic<uint64_t> queued{0}, sent{0}, retried{0}, dropped{0}, errors{0}, unsent{0};
  };
  std::string name_;
  OutputFilter filter_;
  const OutputContext& context_;
  mutable Counters counters_;
};

// Opens one output. Usage errors (bad spec, bad option) are InvalidArgument;
// a destination that refuses us is FailedPrecondition (an events file that
// is a symlink, a FIFO, another user's file). Unreachable servers are not
// errors: the output retries and reports.
absl::StatusOr<std::unique_ptr<Output>> OpenOutput(const OutputSpec& spec, const OutputOptions& options,
                                                   const OutputContext& context);

// Every output of a run, fanned out to.
class Outputs {
 public:
  // Parses and opens every -o value with its --output-filter conditions
  // (policy names resolved against context.policy_names). On error nothing stays open.
  static absl::StatusOr<std::unique_ptr<Outputs>> Open(const std::vector<std::string>& specs,
                                                       const OutputOptions& options, OutputContext context);
  void Start() {
    for (auto& o : outputs_) o->Start();
  }
  void Write(const events::Event& e) {
    for (auto& o : outputs_) o->Write(e);
  }
  void Flush() {
    for (auto& o : outputs_) o->Flush();
  }
  // Reopens every output; the first failure is returned, the others still reopened.
  absl::Status Reopen();
  // Gives the outputs, together, until `deadline`; one log line per output with unsent events.
  void Stop(std::chrono::steady_clock::time_point deadline);
  std::vector<OutputStats> Stats() const;
  // Prometheus text: vigil_output_events_total{output="...",state="queued|sent|dropped|unsent"},
  // vigil_output_retries_total, vigil_output_errors_total.
  std::string MetricsText() const;
  // "json:/tmp/x sent 10, dropped 0; kafka:b/t sent 8, dropped 2 (2 unsent at stop)".
  std::string Summary() const;
  size_t size() const { return outputs_.size(); }
  Output& at(size_t i) { return *outputs_[i]; }

 private:
  explicit Outputs(OutputContext context) : context_(std::move(context)) {}
  OutputContext context_;  // outputs keep a reference to it
  std::vector<std::unique_ptr<Output>> outputs_;
};

// Output-file safety (issue 9 item 10), shared with the ready and metrics files.
//
// Opens PATH for appending events: a new file is created 0600 with O_EXCL; an
// existing one must be a regular file owned by this euid or root (never
// truncated, never chmod'ed) or a character device (e.g. /dev/null, used as
// is). A symlink, FIFO, socket or directory is refused, and a FIFO never
// blocks the open. `created` tells whether this call created the file.
absl::StatusOr<int> OpenEventsFile(const std::string& path, bool* created = nullptr);

// Writes `body` to a new file with a random name beside `path` (O_EXCL,
// O_NOFOLLOW), then renames it over `path` (which replaces a symlink at
// `path` rather than following it).
absl::Status WriteFileAtomically(const std::string& path, std::string_view body, unsigned mode = 0644);

}  // namespace vigil::engine

// The user-space pipeline a ring-buffer record goes through:
//   decode -> enrich (process tree, containers, UTS names) -> match policies
//   -> detect -> sinks.
// Each stage is a small class a unit test can drive with synthetic records or
// events; the Pipeline only strings them together and counts.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>

#include "vigil/engine/container_events.h"
#include "vigil/engine/containers.h"
#include "vigil/engine/net_enrich.h"
#include "vigil/engine/process_tree.h"
#include "vigil/events/decoder.h"
#include "vigil/events/event.h"
#include "vigil/policies/compile.h"

namespace vigil::engine {

// What the kernel's record does not carry: the executable and parent (from
// the process tree), the container id (from the cgroup), the host name of
// the event's UTS namespace, sched_process_exec's written_since_start, and
// the network step (NetworkEnricher: DNS decoding, dst_dns).
class Enricher {
 public:
  struct Options {
    std::string host_name;       // the sensor's own nodename
    uint32_t own_uts_ns = 0;     // the sensor's UTS namespace (inode)
    uint64_t start_real_ns = 0;  // executables changed at or after this were written since start
    size_t max_uts_names = 4096;
  };
  // Seeing the current UTS namespace and host name of this process.
  static Options OptionsForThisProcess(uint64_t start_real_ns);

  Enricher(ProcessTree& tree, ContainerResolver& containers, Options options)
      : tree_(tree), containers_(containers), options_(std::move(options)) {}

  // Every record updates the process tree. Returns false for a record no
  // policy wants (a lifecycle record kept for the tree only); otherwise fills
  // the enrichment fields.
  bool Apply(events::Event& e);

 private:
  void NoteUtsName(const events::Event& e);

  ProcessTree& tree_;
  ContainerResolver& containers_;
  Options options_;
  NetworkEnricher network_;
  // hostName per UTS namespace: exec and fork records of tasks outside the
  // sensor's namespace carry its nodename; each event of that namespace is
  // named after the latest one seen.
  std::unordered_map<uint32_t, std::string> uts_names_;
  events::ArgRef nodename_{"nodename"}, ctime_{"ctime"}, written_since_start_{"written_since_start"};
};

// The detect stage: detections consume input events and produce detection
// events (def in the `signatures` set) in the trigger's envelope.
class DetectStage {
 public:
  using EmitDetection = std::function<void(events::Event&)>;
  virtual ~DetectStage() = default;
  // `input` is enriched; `policies` are the policies whose selected
  // detections may consume it. Calls `emit` for each detection it triggers;
  // the pipeline then applies those policies to the detection itself.
  virtual void OnEvent(const events::Event& input, uint64_t policies, const EmitDetection& emit) = 0;
};

struct PipelineCounters {
  uint64_t records = 0;        // records read from the ring buffer
  uint64_t decode_errors = 0;  // records that could not be decoded (lost)
  uint64_t tree_only = 0;      // lifecycle records kept for the process tree only
  uint64_t container_scope = 0;  // container events no policy's container scope took
  uint64_t emitted = 0;        // written to the sinks (detections included)
  uint64_t detections = 0;     // detections written to the sinks
  std::string last_decode_error;
};

class Pipeline {
 public:
  // Receives every event some policy matched, fully enriched.
  using Emit = std::function<void(const events::Event&)>;

  Pipeline(const events::Decoder& decoder, Enricher& enricher, const policies::CompiledPolicies& policies,
           Emit emit)
      : decoder_(decoder), enricher_(enricher), policies_(&policies), emit_(std::move(emit)) {}

  // SIGHUP: the same kernel-side selection with new user-space rule filters.
  void set_policies(const policies::CompiledPolicies& policies) { policies_ = &policies; }

  // Detections, and the inputs they consume: event id -> the policies whose
  // detections consume it (Selection::detection_inputs).
  void set_detect_stage(DetectStage* stage, const std::map<uint32_t, uint64_t>* inputs) {
    detect_ = stage;
    detection_inputs_ = inputs;
  }

  // The container lifecycle events' stage (none: they pass as the kernel
  // sent them, without their user-space arguments).
  void set_container_events(ContainerEvents* stage) { container_events_ = stage; }

  // Stop emitting after this many events (--max-events); records that arrive
  // later are ignored.
  void set_max_events(std::optional<uint64_t> max) { max_events_ = max; }
  bool reached_max() const { return max_events_ && counters_.emitted >= *max_events_; }

  // One ring-buffer record, in the polling thread.
  void OnRecord(std::span<const uint8_t> record);
  // The stages after decoding, for a decoded (or synthetic) event.
  void OnEvent(events::Event& event);

  const PipelineCounters& counters() const { return counters_; }

 private:
  const events::Decoder& decoder_;
  Enricher& enricher_;
  const policies::CompiledPolicies* policies_;
  Emit emit_;
  DetectStage* detect_ = nullptr;
  ContainerEvents* container_events_ = nullptr;
  const std::map<uint32_t, uint64_t>* detection_inputs_ = nullptr;
  std::optional<uint64_t> max_events_;
  events::Event event_;  // reused: decoding allocates nothing once warm
  PipelineCounters counters_;
};

}  // namespace vigil::engine

#include "vigil/engine/pipeline.h"

#include <sys/stat.h>
#include <unistd.h>

#include <variant>

#include "vigil/events/event_ids.h"

namespace vigil::engine {

Enricher::Options Enricher::OptionsForThisProcess(uint64_t start_real_ns) {
  Options o;
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  o.host_name = name;
  struct stat uts {};
  o.own_uts_ns = stat("/proc/self/ns/uts", &uts) == 0 ? static_cast<uint32_t>(uts.st_ino) : 0;
  o.start_real_ns = start_real_ns;
  return o;
}

void Enricher::NoteUtsName(const events::Event& e) {
  if (e.uts_ns == options_.own_uts_ns ||
      (e.def->id != events::kSchedProcessExec && e.def->id != events::kSchedProcessFork))
    return;
  const events::Arg* nodename = nodename_.Get(e);
  if (nodename == nullptr) return;
  const auto* name = std::get_if<std::string>(&nodename->value);
  if (name == nullptr) return;
  // (A fork's nodename is the child's, sent only when it shares the parent's namespace.)
  if (uts_names_.size() >= options_.max_uts_names && !uts_names_.contains(e.uts_ns)) uts_names_.clear();
  uts_names_[e.uts_ns] = *name;
}

bool Enricher::Apply(events::Event& e) {
  NoteUtsName(e);
  // An exit's process leaves the tree: its executable is taken first.
  const bool exiting = e.def->id == events::kSchedProcessExit;
  if (exiting && e.policies != 0) e.executable = tree_.Executable(e.host_pid, e.start_time_ns);
  tree_.Apply(e);
  if (e.policies == 0) return false;
  if (!exiting) e.executable = tree_.Executable(e.host_pid, e.start_time_ns);
  e.parent_comm = tree_.ParentComm(e.host_pid);
  e.host_name = options_.host_name;
  if (e.uts_ns != options_.own_uts_ns) {
    auto it = uts_names_.find(e.uts_ns);
    if (it != uts_names_.end()) e.host_name = it->second;
  }
  e.container_id = containers_.IdOf(e.cgroup_id, e.host_pid);
  if (e.def->id == events::kSchedProcessExec) {
    const events::Arg* ctime = ctime_.Get(e);
    const int written = written_since_start_.Index(e.def);
    if (ctime != nullptr && written >= 0) {
      const auto ns = static_cast<uint64_t>(ctime->Integer().value_or(0));
      e.SetArg(written).value = ns >= options_.start_real_ns;
    }
  }
  network_.Apply(e);
  return true;
}

void Pipeline::OnRecord(std::span<const uint8_t> record) {
  if (reached_max()) return;
  ++counters_.records;
  if (absl::Status st = decoder_.Decode(record, event_); !st.ok()) {
    ++counters_.decode_errors;
    counters_.last_decode_error = std::string(st.message());
    return;
  }
  OnEvent(event_);
}

void Pipeline::OnEvent(events::Event& event) {
  if (reached_max()) return;
  if (!enricher_.Apply(event)) {
    ++counters_.tree_only;
    return;
  }
  if (container_events_ != nullptr && ContainerEvents::Handles(event.def->id) &&
      !container_events_->Apply(event, *policies_)) {
    ++counters_.container_scope;
    return;
  }
  const uint64_t kernel_matched = event.policies;
  uint64_t to_detectors = 0;
  if (detect_ != nullptr && detection_inputs_ != nullptr) {
    auto it = detection_inputs_->find(event.def->id);
    if (it != detection_inputs_->end()) to_detectors = kernel_matched & it->second;
  }
  // What the kernel could not decide: rule filters, exec= paths, container
  // ids. Only the policies that select the event itself can pass it out.
  event.policies = policies_->MatchUser(event, kernel_matched);
  if (event.policies != 0) {
    emit_(event);
    ++counters_.emitted;
  }
  if (to_detectors == 0) return;
  detect_->OnEvent(event, to_detectors, [&](events::Event& detection) {
    // The policies that select this detection, with their filters on it.
    detection.policies = policies_->MatchUser(detection, to_detectors);
    if (detection.policies == 0 || reached_max()) return;
    emit_(detection);
    ++counters_.emitted;
    ++counters_.detections;
  });
}

}  // namespace vigil::engine

// Detections in the sensor: the rule engine loaded into the registry (so that
// policies, `vigil list` and `caps plan` know every detection by name), and
// the pipeline's detect stage over it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "vigil/engine/pipeline.h"
#include "vigil/engine/process_tree.h"
#include "vigil/rules/rules.h"

namespace vigil::engine {

// Loads the built-in rules and `rule_paths` (--rules) and adds every
// detection to events::Registry::Builtin(). Once per process, before the
// selection is built. Errors are usage errors (file:line:column).
absl::StatusOr<std::unique_ptr<rules::DetectionEngine>> LoadDetections(
    const std::vector<std::string>& rule_paths);

// SIGHUP: the same rule files read again into a new engine, compiled against
// the registry LoadDetections filled. The running sensor can switch to it only
// if it has the same detections (ids, names, whether each can run) reading
// the same input events: those decide what the kernel side captures. Then
// conditions, exceptions, lists, macros, outputs and metadata take effect at
// once. Otherwise an error says what needs a restart.
absl::StatusOr<std::unique_ptr<rules::DetectionEngine>> ReloadDetections(
    const std::vector<std::string>& rule_paths, const rules::DetectionEngine& running);

// The detect stage: runs the enabled rules and detectors on each input and
// builds each detection as an event in its trigger's envelope (SPEC §2.2).
class RulesDetectStage final : public DetectStage {
 public:
  static constexpr size_t kMaxAncestors = 5;

  RulesDetectStage(rules::DetectionEngine& engine, const ProcessTree& tree)
      : engine_(&engine), lookup_(tree), tree_(tree) {}

  void OnEvent(const events::Event& input, uint64_t policies, const EmitDetection& emit) override;

  // Runs `engine` from the next event on (a reload). Detections of the
  // earlier engine point at its definitions only while OnEvent's `emit`
  // runs, so called between events the caller may free the earlier engine
  // once this returned.
  void set_engine(rules::DetectionEngine& engine) { engine_ = &engine; }

 private:
  class TreeLookup final : public rules::ProcessLookup {
   public:
    explicit TreeLookup(const ProcessTree& tree) : tree_(tree) {}
    bool Ancestor(uint32_t host_pid, int n, rules::ProcessView& out) const override;
    const std::vector<std::string>* Argv(uint32_t host_pid) const override;

   private:
    const ProcessTree& tree_;
  };
  // Detector-added fields become arguments; their definitions live here.
  const events::ArgDef* FieldDef(const std::string& name);

  rules::DetectionEngine* engine_;
  TreeLookup lookup_;
  const ProcessTree& tree_;
  std::map<std::string, events::ArgDef, std::less<>> field_defs_;
};

}  // namespace vigil::engine

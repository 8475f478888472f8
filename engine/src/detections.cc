#include "vigil/engine/detections.h"

#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace vigil::engine {

absl::StatusOr<std::unique_ptr<rules::DetectionEngine>> LoadDetections(
    const std::vector<std::string>& rule_paths) {
  absl::StatusOr<std::unique_ptr<rules::DetectionEngine>> engine =
      rules::DetectionEngine::Create({.user_paths = rule_paths}, events::Registry::Builtin());
  if (!engine.ok()) return engine.status();
  if (absl::Status st = events::Registry::AddBuiltinDetections((*engine)->event_defs()); !st.ok())
    return absl::InvalidArgumentError(absl::StrCat("detections: ", st.message()));
  return engine;
}

absl::StatusOr<std::unique_ptr<rules::DetectionEngine>> ReloadDetections(
    const std::vector<std::string>& rule_paths, const rules::DetectionEngine& running) {
  absl::StatusOr<std::unique_ptr<rules::DetectionEngine>> engine = rules::DetectionEngine::Create(
      {.user_paths = rule_paths, .reload = true}, events::Registry::Builtin());
  if (!engine.ok()) return engine.status();
  // What the kernel side was set up for, by detection id.
  auto shape = [](const rules::DetectionEngine& e) {
    std::map<uint32_t, std::tuple<std::string, std::vector<std::string>, bool>> out;
    for (const events::EventDef& d : e.event_defs())
      out[d.id] = {d.name, d.dependencies, d.detection && d.detection->unavailable.empty()};
    return out;
  };
  auto before = shape(running), after = shape(**engine);
  for (const auto& [id, was] : before) {
    auto it = after.find(id);
    const std::string& name = std::get<0>(was);
    if (it == after.end() || std::get<0>(it->second) != name)
      return absl::FailedPreconditionError(absl::StrCat("detection ", name, " (id ", id, ") is gone or renamed"));
    if (std::get<1>(it->second) != std::get<1>(was))
      return absl::FailedPreconditionError(
          absl::StrCat("detection ", name, " now reads other input events (",
                       absl::StrJoin(std::get<1>(it->second), ","), " instead of ",
                       absl::StrJoin(std::get<1>(was), ","), ")"));
    if (std::get<2>(it->second) != std::get<2>(was))
      return absl::FailedPreconditionError(absl::StrCat("detection ", name, " was ",
                                                        std::get<2>(was) ? "enabled" : "disabled or cancelled",
                                                        " and now is not"));
  }
  for (const auto& [id, now] : after)
    if (!before.contains(id))
      return absl::FailedPreconditionError(absl::StrCat("detection ", std::get<0>(now), " is new"));
  return engine;
}

bool RulesDetectStage::TreeLookup::Ancestor(uint32_t host_pid, int n, rules::ProcessView& out) const {
  const std::string *comm = nullptr, *exe = nullptr;
  uint32_t pid = 0;
  if (!tree_.AncestorAt(host_pid, n, pid, comm, exe)) return false;
  out.host_pid = pid;
  out.comm = *comm;
  out.exe = *exe;
  return true;
}

const std::vector<std::string>* RulesDetectStage::TreeLookup::Argv(uint32_t host_pid) const {
  return tree_.Argv(host_pid);
}

const events::ArgDef* RulesDetectStage::FieldDef(const std::string& name) {
  auto it = field_defs_.find(name);
  if (it == field_defs_.end())
    it = field_defs_
             .emplace(name,
                      events::ArgDef{.name = name, .type = "string", .format = events::ArgFormat::kString})
             .first;
  return &it->second;
}

void RulesDetectStage::OnEvent(const events::Event& input, uint64_t /*policies*/, const EmitDetection& emit) {
  engine_->OnEvent(input, lookup_, [&](const rules::Detection& d) {
    // The trigger's envelope (process, ids, namespaces, container), the
    // detection's name and metadata, the trigger's summary, the ancestry.
    events::Event out = input;
    out.def = d.def;
    out.retval = 0;
    out.syscall_nr = -1;
    out.truncated = false;
    out.args.clear();
    if (d.fields != nullptr)
      for (const auto& [name, value] : *d.fields) out.args.push_back({.def = FieldDef(name), .value = value});
    out.triggered_by = std::make_shared<events::Event>(input);
    out.ancestors.clear();
    for (const ProcessTree::Info& a : tree_.Ancestors(input.host_pid, kMaxAncestors))
      out.ancestors.push_back({.pid = a.pid, .comm = a.comm, .executable = a.exe});
    emit(out);
  });
}

}  // namespace vigil::engine

#include "vigil/engine/detections.h"

#include "absl/strings/str_cat.h"

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
  engine_.OnEvent(input, lookup_, [&](const rules::Detection& d) {
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

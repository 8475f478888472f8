#include "vigil/engine/container_events.h"

#include <string>
#include <variant>

#include "vigil/events/event_ids.h"
#include "vigil/events/registry.h"

namespace vigil::engine {
namespace {

std::string StringArg(const events::Event& e, std::string_view name) {
  const events::Arg* a = e.FindArg(name);
  if (a == nullptr) return "";
  const auto* s = std::get_if<std::string>(&a->value);
  return s != nullptr ? *s : "";
}

uint64_t UintArg(const events::Event& e, std::string_view name, uint64_t otherwise) {
  const events::Arg* a = e.FindArg(name);
  if (a == nullptr) return otherwise;
  return static_cast<uint64_t>(a->Integer().value_or(static_cast<int64_t>(otherwise)));
}

}  // namespace

bool ContainerEvents::Handles(uint32_t event_id) {
  return event_id == events::kContainerCreate || event_id == events::kContainerRemove ||
         event_id == events::kExistingContainer;
}

std::vector<events::Event> ContainerEvents::Existing(const std::vector<FoundContainer>& found,
                                                     uint64_t candidates, uint64_t now_real_ns) {
  std::vector<events::Event> out;
  const events::EventDef* def = events::Registry::Builtin().FindId(events::kExistingContainer);
  for (const FoundContainer& c : found) {
    existing_.insert(c.cgroup_id);
    if (candidates == 0 || def == nullptr) continue;
    events::Event e;
    e.def = def;
    e.timestamp_ns = now_real_ns;
    e.cgroup_id = c.cgroup_id;
    e.policies = candidates;
    e.SetArg(def->ArgIndex("cgroup_path")).value = c.path;
    e.SetArg(def->ArgIndex("ctime")).value = c.ctime_ns;
    out.push_back(std::move(e));
  }
  return out;
}

bool ContainerEvents::Apply(events::Event& e, const policies::CompiledPolicies& policies) {
  const uint32_t id = e.def->id;
  const std::string path = StringArg(e, "cgroup_path");
  const uint64_t cgroup_id = UintArg(e, "cgroup_id", e.cgroup_id);
  // The start-up walk and the kernel agree on what is new: made after the
  // cgroup programs were attached and not seen by the walk.
  bool is_new = false;
  if (id == events::kContainerCreate) {
    if (existing_.contains(cgroup_id)) return false;
    is_new = true;
  } else if (id == events::kContainerRemove) {
    is_new = existing_.erase(cgroup_id) == 0;
  }
  const uint64_t ctime = id == events::kContainerCreate ? e.timestamp_ns : UintArg(e, "ctime", 0);

  const ContainerCgroupInfo info = DescribeContainerCgroup(path);
  e.cgroup_id = cgroup_id;
  e.container_id = info.id;
  if (resolver_ != nullptr && id == events::kContainerCreate && !info.id.empty())
    resolver_->Note(cgroup_id, info.id);
  std::vector<events::Arg> args;
  args.reserve(e.def->args.size());
  for (const events::ArgDef& a : e.def->args) {
    events::Arg arg{.def = &a};
    if (a.name == "runtime") {
      arg.value = info.runtime;
    } else if (a.name == "container_id") {
      arg.value = info.id;
    } else if (a.name == "ctime") {
      arg.value = ctime;
    } else if (a.name == "pod_uid") {
      arg.value = info.pod_uid;
    } else if (a.name == "pod_sandbox") {
      arg.value = false;
    } else if (a.name == "cgroup_id") {
      arg.value = cgroup_id;
    } else if (a.name == "cgroup_path") {
      arg.value = path;
    } else {
      arg.value = std::string();  // image, digest, names: the runtime's API knows them
    }
    args.push_back(std::move(arg));
  }
  e.args = std::move(args);
  e.policies = policies.MatchContainerScope(e.policies, is_new);
  return e.policies != 0;
}

}  // namespace vigil::engine

#include "vigil/events/registry.h"

#include <algorithm>
#include <deque>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace vigil::events {

const char* AttachKindName(AttachKind kind) {
  switch (kind) {
    case AttachKind::kTpBtf: return "tp_btf";
    case AttachKind::kRawTracepoint: return "raw_tp";
    case AttachKind::kTracepoint: return "tracepoint";
    case AttachKind::kSyscallTracepoints: return "syscall_tracepoints";
    case AttachKind::kRawSyscalls: return "raw_syscalls";
    case AttachKind::kCgroupSkb:
      return "cgroup_skb";
  }
  return "?";
}

const ArgDef* EventDef::FindArg(std::string_view arg_name) const {
  int i = ArgIndex(arg_name);
  return i < 0 ? nullptr : &args[i];
}

int EventDef::ArgIndex(std::string_view arg_name) const {
  for (size_t i = 0; i < args.size(); ++i)
    if (args[i].name == arg_name) return static_cast<int>(i);
  return -1;
}

Registry::Registry(std::vector<EventDef> defs)
    : defs_(std::make_move_iterator(defs.begin()), std::make_move_iterator(defs.end())) {
  for (size_t i = 0; i < defs_.size(); ++i) {
    by_name_.emplace(defs_[i].name, i);
    by_id_.emplace(defs_[i].id, i);
    for (const std::string& s : defs_[i].sets) sets_.insert(s);
  }
}

absl::Status Registry::Add(std::vector<EventDef> defs) {
  std::set<std::string, std::less<>> names;
  std::set<uint32_t> ids;
  for (const EventDef& d : defs) {
    if (Find(d.name) != nullptr || !names.insert(d.name).second)
      return absl::AlreadyExistsError(absl::StrCat("event name '", d.name, "' is already in the registry"));
    if (FindId(d.id) != nullptr || !ids.insert(d.id).second)
      return absl::AlreadyExistsError(absl::StrCat("event id ", d.id, " (", d.name, ") is already in the registry"));
  }
  for (const EventDef& d : defs)
    for (const std::string& dep : d.dependencies)
      if (Find(dep) == nullptr && !names.contains(dep))
        return absl::InvalidArgumentError(absl::StrCat("event '", d.name, "' depends on unknown event '", dep, "'"));
  for (EventDef& d : defs) {
    size_t i = defs_.size();
    defs_.push_back(std::move(d));
    by_name_.emplace(defs_[i].name, i);
    by_id_.emplace(defs_[i].id, i);
    for (const std::string& s : defs_[i].sets) sets_.insert(s);
  }
  return absl::OkStatus();
}

const EventDef* Registry::Find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &defs_[it->second];
}

const EventDef* Registry::FindId(uint32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &defs_[it->second];
}

absl::StatusOr<std::set<uint32_t>> Registry::Expand(const std::vector<std::string>& items) const {
  std::set<uint32_t> selected;
  std::set<uint32_t> excluded;
  for (const std::string& raw : items) {
    std::string_view item = raw;
    if (item.empty()) continue;
    bool exclude = item.starts_with('-');
    if (exclude) item.remove_prefix(1);
    std::set<uint32_t>& into = exclude ? excluded : selected;
    bool matched = false;
    if (item.starts_with("tag=")) {
      item.remove_prefix(4);
      if (!IsSet(item))
        return absl::InvalidArgumentError(absl::StrCat(
            "unknown event set '", std::string(item), "' in '", raw, "' (known sets: ", absl::StrJoin(sets_, ", "), ")"));
      for (const EventDef& d : defs_)
        if (!d.internal && std::find(d.sets.begin(), d.sets.end(), item) != d.sets.end())
          into.insert(d.id), matched = true;
    } else if (item.ends_with("*")) {
      std::string_view prefix = item.substr(0, item.size() - 1);
      for (const EventDef& d : defs_)
        if (!d.internal && std::string_view(d.name).starts_with(prefix))
          into.insert(d.id), matched = true;
      if (!matched)
        return absl::InvalidArgumentError(absl::StrCat("no event matches '", raw, "'"));
    } else {
      const EventDef* d = Find(item);
      if (d == nullptr || d->internal)
        return absl::InvalidArgumentError(absl::StrCat(
            "unknown event '", std::string(item), "' (see `vigil list` for the events and sets)"));
      into.insert(d->id);
      matched = true;
    }
  }
  for (uint32_t id : excluded) selected.erase(id);
  return selected;
}

std::set<uint32_t> Registry::WithDependencies(const std::set<uint32_t>& ids) const {
  std::set<uint32_t> out;
  std::deque<uint32_t> todo(ids.begin(), ids.end());
  while (!todo.empty()) {
    uint32_t id = todo.front();
    todo.pop_front();
    if (!out.insert(id).second) continue;
    const EventDef* d = FindId(id);
    if (d == nullptr) continue;
    for (const std::string& dep : d->dependencies)
      if (const EventDef* dd = Find(dep)) todo.push_back(dd->id);
  }
  return out;
}

std::set<uint32_t> Registry::Dependents(uint32_t id, const std::set<uint32_t>& among) const {
  std::set<uint32_t> out;
  for (uint32_t candidate : among) {
    if (candidate == id) continue;
    std::set<uint32_t> closure = WithDependencies({candidate});
    if (closure.contains(id)) out.insert(candidate);
  }
  return out;
}

EventCaps Registry::CapsClosure(uint32_t id) const {
  EventCaps caps;
  for (uint32_t dep : WithDependencies({id})) {
    if (const EventDef* d = FindId(dep)) {
      caps.base |= d->caps.base;
      caps.ebpf |= d->caps.ebpf;
    }
  }
  return caps;
}

}  // namespace vigil::events

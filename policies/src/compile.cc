// Policies against the registry: scope expressions into per-policy scope
// sets, rules into per-event policy masks and filters.
#include "vigil/policies/compile.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "fields.h"
#include "text.h"

namespace vigil::policies {
namespace {

using events::ArgFormat;
using events::EventDef;
using events::Registry;

std::string Quoted(std::string_view s) { return absl::StrCat("'", AbslView(s), "'"); }

std::string JoinViews(const std::vector<std::string_view>& items, std::string_view sep) {
  std::string out;
  for (std::string_view s : items) {
    if (!out.empty()) out.append(sep);
    out.append(s);
  }
  return out;
}

// ---------------------------------------------------------------- scope

enum class ScopeKind {
  kGlobal,
  kUid,
  kEuid,
  kPid,
  kMntns,
  kPidns,
  kUts,
  kComm,
  kContainer,
  kNotContainer,
  kExec,
  kTree,
  kFollow
};

struct ScopeKeyword {
  std::string_view name;
  ScopeKind kind;
};

constexpr ScopeKeyword kScopeKeywords[] = {
    {"global", ScopeKind::kGlobal},
    {"uid", ScopeKind::kUid},
    {"euid", ScopeKind::kEuid},
    {"pid", ScopeKind::kPid},
    {"mntns", ScopeKind::kMntns},
    {"pidns", ScopeKind::kPidns},
    {"uts", ScopeKind::kUts},
    {"comm", ScopeKind::kComm},
    {"container", ScopeKind::kContainer},
    {"not-container", ScopeKind::kNotContainer},
    {"exec", ScopeKind::kExec},
    {"executable", ScopeKind::kExec},
    {"bin", ScopeKind::kExec},
    {"binary", ScopeKind::kExec},
    {"tree", ScopeKind::kTree},
    {"follow", ScopeKind::kFollow},
};

constexpr std::string_view kScopeExpected =
    "global, uid, euid, pid, mntns, pidns, uts, comm, container, not-container, exec (executable, bin, binary), "
    "tree or follow";

absl::Status CheckOp(const Expr& e, bool ordering_allowed) {
  if (!e.op)
    return ErrorAt(e.origin, absl::StrCat("scope ", Quoted(e.key), " needs an operator and a value (e.g. ",
                                          e.key, ordering_allowed ? ">=1000" : "=VALUE", ")"));
  if (IsOrdering(*e.op) && !ordering_allowed)
    return ErrorAt(e.origin, absl::StrCat("operator '", AbslView(OpText(*e.op)), "' is not valid for scope ",
                                          Quoted(e.key), " (expected = or !=)"));
  if (IsOrdering(*e.op) && e.values.size() != 1)
    return ErrorAt(e.origin, absl::StrCat("operator '", AbslView(OpText(*e.op)), "' takes one value, got ",
                                          e.values.size(), " in ", Quoted(e.text)));
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ScopeNumber(const Expr& e, std::string_view value, uint64_t max) {
  std::optional<__int128> n = ParseInteger(value);
  if (!n || *n < 0 || *n > static_cast<__int128>(max))
    return ErrorAt(e.origin, absl::StrCat("scope ", Quoted(e.key), " expects an integer from 0 to ", max,
                                          ", got ", Quoted(value)));
  return static_cast<uint64_t>(*n);
}

template <typename T>
void Intersect(std::optional<std::set<T>>& eq, const std::set<T>& values) {
  if (!eq) {
    eq = values;
    return;
  }
  std::set<T> both;
  std::set_intersection(eq->begin(), eq->end(), values.begin(), values.end(),
                        std::inserter(both, both.end()));
  eq = std::move(both);
}

absl::Status AddNumeric(const Expr& e, NumericScope& s, uint64_t max, bool ordering) {
  if (absl::Status st = CheckOp(e, ordering); !st.ok()) return st;
  std::set<uint64_t> values;
  for (const std::string& v : e.values) {
    absl::StatusOr<uint64_t> n = ScopeNumber(e, v, max);
    if (!n.ok()) return n.status();
    values.insert(*n);
  }
  uint64_t v = *values.begin();
  switch (*e.op) {
    case Op::kEq:
      Intersect(s.eq, values);
      break;
    case Op::kNe:
      s.ne.insert(values.begin(), values.end());
      break;
    case Op::kLt:
      if (v == 0) {
        s.min = 1, s.max = 0;
      } else {
        s.max = std::min(s.max, v - 1);
      }
      break;
    case Op::kLe:
      s.max = std::min(s.max, v);
      break;
    case Op::kGt:
      s.min = std::max(s.min, v + 1);
      break;
    case Op::kGe:
      s.min = std::max(s.min, v);
      break;
  }
  bool possible = s.min <= std::min(s.max, max);
  if (possible && s.eq) {
    possible = std::any_of(s.eq->begin(), s.eq->end(),
                           [&](uint64_t x) { return x >= s.min && x <= s.max && !s.ne.contains(x); });
  }
  if (!possible)
    return ErrorAt(e.origin, absl::StrCat("scope ", Quoted(e.text), " leaves no possible ", e.key,
                                          " together with the policy's other ", e.key, " expressions"));
  return absl::OkStatus();
}

absl::Status AddString(const Expr& e, StringScope& s, const std::set<std::string>& values) {
  if (absl::Status st = CheckOp(e, false); !st.ok()) return st;
  if (*e.op == Op::kNe) {
    s.ne.insert(values.begin(), values.end());
  } else {
    Intersect(s.eq, values);
  }
  if (s.eq && std::all_of(s.eq->begin(), s.eq->end(), [&](const std::string& x) { return s.ne.contains(x); }))
    return ErrorAt(e.origin, absl::StrCat("scope ", Quoted(e.text), " leaves no possible ", e.key,
                                          " together with the policy's other ", e.key, " expressions"));
  return absl::OkStatus();
}

absl::Status NoValue(const Expr& e) {
  if (e.op)
    return ErrorAt(e.origin, absl::StrCat("scope ", Quoted(e.key), " takes no value, got ", Quoted(e.text)));
  return absl::OkStatus();
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// container=new / container!=new (Tracee's): decided in the kernel by the
// cgroup (bpf/scope.h, vg_new_containers); != also asks for a container.
absl::Status AddNewContainer(const Expr& e, Scope& s) {
  if (absl::Status st = CheckOp(e, false); !st.ok()) return st;
  if (e.values.size() != 1)
    return ErrorAt(e.origin, absl::StrCat("'new' cannot be combined with container ids in ", Quoted(e.text)));
  const bool want = *e.op == Op::kEq;
  if (s.new_container && *s.new_container != want)
    return ErrorAt(e.origin, "container=new and container!=new together can never match");
  if (s.in_container == false)
    return ErrorAt(e.origin,
                   absl::StrCat("'not-container' and ", Quoted(e.text), " together can never match"));
  s.new_container = want;
  if (!want) s.in_container = true;
  return absl::OkStatus();
}

absl::Status AddScope(const Expr& e, Scope& s) {
  const ScopeKeyword* keyword = nullptr;
  for (const ScopeKeyword& k : kScopeKeywords)
    if (k.name == e.key) keyword = &k;
  if (keyword == nullptr)
    return ErrorAt(e.origin, absl::StrCat("unknown scope ", Quoted(e.key), " in ", Quoted(e.text),
                                          " (expected ", AbslView(kScopeExpected), ")"));
  constexpr uint64_t kU32 = UINT32_MAX;
  switch (keyword->kind) {
    case ScopeKind::kGlobal:
      return NoValue(e);
    case ScopeKind::kUid:
      return AddNumeric(e, s.uid, kU32, true);
    case ScopeKind::kEuid:
      return AddNumeric(e, s.euid, kU32, true);
    case ScopeKind::kPid: {
      bool is_new = std::find(e.values.begin(), e.values.end(), "new") != e.values.end();
      if (!is_new) return AddNumeric(e, s.pid, kU32, true);
      if (absl::Status st = CheckOp(e, false); !st.ok()) return st;
      if (e.values.size() != 1)
        return ErrorAt(e.origin,
                       absl::StrCat("'new' cannot be combined with other values in ", Quoted(e.text)));
      bool want = *e.op == Op::kEq;
      if (s.new_pid && *s.new_pid != want)
        return ErrorAt(e.origin, "pid=new and pid!=new together can never match");
      s.new_pid = want;
      return absl::OkStatus();
    }
    case ScopeKind::kMntns:
      return AddNumeric(e, s.mntns, kU32, false);
    case ScopeKind::kPidns:
      return AddNumeric(e, s.pidns, kU32, false);
    case ScopeKind::kUts: {
      if (absl::Status st = CheckOp(e, false); !st.ok()) return st;
      // A number is a namespace inode (as in `utsNamespace`); anything else a host name.
      bool numeric = std::all_of(e.values.begin(), e.values.end(), AllDigits);
      if (numeric) return AddNumeric(e, s.utsns, kU32, false);
      constexpr size_t kHostNameMax = 64;
      for (const std::string& v : e.values)
        if (v.size() > kHostNameMax)
          return ErrorAt(e.origin, absl::StrCat("host name ", Quoted(v), " is longer than ", kHostNameMax,
                                                " characters"));
      return AddString(e, s.uts_name, {e.values.begin(), e.values.end()});
    }
    case ScopeKind::kComm: {
      // The kernel keeps 15 characters of a command name.
      std::set<std::string> values;
      for (const std::string& v : e.values) values.insert(v.substr(0, 15));
      return AddString(e, s.comm, std::move(values));
    }
    case ScopeKind::kContainer: {
      if (!e.op) {
        if (s.in_container == false)
          return ErrorAt(e.origin, "'container' and 'not-container' together can never match");
        s.in_container = true;
        return absl::OkStatus();
      }
      if (std::find(e.values.begin(), e.values.end(), "new") != e.values.end()) return AddNewContainer(e, s);
      for (const std::string& v : e.values)
        if (v == "started")
          return ErrorAt(e.origin, absl::StrCat(Quoted(e.text),
                                                " is not supported (expected container, not-container, "
                                                "container=new, container!=new or container=ID)"));
      return AddString(e, s.container_id, {e.values.begin(), e.values.end()});
    }
    case ScopeKind::kNotContainer:
      if (absl::Status st = NoValue(e); !st.ok()) return st;
      if (s.new_container)
        return ErrorAt(e.origin,
                       "'not-container' and container=new or container!=new together can never match");
      if (s.in_container == true)
        return ErrorAt(e.origin, "'container' and 'not-container' together can never match");
      s.in_container = false;
      return absl::OkStatus();
    case ScopeKind::kExec: {
      std::set<std::string> paths;
      for (std::string v : e.values) {
        if (v.starts_with("host:")) v.erase(0, 5);
        if (!v.starts_with("/"))
          return ErrorAt(e.origin,
                         absl::StrCat("scope ", Quoted(e.key), " expects an absolute path, got ", Quoted(v)));
        paths.insert(v);
      }
      if (absl::Status st = AddString(e, s.exec, paths); !st.ok()) return st;
      std::set<std::string>& resolved = *e.op == Op::kEq ? s.exec_eq_resolved : s.exec_ne_resolved;
      for (const std::string& v : paths) {
        std::error_code ec;
        std::filesystem::path canonical = std::filesystem::weakly_canonical(v, ec);
        if (!ec) resolved.insert(canonical.string());
      }
      return absl::OkStatus();
    }
    case ScopeKind::kTree:
      return AddNumeric(e, s.tree, kU32, false);
    case ScopeKind::kFollow:
      if (absl::Status st = NoValue(e); !st.ok()) return st;
      s.follow = true;
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::StatusOr<Scope> CompileScope(const Policy& p) {
  Scope s;
  const Expr* global = nullptr;
  for (const Expr& e : p.scope) {
    if (e.key == "global" && !e.op) global = &e;
    if (absl::Status st = AddScope(e, s); !st.ok()) return st;
  }
  if (global != nullptr && p.scope.size() > 1)
    return ErrorAt(global->origin,
                   "'global' cannot be combined with other scope expressions "
                   "(expected either global alone or the filters that narrow it)");
  return s;
}

// ---------------------------------------------------------------- rules

bool NumericFormat(ArgFormat f) {
  return f == ArgFormat::kInt || f == ArgFormat::kUint || f == ArgFormat::kDirfd;
}

FilterValue MakeValue(std::string_view v) {
  FilterValue out;
  if (v.size() >= 2 && v.front() == '*' && v.back() == '*') {
    out.match = FilterValue::Match::kContains;
    v = v.substr(1, v.size() - 2);
  } else if (!v.empty() && v.front() == '*') {
    out.match = FilterValue::Match::kSuffix;
    v.remove_prefix(1);
  } else if (!v.empty() && v.back() == '*') {
    out.match = FilterValue::Match::kPrefix;
    v.remove_suffix(1);
  } else {
    out.number = ParseInteger(v);
  }
  out.text = std::string(v);
  return out;
}

absl::Status NeedsIntegers(const Expr& e, std::string_view what) {
  for (const std::string& v : e.values)
    if (!ParseInteger(v))
      return ErrorAt(e.origin, absl::StrCat(AbslView(what), " expects an integer, got ", Quoted(v), " in ",
                                            Quoted(e.text)));
  return absl::OkStatus();
}

absl::Status NeedsOp(const Expr& e, bool ordering_allowed, std::string_view what) {
  if (!e.op)
    return ErrorAt(e.origin, absl::StrCat("filter ", Quoted(e.text), " needs an operator and a value (e.g. ",
                                          e.key, "=VALUE)"));
  if (IsOrdering(*e.op) && !ordering_allowed)
    return ErrorAt(e.origin, absl::StrCat("operator '", AbslView(OpText(*e.op)), "' is not valid for ",
                                          AbslView(what), " (expected = or !=)"));
  if (IsOrdering(*e.op) && e.values.size() != 1)
    return ErrorAt(e.origin, absl::StrCat("operator '", AbslView(OpText(*e.op)), "' takes one value, got ",
                                          e.values.size(), " in ", Quoted(e.text)));
  return absl::OkStatus();
}

std::string ArgNames(const EventDef& def) {
  if (def.args.empty()) return "it has no arguments";
  std::vector<std::string_view> names;
  for (const events::ArgDef& a : def.args) names.push_back(a.name);
  return absl::StrCat("expected one of: ", JoinViews(names, ", "));
}

absl::StatusOr<Filter> CompileFilter(const Expr& e, const std::vector<const EventDef*>& defs) {
  Filter f;
  f.text = e.text;
  f.op = e.op.value_or(Op::kEq);
  std::string_view key = e.key;
  if (key.starts_with("data.") || key.starts_with("args.")) {
    f.kind = Filter::Kind::kData;
    f.arg = std::string(key.substr(5));
    bool numeric = true, orderable = true;
    for (const EventDef* def : defs) {
      const events::ArgDef* arg = def->FindArg(f.arg);
      if (arg == nullptr || f.arg.empty())
        return ErrorAt(e.origin, absl::StrCat("event ", Quoted(def->name), " has no argument ", Quoted(f.arg),
                                              " (", ArgNames(*def), ")"));
      numeric &= NumericFormat(arg->format);
      orderable &= NumericFormat(arg->format) || arg->format == ArgFormat::kHex;
    }
    std::string what = absl::StrCat("data.", f.arg, orderable ? "" : " (not a number)");
    if (absl::Status st = NeedsOp(e, orderable, what); !st.ok()) return st;
    if (numeric || IsOrdering(f.op)) {
      if (absl::Status st = NeedsIntegers(e, absl::StrCat("data.", f.arg)); !st.ok()) return st;
    }
  } else if (key == "retval") {
    f.kind = Filter::Kind::kRetval;
    if (absl::Status st = NeedsOp(e, true, "retval"); !st.ok()) return st;
    if (absl::Status st = NeedsIntegers(e, "retval"); !st.ok()) return st;
  } else if ((key == "container" || key == "host" || key == "not-container") && !e.op) {
    f.kind = key == "container" ? Filter::Kind::kInContainer : Filter::Kind::kOnHost;
  } else if (const ContextField* field = FindContextField(key == "container" ? "containerId" : key)) {
    f.kind = field->numeric ? Filter::Kind::kNumber : Filter::Kind::kString;
    f.field = field->field;
    if (absl::Status st = NeedsOp(e, field->numeric, key); !st.ok()) return st;
    if (field->numeric) {
      if (absl::Status st = NeedsIntegers(e, key); !st.ok()) return st;
    }
  } else {
    return ErrorAt(e.origin, absl::StrCat("unknown filter ", Quoted(e.key), " in ", Quoted(e.text),
                                          " (expected data.ARG, retval, container, host or a context field: ",
                                          JoinViews(ContextFieldNames(), ", "), ")"));
  }
  for (const std::string& v : e.values) f.values.push_back(MakeValue(v));
  return f;
}

enum class Piece { kPlain, kFilter, kTag };

Piece KindOf(std::string_view item) {
  if (item.starts_with("tag=")) return Piece::kTag;
  size_t dot = item.find('.');
  size_t op = item.find_first_of("=!<>");
  if (dot != std::string_view::npos && (op == std::string_view::npos || dot < op)) return Piece::kFilter;
  return Piece::kPlain;
}

bool NamesEvents(std::string_view item, const Registry& registry) {
  if (item.starts_with("-")) item.remove_prefix(1);
  switch (KindOf(item)) {
    case Piece::kTag:
      return true;
    case Piece::kFilter:
      return registry.Find(item.substr(0, item.find('.'))) != nullptr;
    case Piece::kPlain:
      if (!item.ends_with("*")) return registry.Find(item) != nullptr;
      return std::any_of(registry.all().begin(), registry.all().end(), [&](const EventDef& d) {
        return !d.internal && d.name.starts_with(item.substr(0, item.size() - 1));
      });
  }
  return false;
}

// Comma lists into items; what a comma does not end (the values of a
// filter, the sets of a tag) is joined back to the item it belongs to.
std::vector<std::string> SplitItems(const std::vector<std::string>& lists, const Registry& registry) {
  std::vector<std::string> out;
  Piece previous = Piece::kPlain;
  for (const std::string& list : lists) {
    size_t start = 0;
    while (start <= list.size()) {
      size_t comma = list.find(',', start);
      std::string_view piece =
          Trim(std::string_view(list).substr(start, comma == std::string::npos ? comma : comma - start));
      start = comma == std::string::npos ? list.size() + 1 : comma + 1;
      if (piece.empty()) continue;
      if (!out.empty() && !NamesEvents(piece, registry)) {
        if (previous == Piece::kFilter) {
          absl::StrAppend(&out.back(), ",", AbslView(piece));
          continue;
        }
        if (previous == Piece::kTag && registry.IsSet(piece)) {
          out.push_back(absl::StrCat("tag=", AbslView(piece)));
          continue;
        }
      }
      out.emplace_back(piece);
      previous = KindOf(piece.starts_with("-") ? piece.substr(1) : piece);
    }
  }
  return out;
}

struct PolicyRules {
  std::set<uint32_t> events;
  std::unordered_map<uint32_t, std::vector<Filter>> filters;
};

absl::StatusOr<PolicyRules> CompileRules(const Policy& p, const Registry& registry) {
  PolicyRules out;
  std::map<uint32_t, Origin> first;
  std::set<uint32_t> excluded;
  for (const Rule& rule : p.rules) {
    std::vector<std::string> items = SplitItems({rule.event}, registry);
    bool only_exclusions =
        !items.empty() &&
        std::all_of(items.begin(), items.end(), [](const std::string& s) { return s.starts_with("-"); });
    if (items.empty()) return ErrorAt(rule.origin, "expected an event name");
    if (only_exclusions) {
      if (!rule.filters.empty())
        return ErrorAt(rule.filters.front().origin,
                       absl::StrCat("filters on an exclusion (", Quoted(rule.event), ") select nothing"));
      for (std::string& item : items) item.erase(0, 1);
      absl::StatusOr<std::set<uint32_t>> ids = registry.Expand(items);
      if (!ids.ok()) return ErrorAt(rule.origin, StdView(ids.status().message()));
      excluded.insert(ids->begin(), ids->end());
      continue;
    }
    for (const std::string& item : items)
      if (KindOf(item) == Piece::kFilter)
        return ErrorAt(rule.origin, absl::StrCat("unknown event ", Quoted(item),
                                                 " (filters go in the rule's filters list)"));
    absl::StatusOr<std::set<uint32_t>> ids = registry.Expand(items);
    if (!ids.ok()) return ErrorAt(rule.origin, StdView(ids.status().message()));
    if (ids->empty()) return ErrorAt(rule.origin, absl::StrCat(Quoted(rule.event), " selects no event"));
    std::vector<const EventDef*> defs;
    for (uint32_t id : *ids) defs.push_back(registry.FindId(id));
    std::vector<Filter> filters;
    for (const Expr& e : rule.filters) {
      absl::StatusOr<Filter> f = CompileFilter(e, defs);
      if (!f.ok()) return f.status();
      filters.push_back(std::move(*f));
    }
    for (const EventDef* def : defs) {
      auto [it, fresh] = first.emplace(def->id, rule.origin);
      if (!fresh)
        return ErrorAt(
            rule.origin,
            absl::StrCat("event ", Quoted(def->name), " is selected twice in policy ", Quoted(p.name),
                         it->second.line > 0 ? absl::StrCat(" (first at line ", it->second.line, ")") : "",
                         "; an event has at most one rule per policy (merge the filters or use "
                         "another policy)"));
      out.events.insert(def->id);
      if (filters.empty()) continue;
      std::vector<Filter>& mine = out.filters[def->id] = filters;
      for (Filter& f : mine)  // CompileFilter checked that every def has the argument
        if (f.kind == Filter::Kind::kData) f.arg_index = def->ArgIndex(f.arg);
    }
  }
  for (uint32_t id : excluded) {
    out.events.erase(id);
    out.filters.erase(id);
  }
  if (out.events.empty())
    return ErrorAt(p.origin, absl::StrCat("policy ", Quoted(p.name), " selects no event"));
  return out;
}

}  // namespace

bool Scope::HasKernelFilter() const {
  return uid.active() || euid.active() || pid.active() || mntns.active() || pidns.active() || utsns.active() ||
         tree.active() || comm.active() || uts_name.active() || exec.eq.has_value() || new_pid.has_value() ||
         in_container.has_value() || new_container.has_value();
}

bool Scope::HasUserFilter() const { return exec.active() || container_id.active(); }

std::string_view DropReasonName(DropReason reason) {
  switch (reason) {
    case DropReason::kScope:
      return "scope";
    case DropReason::kData:
      return "data";
    case DropReason::kRetval:
      return "retval";
    case DropReason::kContext:
      return "context";
    case DropReason::kCount:
      break;
  }
  return "?";
}

uint64_t CompiledPolicies::PoliciesOf(uint32_t event_id) const {
  auto it = event_policies_.find(event_id);
  return it == event_policies_.end() ? 0 : it->second;
}

std::set<uint32_t> CompiledPolicies::events() const {
  std::set<uint32_t> out;
  for (const auto& [id, mask] : event_policies_) out.insert(id);
  return out;
}

const std::vector<Filter>* CompiledPolicies::FiltersOf(size_t policy, uint32_t event_id) const {
  if (policy >= filters_.size()) return nullptr;
  auto it = filters_[policy].find(event_id);
  return it == filters_[policy].end() ? nullptr : &it->second;
}

void CompiledPolicies::MarkDecidedInKernel(size_t policy, uint32_t event_id, size_t index) {
  if (policy >= filters_.size()) return;
  auto it = filters_[policy].find(event_id);
  if (it != filters_[policy].end() && index < it->second.size()) it->second[index].decided_in_kernel = true;
}

uint64_t CompiledPolicies::total_drops() const {
  uint64_t total = 0;
  for (uint64_t n : drops_) total += n;
  return total;
}

absl::StatusOr<CompiledPolicies> Compile(const std::vector<Policy>& policies, const Registry& registry,
                                         std::string description) {
  if (policies.empty()) return absl::InvalidArgumentError("no policy given");
  if (policies.size() > kMaxPolicies)
    return ErrorAt(
        policies[kMaxPolicies].origin,
        absl::StrCat("too many policies: ", policies.size(), " (the limit is ", kMaxPolicies, "); policy ",
                     Quoted(policies[kMaxPolicies].name), " is number ", kMaxPolicies + 1));
  CompiledPolicies out;
  out.description_ = std::move(description);
  std::map<std::string, Origin> seen;
  for (size_t i = 0; i < policies.size(); ++i) {
    const Policy& p = policies[i];
    auto [it, fresh] = seen.emplace(p.name, p.origin);
    if (!fresh) {
      std::string other = it->second.Describe();
      return ErrorAt(p.origin, absl::StrCat("duplicate policy name ", Quoted(p.name),
                                            other.empty() ? "" : absl::StrCat(" (also at ", other, ")")));
    }
    absl::StatusOr<Scope> scope = CompileScope(p);
    if (!scope.ok()) return scope.status();
    absl::StatusOr<PolicyRules> rules = CompileRules(p, registry);
    if (!rules.ok()) return rules.status();

    const uint64_t bit = uint64_t{1} << i;
    bool user_scope = scope->HasUserFilter();
    if (user_scope) out.user_scope_ |= bit;
    for (uint32_t id : rules->events) {
      out.event_policies_[id] |= bit;
      CompiledPolicies::EventEntry& entry = out.entries_[id];
      entry.policies |= bit;
      if (user_scope || rules->filters.contains(id)) entry.needs_user |= bit;
    }
    out.names_.push_back(p.name);
    out.scopes_.push_back(std::move(*scope));
    out.filters_.push_back(std::move(rules->filters));
  }
  return out;
}

absl::StatusOr<Policy> CliPolicy(const std::vector<std::string>& events,
                                 const std::vector<std::string>& scopes, const Registry& registry) {
  Policy p;
  p.name = "cli";
  p.origin = Origin{.file = "--events"};
  for (const std::string& text : scopes) {
    absl::StatusOr<Expr> e = ParseExpr(text, Origin{.file = "--scope"});
    if (!e.ok()) return e.status();
    p.scope.push_back(std::move(*e));
  }
  std::vector<std::string> plain;
  std::vector<Rule> filtered;  // one per event, in the order first given
  for (const std::string& item : SplitItems(events, registry)) {
    if (KindOf(item) != Piece::kFilter || item.starts_with("-")) {
      plain.push_back(item);
      continue;
    }
    size_t dot = item.find('.');
    std::string name = item.substr(0, dot);
    std::string_view filter = std::string_view(item).substr(dot + 1);
    if (filter.starts_with("scope.")) filter.remove_prefix(6);
    auto rule =
        std::find_if(filtered.begin(), filtered.end(), [&](const Rule& r) { return r.event == name; });
    if (rule == filtered.end()) {
      filtered.push_back(Rule{.event = name, .origin = Origin{.file = "--events"}});
      rule = filtered.end() - 1;
    }
    absl::StatusOr<Expr> e = ParseExpr(filter, Origin{.file = "--events"});
    if (!e.ok()) return e.status();
    rule->filters.push_back(std::move(*e));
  }
  // An event given with filters is selected by its filtered rule only.
  std::erase_if(plain, [&](const std::string& item) {
    return std::any_of(filtered.begin(), filtered.end(), [&](const Rule& r) { return r.event == item; });
  });
  bool includes =
      std::any_of(plain.begin(), plain.end(), [](const std::string& s) { return !s.starts_with("-"); });
  if (!includes && filtered.empty()) {
    plain.insert(plain.begin(), "tag=default");
    includes = true;
  }
  if (includes)
    for (const Rule& r : filtered) plain.push_back(absl::StrCat("-", r.event));
  if (!plain.empty())
    p.rules.push_back(Rule{.event = absl::StrJoin(plain, ","), .origin = Origin{.file = "--events"}});
  for (Rule& r : filtered) p.rules.push_back(std::move(r));
  return p;
}

absl::StatusOr<CompiledPolicies> CompileSelection(const SelectionFlags& flags, const Registry& registry,
                                                  const std::string& default_policy) {
  bool cli = !flags.events.empty() || !flags.scopes.empty();
  if (cli && !flags.policy_paths.empty())
    return absl::InvalidArgumentError(
        "--policy cannot be combined with --events or --scope: "
        "a policy file gives both (use one or the other)");
  if (cli) {
    absl::StatusOr<Policy> p = CliPolicy(flags.events, flags.scopes, registry);
    if (!p.ok()) return p.status();
    std::string description;
    if (!flags.events.empty()) absl::StrAppend(&description, "-e ", absl::StrJoin(flags.events, ","));
    for (const std::string& s : flags.scopes)
      absl::StrAppend(&description, description.empty() ? "" : " ", "-s ", s);
    return Compile({*p}, registry, description);
  }
  std::vector<std::string> paths = flags.policy_paths;
  if (paths.empty()) paths = {default_policy};
  absl::StatusOr<std::vector<Policy>> loaded = LoadPolicies(paths);
  if (!loaded.ok()) return loaded.status();
  return Compile(*loaded, registry, absl::StrCat("-p ", absl::StrJoin(paths, ",")));
}

}  // namespace vigil::policies

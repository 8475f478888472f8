// The user-space half of matching: rule filters and the scope kinds the
// kernel does not decide, applied to decoded events.
#include <algorithm>
#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "fields.h"
#include "text.h"
#include "vigil/events/format.h"
#include "vigil/policies/compile.h"

namespace vigil::policies {
namespace {

constexpr ContextField kFields[] = {
    {"timestamp", true, static_cast<int>(NumberField::kTimestamp)},
    {"processorId", true, static_cast<int>(NumberField::kProcessorId)},
    {"pid", true, static_cast<int>(NumberField::kPid)},
    {"p", true, static_cast<int>(NumberField::kPid)},
    {"processId", true, static_cast<int>(NumberField::kPid)},
    {"tid", true, static_cast<int>(NumberField::kTid)},
    {"threadId", true, static_cast<int>(NumberField::kTid)},
    {"ppid", true, static_cast<int>(NumberField::kPpid)},
    {"parentProcessId", true, static_cast<int>(NumberField::kPpid)},
    {"hostPid", true, static_cast<int>(NumberField::kHostPid)},
    {"hostProcessId", true, static_cast<int>(NumberField::kHostPid)},
    {"hostTid", true, static_cast<int>(NumberField::kHostTid)},
    {"hostThreadId", true, static_cast<int>(NumberField::kHostTid)},
    {"hostParentProcessId", true, static_cast<int>(NumberField::kHostPpid)},
    {"uid", true, static_cast<int>(NumberField::kUid)},
    {"userId", true, static_cast<int>(NumberField::kUid)},
    {"mntns", true, static_cast<int>(NumberField::kMntns)},
    {"mountNamespace", true, static_cast<int>(NumberField::kMntns)},
    {"pidns", true, static_cast<int>(NumberField::kPidns)},
    {"pidNamespace", true, static_cast<int>(NumberField::kPidns)},
    {"cgroupId", true, static_cast<int>(NumberField::kCgroupId)},
    {"comm", false, static_cast<int>(StringField::kComm)},
    {"processName", false, static_cast<int>(StringField::kComm)},
    {"hostName", false, static_cast<int>(StringField::kHostName)},
    {"containerId", false, static_cast<int>(StringField::kContainerId)},
    {"executable", false, static_cast<int>(StringField::kExecutable)},
    {"syscall", false, static_cast<int>(StringField::kSyscall)},
};

bool Compare(__int128 a, Op op, __int128 b) {
  switch (op) {
    case Op::kEq:
      return a == b;
    case Op::kNe:
      return a != b;
    case Op::kLt:
      return a < b;
    case Op::kGt:
      return a > b;
    case Op::kLe:
      return a <= b;
    case Op::kGe:
      return a >= b;
  }
  return false;
}

bool MatchText(const FilterValue& v, std::string_view s) {
  switch (v.match) {
    case FilterValue::Match::kExact:
      return s == v.text;
    case FilterValue::Match::kPrefix:
      return s.starts_with(v.text);
    case FilterValue::Match::kSuffix:
      return s.ends_with(v.text);
    case FilterValue::Match::kContains:
      return s.find(v.text) != std::string_view::npos;
  }
  return false;
}

// `=`: any value matches; `!=`: none does; orderings: the one value holds.
template <typename Hit>
bool Apply(const Filter& f, Hit hit) {
  if (f.op == Op::kEq || f.op == Op::kNe) {
    bool any = std::any_of(f.values.begin(), f.values.end(), hit);
    return f.op == Op::kEq ? any : !any;
  }
  return hit(f.values.front());
}

bool MatchNumber(const Filter& f, __int128 x) {
  if (f.op == Op::kEq || f.op == Op::kNe) {
    bool any = std::any_of(f.values.begin(), f.values.end(),
                           [&](const FilterValue& v) { return v.number && *v.number == x; });
    return f.op == Op::kEq ? any : !any;
  }
  return f.values.front().number && Compare(x, f.op, *f.values.front().number);
}

bool MatchString(const Filter& f, std::string_view s) {
  return Apply(f, [&](const FilterValue& v) { return MatchText(v, s); });
}

// The text of a value as a sink shows it (a list joined by spaces).
std::string_view TextOf(const events::Value& v, std::string& storage) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* i = std::get_if<int64_t>(&v))
    storage = absl::StrCat(*i);
  else if (const auto* u = std::get_if<uint64_t>(&v))
    storage = absl::StrCat(*u);
  else if (const auto* b = std::get_if<bool>(&v))
    storage = *b ? "true" : "false";
  else if (const auto* list = std::get_if<std::vector<std::string>>(&v))
    storage = absl::StrJoin(*list, " ");
  return storage;
}

// Arguments compare as numbers when both sides are integers (typed values:
// an integer, or the captured number of a hex argument), else as text: a
// string as it is; a number, or a format's rendering (flags, modes...), as a
// sink shows it, rendered here on demand for this one argument. A socket
// address matches when one of its fields does.
bool MatchArg(const Filter& f, const events::Arg* arg) {
  if (arg == nullptr || std::holds_alternative<std::monostate>(arg->value)) return f.op == Op::kNe;
  const auto* raw = std::get_if<uint64_t>(&arg->value);
  const bool hex = raw != nullptr && arg->def->format == events::ArgFormat::kHex;
  const events::Value& v = raw != nullptr && !hex && events::RendersInteger(arg->def->format)
                               ? events::Rendered(*arg)  // "O_WRONLY|O_CREAT": the text is the value
                               : arg->value;
  std::optional<__int128> number;
  if (const auto* u = std::get_if<uint64_t>(&v))
    number = *u;  // a hex argument orders as a number; its text ("0x...") only if a pattern asks
  else if (std::optional<int64_t> i = events::IntegerOf(v))
    number = *i;
  const events::Fields* fields = std::get_if<events::Fields>(&v);
  std::string storage;
  std::optional<std::string_view> text;
  return Apply(f, [&](const FilterValue& fv) {
    if (IsOrdering(f.op)) return number && fv.number && Compare(*number, f.op, *fv.number);
    if (number && fv.number) return *number == *fv.number;
    if (fields != nullptr)
      return std::any_of(fields->begin(), fields->end(),
                         [&](const auto& kv) { return MatchText(fv, kv.second); });
    if (!text) text = TextOf(hex ? events::Rendered(*arg) : v, storage);
    return MatchText(fv, *text);
  });
}

bool AnyPrefix(const std::set<std::string>& ids, std::string_view id) {
  return std::any_of(ids.begin(), ids.end(), [&](const std::string& p) { return id.starts_with(p); });
}

}  // namespace

bool IsOrdering(Op op) { return op != Op::kEq && op != Op::kNe; }

const ContextField* FindContextField(std::string_view name) {
  for (const ContextField& f : kFields)
    if (f.name == name) return &f;
  return nullptr;
}

std::vector<std::string_view> ContextFieldNames() {
  std::vector<std::string_view> out;
  for (const ContextField& f : kFields) out.push_back(f.name);
  return out;
}

__int128 NumberOf(const events::Event& e, NumberField field) {
  switch (field) {
    case NumberField::kTimestamp:
      return e.timestamp_ns;
    case NumberField::kProcessorId:
      return e.processor_id;
    case NumberField::kPid:
      return e.pid;
    case NumberField::kTid:
      return e.tid;
    case NumberField::kPpid:
      return e.ppid;
    case NumberField::kHostPid:
      return e.host_pid;
    case NumberField::kHostTid:
      return e.host_tid;
    case NumberField::kHostPpid:
      return e.host_ppid;
    case NumberField::kUid:
      return e.uid;
    case NumberField::kMntns:
      return e.mnt_ns;
    case NumberField::kPidns:
      return e.pid_ns;
    case NumberField::kCgroupId:
      return e.cgroup_id;
  }
  return 0;
}

std::string_view StringOf(const events::Event& e, StringField field) {
  switch (field) {
    case StringField::kComm:
      return e.comm;
    case StringField::kHostName:
      return e.host_name;
    case StringField::kContainerId:
      return e.container_id;
    case StringField::kExecutable:
      return e.executable;
    case StringField::kSyscall:
      return e.def != nullptr && e.def->is_syscall() ? e.def->name : std::string_view();
  }
  return {};
}

std::optional<__int128> ParseInteger(std::string_view text) {
  bool negative = text.starts_with("-");
  if (negative) text.remove_prefix(1);
  int base = 10;
  if (text.starts_with("0x") || text.starts_with("0X")) {
    base = 16;
    text.remove_prefix(2);
  }
  if (text.empty() || text.size() > 20) return std::nullopt;
  unsigned __int128 value = 0;
  for (char c : text) {
    int digit;
    if (c >= '0' && c <= '9')
      digit = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f')
      digit = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F')
      digit = c - 'A' + 10;
    else
      return std::nullopt;
    value = value * base + digit;
  }
  if (value > UINT64_MAX) return std::nullopt;
  auto signed_value = static_cast<__int128>(value);
  if (negative) {
    if (value > static_cast<unsigned __int128>(INT64_MAX) + 1) return std::nullopt;
    signed_value = -signed_value;
  }
  return signed_value;
}

bool CompiledPolicies::MatchScope(size_t policy, const events::Event& e) const {
  const Scope& s = scopes_[policy];
  // With follow, exec= is decided in the kernel (by inode), so that
  // descendants running other programs still match.
  if (s.exec.eq && !s.follow && !s.exec.eq->contains(e.executable) &&
      !s.exec_eq_resolved.contains(e.executable))
    return false;
  if (s.exec.ne.contains(e.executable) || s.exec_ne_resolved.contains(e.executable)) return false;
  if (s.container_id.eq && (e.container_id.empty() || !AnyPrefix(*s.container_id.eq, e.container_id)))
    return false;
  if (!e.container_id.empty() && AnyPrefix(s.container_id.ne, e.container_id)) return false;
  return true;
}

uint64_t CompiledPolicies::MatchUser(const events::Event& e, uint64_t kernel_matched) const {
  if (e.def == nullptr) return 0;
  auto entry = entries_.find(e.def->id);
  if (entry == entries_.end()) return 0;
  uint64_t out = kernel_matched & entry->second.policies;
  uint64_t check = out & entry->second.needs_user;
  std::optional<DropReason> first;
  for (size_t i = 0; check != 0; ++i, check >>= 1) {
    if (!(check & 1)) continue;
    std::optional<DropReason> why;
    if (!MatchScope(i, e)) why = DropReason::kScope;
    if (!why) {
      if (const std::vector<Filter>* filters = FiltersOf(i, e.def->id)) {
        for (const Filter& f : *filters) {
          bool ok = true;
          switch (f.kind) {
            case Filter::Kind::kData:
              ok = f.decided_in_kernel || MatchArg(f, e.ArgAt(f.arg_index));
              if (!ok) why = DropReason::kData;
              break;
            case Filter::Kind::kRetval:
              ok = MatchNumber(f, e.retval);
              if (!ok) why = DropReason::kRetval;
              break;
            case Filter::Kind::kNumber:
              ok = MatchNumber(f, NumberOf(e, static_cast<NumberField>(f.field)));
              break;
            case Filter::Kind::kString:
              ok = MatchString(f, StringOf(e, static_cast<StringField>(f.field)));
              break;
            case Filter::Kind::kInContainer:
              ok = !e.container_id.empty();
              break;
            case Filter::Kind::kOnHost:
              ok = e.container_id.empty();
              break;
          }
          if (!ok) {
            if (!why) why = DropReason::kContext;
            break;
          }
        }
      }
    }
    if (why) {
      out &= ~(uint64_t{1} << i);
      if (!first) first = why;
    }
  }
  if (out == 0 && first) ++drops_[static_cast<int>(*first)];
  return out;
}

}  // namespace vigil::policies

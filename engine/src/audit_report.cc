#include "vigil/engine/audit_report.h"

#include <map>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "vigil/engine/json.h"

namespace vigil::engine {
namespace {

const caps::RingTransition* TransitionAt(const AuditInputs& in, int64_t ts) {
  const caps::RingTransition* last = nullptr;
  for (const caps::RingTransition& t : in.transitions) {
    if (t.monotonic_ns > ts) break;
    last = &t;
  }
  return last;
}

std::string EventAt(const AuditInputs& in, int64_t ts, const std::string& phase) {
  if (phase == "load" || phase == "ring-buffer set-up") return "(all selected)";
  if (phase != "attach") return "-";
  std::string event = "-";
  for (const auto& [t, name] : in.attach_times) {
    if (t > ts) break;
    event = name;
  }
  return event;
}

caps::CapSet Declared(const caps::PlanDescription& p) { return p.plan.base | p.plan.ebpf | p.plan.specific; }

struct Row {
  std::string phase, event;
  int cap;
  bool granted;
  bool operator<(const Row& o) const {
    return std::tie(phase, event, cap, granted) < std::tie(o.phase, o.event, o.cap, o.granted);
  }
};

std::map<Row, int> Aggregate(const AuditInputs& in) {
  std::map<Row, int> rows;
  for (const CapCheck& c : in.checks) {
    std::string phase = PhaseAt(in, c.monotonic_ns);
    rows[{phase, EventAt(in, c.monotonic_ns, phase), c.cap, c.granted}]++;
  }
  return rows;
}

std::string NeededBy(const std::vector<caps::CapNeed>& needs, int cap) {
  for (const caps::CapNeed& n : needs)
    if (static_cast<int>(n.cap) == cap) return absl::StrJoin(n.needed_by, "; ");
  return "";
}

}  // namespace

std::string PhaseAt(const AuditInputs& in, int64_t ts) {
  if (in.stop_ns != 0 && ts >= in.stop_ns) return "stop";
  if (in.setup_done_ns != 0 && ts >= in.setup_done_ns) return "steady state";
  const caps::RingTransition* t = TransitionAt(in, ts);
  if (t == nullptr || t->ring == caps::Ring::kBase) return "start-up";
  if (t->label == "load BPF object") return "load";
  if (t->label == "attach programs") return "attach";
  if (t->label == "map ring buffer") return "ring-buffer set-up";
  return absl::StrCat("start-up (", t->label, ")");
}

AuditSummary Summarize(const AuditInputs& in) {
  AuditSummary s;
  caps::CapSet declared = Declared(in.plan);
  // Hardening empties the bounding set with CAP_SETPCAP where the process
  // starts with it (SPEC §3), before the rings are in force.
  declared.Add(caps::Cap::kSetpcap);
  caps::CapSet granted, denied_outside;
  for (const CapCheck& c : in.checks) {
    if (c.granted) {
      granted |= caps::CapSet(uint64_t{1} << c.cap);
    } else {
      const caps::RingTransition* t = TransitionAt(in, c.monotonic_ns);
      caps::CapSet ring = t ? t->effective : in.plan.plan.base;
      if (!ring.HasNumber(c.cap)) denied_outside |= caps::CapSet(uint64_t{1} << c.cap);
    }
  }
  auto describe = [&](int cap) {
    for (auto [ring, needs] : {std::pair{"base", &in.plan.base}, std::pair{"ebpf", &in.plan.ebpf},
                               std::pair{"specific", &in.plan.specific}}) {
      std::string by = NeededBy(*needs, cap);
      if (!by.empty() && by != "base ring") return absl::StrCat(caps::CapName(cap), " (", ring, "): ", by);
    }
    return caps::CapName(cap);
  };
  for (int cap : (declared - granted).Numbers())
    if (cap != static_cast<int>(caps::Cap::kSetpcap)) s.declared_unused.push_back(describe(cap));
  for (int cap : (granted - declared).Numbers())
    s.used_undeclared.push_back(
        absl::StrCat(caps::CapName(cap), in.bypass ? " (granted from the inherited set)" : ""));
  for (int cap : (denied_outside - declared).Numbers()) s.denied_undeclared.push_back(caps::CapName(cap));
  return s;
}

std::string RenderAuditText(const AuditInputs& in) {
  std::string out = absl::StrCat("capability audit for ", in.plan.selection, "\n", in.checks.size(),
                                 " capability checks recorded by the kernel for this process",
                                 in.lost ? absl::StrCat(" (", in.lost, " lost)") : "", "\n\n");
  absl::StrAppendFormat(&out, "%-20s %-28s %-22s %-8s %s\n", "PHASE", "EVENT", "CAPABILITY", "RESULT",
                        "CHECKS");
  for (const auto& [row, count] : Aggregate(in))
    absl::StrAppendFormat(&out, "%-20s %-28s %-22s %-8s %d\n", row.phase, row.event, caps::CapName(row.cap),
                          row.granted ? "granted" : "denied", count);
  AuditSummary s = Summarize(in);
  auto list = [&](const char* title, const std::vector<std::string>& items, const char* none) {
    absl::StrAppend(&out, "\n", title, ":", items.empty() ? absl::StrCat(" ", none) : "", "\n");
    for (const std::string& i : items) absl::StrAppend(&out, "  ", i, "\n");
  };
  list("declared but not used on this kernel", s.declared_unused, "none");
  list("used but undeclared", s.used_undeclared, "none");
  list(
      "denied checks for undeclared capabilities (the kernel tried and fell back; a failure, if any, is "
      "reported above)",
      s.denied_undeclared, "none");
  return out;
}

std::string RenderAuditJson(const AuditInputs& in) {
  std::string out = "{\"selection\":";
  AppendJsonString(out, in.plan.selection);
  absl::StrAppend(&out, ",\"checks_recorded\":", in.checks.size(), ",\"lost\":", in.lost, ",\"checks\":[");
  bool first = true;
  for (const auto& [row, count] : Aggregate(in)) {
    if (!first) out += ',';
    first = false;
    out += "{\"phase\":";
    AppendJsonString(out, row.phase);
    AppendJsonMember(out, "event", row.event);
    AppendJsonMember(out, "capability", caps::CapName(row.cap));
    absl::StrAppend(&out, ",\"granted\":", row.granted ? "true" : "false", ",\"count\":", count, "}");
  }
  AuditSummary s = Summarize(in);
  out += "],\"declared_unused\":";
  AppendJsonValue(out, events::Value(s.declared_unused));
  out += ",\"used_undeclared\":";
  AppendJsonValue(out, events::Value(s.used_undeclared));
  out += ",\"denied_undeclared\":";
  AppendJsonValue(out, events::Value(s.denied_undeclared));
  out += "}\n";
  return out;
}

}  // namespace vigil::engine

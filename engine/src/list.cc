#include "vigil/engine/list.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "vigil/engine/json.h"
#include "vigil/events/registry.h"

namespace vigil::engine {
namespace {

std::string ProbeSummary(const events::ProbeDef& p) {
  std::vector<std::string> alts;
  for (const auto& a : p.alternatives) alts.push_back(std::string(events::AttachKindName(a.kind)));
  return absl::StrCat(p.name, p.required ? "" : "?", "[", absl::StrJoin(alts, ">"), "]");
}

std::string CapsSummary(const events::EventCaps& c) {
  std::string base = c.base.empty() ? "-" : c.base.ToString();
  std::string ebpf = c.ebpf.empty() ? "-" : c.ebpf.ToString();
  return absl::StrCat("base:", base, " ebpf:", ebpf);
}

void AppendCapsJson(std::string& out, caps::CapSet set) {
  out += '[';
  bool first = true;
  for (int n : set.Numbers()) {
    if (!first) out += ',';
    first = false;
    AppendJsonString(out, caps::CapName(n));
  }
  out += ']';
}

// "inputs:ptrace TRC-102 T1622 low" (+ " cancelled here: why").
std::string DetectionSummary(const events::EventDef& d) {
  static constexpr const char* kSeverity[] = {"info", "low", "medium", "high", "critical"};
  const events::DetectionMeta& m = *d.detection;
  std::string s = absl::StrCat("inputs:", d.dependencies.empty() ? "-" : absl::StrJoin(d.dependencies, ","));
  for (const std::string& part : {m.signature_id, m.external_id})
    if (!part.empty()) absl::StrAppend(&s, " ", part);
  absl::StrAppend(&s, " ", kSeverity[std::clamp(m.severity, 0, 4)]);
  if (!m.unavailable.empty()) absl::StrAppend(&s, " (cancelled here: ", m.unavailable, ")");
  return s;
}

void AppendDetectionJson(std::string& out, const events::DetectionMeta& m) {
  out += ",\"detection\":{\"signatureID\":";
  AppendJsonString(out, m.signature_id);
  AppendJsonMember(out, "signatureName", m.signature_name);
  absl::StrAppend(&out, ",\"severity\":", m.severity, ",\"category\":");
  AppendJsonString(out, m.category);
  AppendJsonMember(out, "technique", m.technique);
  AppendJsonMember(out, "external_id", m.external_id);
  out += ",\"missingInputs\":";
  AppendJsonValue(out, events::Value(m.missing_inputs));
  AppendJsonMember(out, "unavailable", m.unavailable);
  AppendJsonMember(out, "origin", m.origin);
  out += '}';
}

}  // namespace

int PrintRegistry(std::ostream& os, bool json) {
  const events::Registry& reg = events::Registry::Builtin();
  std::string out;
  if (json) {
    out += "[\n";
    bool first = true;
    for (const events::EventDef& d : reg.all()) {
      if (d.internal) continue;
      if (!first) out += ",\n";
      first = false;
      absl::StrAppend(&out, "{\"id\":", d.id, ",\"name\":");
      AppendJsonString(out, d.name);
      AppendJsonMember(out, "description", d.description);
      out += ",\"sets\":";
      AppendJsonValue(out, events::Value(d.sets));
      out += ",\"args\":[";
      for (size_t i = 0; i < d.args.size(); ++i) {
        if (i) out += ',';
        out += "{\"name\":";
        AppendJsonString(out, d.args[i].name);
        AppendJsonMember(out, "type", d.args[i].type);
        out += '}';
      }
      out += "],\"probes\":[";
      for (size_t i = 0; i < d.probes.size(); ++i) {
        const events::ProbeDef& p = d.probes[i];
        if (i) out += ',';
        out += "{\"name\":";
        AppendJsonString(out, p.name);
        absl::StrAppend(&out, ",\"required\":", p.required ? "true" : "false", ",\"alternatives\":[");
        for (size_t k = 0; k < p.alternatives.size(); ++k) {
          if (k) out += ',';
          out += "{\"kind\":";
          AppendJsonString(out, events::AttachKindName(p.alternatives[k].kind));
          AppendJsonMember(out, "target", p.alternatives[k].target);
          out += ",\"programs\":";
          AppendJsonValue(out, events::Value(p.alternatives[k].programs));
          out += '}';
        }
        out += "]}";
      }
      out += "],\"dependencies\":";
      AppendJsonValue(out, events::Value(d.dependencies));
      if (d.detection) AppendDetectionJson(out, *d.detection);
      events::EventCaps closure = reg.CapsClosure(d.id);
      out += ",\"capabilities\":{\"base\":";
      AppendCapsJson(out, closure.base);
      out += ",\"ebpf\":";
      AppendCapsJson(out, closure.ebpf);
      out += "}}";
    }
    out += "\n]\n";
  } else {
    absl::StrAppendFormat(&out, "%-6s %-24s %-28s %-48s %-40s %s\n", "ID", "EVENT", "SETS", "ARGS", "PROBES",
                          "CAPABILITIES");
    for (const events::EventDef& d : reg.all()) {
      if (d.internal) continue;
      std::vector<std::string> args, probes;
      for (const auto& a : d.args) args.push_back(absl::StrCat(a.type, " ", a.name));
      for (const auto& p : d.probes) probes.push_back(ProbeSummary(p));
      // A detection has no probes: its inputs, MITRE id and severity instead.
      if (d.detection) probes.push_back(DetectionSummary(d));
      absl::StrAppendFormat(&out, "%-6d %-24s %-28s %-48s %-40s %s\n", d.id, d.name,
                            absl::StrJoin(d.sets, ","), args.empty() ? "-" : absl::StrJoin(args, ", "),
                            absl::StrJoin(probes, " "), CapsSummary(reg.CapsClosure(d.id)));
    }
  }
  os << out;
  return 0;
}

}  // namespace vigil::engine

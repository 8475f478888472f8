#include "vigil/caps/plan_format.h"

#include <algorithm>
#include <array>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "string_views.h"

namespace vigil::caps {
namespace {

constexpr absl::string_view kBaseRingEntry = "base ring";
constexpr absl::string_view kAddEntry = "--capabilities add=";

std::vector<CapNeed> NeedsOf(Ring ring, CapSet ring_caps, CapSet base, const PlanSources& sources) {
  const bool is_base_ring = ring == Ring::kBase;
  std::vector<CapNeed> needs;
  for (int number : ring_caps.Numbers()) {
    const Cap cap = static_cast<Cap>(number);
    CapNeed need{cap, {}};
    if (!is_base_ring && base.Has(cap)) need.needed_by.emplace_back(kBaseRingEntry);
    if (is_base_ring) {
      for (const EventCapsInput& event : sources.events) {
        if (event.base.Has(cap)) need.needed_by.push_back(event.name);
      }
      if (sources.options.add.Has(cap)) need.needed_by.emplace_back(kAddEntry);
    } else if (ring == Ring::kEbpf) {
      for (const CapReason& reason : sources.privilege.reasons) {
        if (reason.cap == cap) need.needed_by.push_back(absl::StrCat("kernel: ", reason.reason));
      }
      for (const EventCapsInput& event : sources.events) {
        if (event.ebpf.Has(cap) && !event.base.Has(cap)) need.needed_by.push_back(event.name);
      }
    } else {
      for (const CapReason& reason : sources.specific) {
        if (reason.cap == cap) need.needed_by.push_back(reason.reason);
      }
      for (const CapReason& reason : sources.specific_after_setup) {
        if (reason.cap == cap) {
          need.needed_by.push_back(absl::StrCat(reason.reason, " (also after set-up)"));
        }
      }
    }
    needs.push_back(std::move(need));
  }
  return needs;
}

std::string JsonString(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          absl::StrAppend(&out, R"(\u00)", absl::Hex(c, absl::kZeroPad2));
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out += "\"";
  return out;
}

std::string JsonCapList(CapSet caps) {
  std::vector<std::string> names;
  for (int number : caps.Numbers()) names.push_back(JsonString(CapName(number)));
  return absl::StrCat("[", absl::StrJoin(names, ","), "]");
}

std::string JsonRing(const std::vector<CapNeed>& needs) {
  std::vector<std::string> entries;
  for (const CapNeed& need : needs) {
    std::vector<std::string> by;
    for (const std::string& entry : need.needed_by) by.push_back(JsonString(entry));
    entries.push_back(absl::StrCat("{\"cap\":", JsonString(CapName(static_cast<int>(need.cap))),
                                   ",\"needed_by\":[", absl::StrJoin(by, ","), "]}"));
  }
  return absl::StrCat("[", absl::StrJoin(entries, ","), "]");
}

std::string RenderJson(const PlanDescription& d) {
  return absl::StrCat("{\"selection\":", JsonString(d.selection),
                      ",\"rings\":{\"base\":", JsonRing(d.base), ",\"ebpf\":", JsonRing(d.ebpf),
                      ",\"specific\":", JsonRing(d.specific),
                      "},\"minimal_grant\":", JsonCapList(d.plan.permitted_needed),
                      ",\"after_setup\":", JsonCapList(d.plan.after_setup),
                      ",\"dropped\":", JsonCapList(d.dropped), "}\n");
}

std::string RenderText(const PlanDescription& d) {
  std::string out = absl::StrCat("capability plan for: ", d.selection, "\n\n");
  struct RingSection {
    absl::string_view title;
    CapSet caps;
    const std::vector<CapNeed>* needs;
  };
  const std::array<RingSection, 3> sections = {{
      {"base ring (every thread, the whole run)", d.plan.base, &d.base},
      {"ebpf ring (loading, attaching, maps and buffers)", d.plan.ebpf, &d.ebpf},
      {"specific ring (one-off operations)", d.plan.specific, &d.specific},
  }};
  for (const RingSection& section : sections) {
    absl::StrAppend(&out, section.title, ": ", DescribeCaps(section.caps), "\n");
    for (const CapNeed& need : *section.needs) {
      std::string name = CapName(static_cast<int>(need.cap));
      name.resize(std::max<size_t>(name.size(), 20), ' ');
      absl::StrAppend(&out, "  ", name, " ", absl::StrJoin(need.needed_by, "; "), "\n");
    }
  }
  if (!d.dropped.empty()) {
    absl::StrAppend(&out, "dropped from every ring (--capabilities drop=): ", d.dropped.ToString(),
                    "\n");
  }
  absl::StrAppend(&out, "\nminimal grant: ", DescribeCaps(d.plan.permitted_needed), "\n",
                  "kept after set-up: ", DescribeCaps(d.plan.after_setup), "\n");
  return out;
}

std::string RenderSystemd(const PlanDescription& d) {
  const std::string caps = d.plan.permitted_needed.ToUpperList(" ");
  return absl::StrCat("# vigil capabilities for: ", absl::StrReplaceAll(d.selection, {{"\n", " "}}),
                      "\n[Service]\n", "CapabilityBoundingSet=", caps, "\n",
                      "AmbientCapabilities=", caps, "\n", "NoNewPrivileges=yes\n");
}

std::string RenderDocker(const PlanDescription& d) {
  std::string out = "--cap-drop=ALL";
  for (int number : d.plan.permitted_needed.Numbers()) {
    absl::StrAppend(&out, " --cap-add=", CapSet(uint64_t{1} << number).ToUpperList("", true));
  }
  return out + "\n";
}

std::string RenderK8s(const PlanDescription& d) {
  std::string out =
      "securityContext:\n"
      "  allowPrivilegeEscalation: false\n"
      "  capabilities:\n"
      "    drop:\n"
      "      - ALL\n";
  if (d.plan.permitted_needed.empty()) return out + "    add: []\n";
  out += "    add:\n";
  for (int number : d.plan.permitted_needed.Numbers()) {
    absl::StrAppend(&out, "      - ", CapSet(uint64_t{1} << number).ToUpperList("", true), "\n");
  }
  return out;
}

}  // namespace

RingInputs ToRingInputs(const PlanSources& sources) {
  RingInputs in;
  for (const EventCapsInput& event : sources.events) {
    in.base_events |= event.base;
    in.ebpf_events |= event.ebpf;
  }
  in.ebpf_privilege = sources.privilege.caps;
  for (const CapReason& reason : sources.specific) in.specific.Add(reason.cap);
  for (const CapReason& reason : sources.specific_after_setup) {
    in.specific_after_setup.Add(reason.cap);
  }
  in.add = sources.options.add;
  in.drop = sources.options.drop;
  return in;
}

PlanDescription DescribePlan(const PlanSources& sources) {
  PlanDescription d;
  d.selection = sources.selection;
  d.plan = PlanRings(ToRingInputs(sources));
  d.base = NeedsOf(Ring::kBase, d.plan.base, d.plan.base, sources);
  d.ebpf = NeedsOf(Ring::kEbpf, d.plan.ebpf, d.plan.base, sources);
  d.specific = NeedsOf(Ring::kSpecific, d.plan.specific, d.plan.base, sources);
  d.dropped = sources.options.drop;
  return d;
}

absl::StatusOr<PlanFormat> ParsePlanFormat(std::string_view name) {
  if (name == "text") return PlanFormat::kText;
  if (name == "json") return PlanFormat::kJson;
  if (name == "systemd") return PlanFormat::kSystemd;
  if (name == "docker") return PlanFormat::kDocker;
  if (name == "k8s") return PlanFormat::kK8s;
  return absl::InvalidArgumentError(
      absl::StrCat("--format ", AbslView(name), ": unknown plan format '", AbslView(name),
                   "' (expected text, json, systemd, docker or k8s)"));
}

std::string RenderPlan(const PlanDescription& description, PlanFormat format) {
  switch (format) {
    case PlanFormat::kText:
      return RenderText(description);
    case PlanFormat::kJson:
      return RenderJson(description);
    case PlanFormat::kSystemd:
      return RenderSystemd(description);
    case PlanFormat::kDocker:
      return RenderDocker(description);
    case PlanFormat::kK8s:
      return RenderK8s(description);
  }
  return RenderText(description);
}

}  // namespace vigil::caps

#include "vigil/engine/list.h"

#include <bpf/btf.h>

#include <algorithm>
#include <memory>

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
  out += ",\"detection\":{";
  AppendSignatureMembers(out, m, /*tracee_case=*/false);
  out += ",\"missingInputs\":";
  AppendJsonValue(out, events::Value(m.missing_inputs));
  AppendJsonMember(out, "unavailable", m.unavailable);
  AppendJsonMember(out, "origin", m.origin);
  out += '}';
}

// A member of the struct or union, directly or in one of its anonymous unions/structs.
bool HasMemberIn(const btf* b, const btf_type* t, std::string_view member, int depth) {
  if (t == nullptr || !(btf_is_struct(t) || btf_is_union(t))) return false;
  const btf_member* m = btf_members(t);
  for (int i = 0; i < btf_vlen(t); ++i, ++m) {
    const char* name = btf__name_by_offset(b, m->name_off);
    if (name != nullptr && member == name) return true;
    if ((name == nullptr || *name == '\0') && depth > 0 &&
        HasMemberIn(b, btf__type_by_id(b, m->type), member, depth - 1))
      return true;
  }
  return false;
}

// The running kernel's BTF, loaded once for the listing.
class IoUringSupport {
 public:
  IoUringSupport() : btf_(btf__load_vmlinux_btf(), &btf__free) {}
  std::string WhyNot(const events::IoUringOp& op) const { return IoUringNotDecodedReason(btf_.get(), op); }

 private:
  std::unique_ptr<btf, decltype(&btf__free)> btf_;
};

// "io_uring:IORING_OP_OPENAT" (+ "(not decoded here: why)").
std::string IoUringSummary(const events::EventDef& d, const IoUringSupport& support) {
  std::vector<std::string> ops;
  for (const events::IoUringOp& op : d.io_uring_ops) {
    std::string why = support.WhyNot(op);
    ops.push_back(why.empty() ? op.op : absl::StrCat(op.op, "(not decoded here: ", why, ")"));
  }
  return absl::StrCat("io_uring:", absl::StrJoin(ops, ","));
}

}  // namespace

std::string IoUringNotDecodedReason(const btf* kernel_btf, const events::IoUringOp& op) {
  if (kernel_btf == nullptr) return "no kernel BTF (/sys/kernel/btf/vmlinux)";
  if (btf__find_by_name_kind(kernel_btf, ("btf_trace_" + op.tracepoint).c_str(), BTF_KIND_TYPEDEF) < 0)
    return absl::StrCat("this kernel has no io_uring:", op.tracepoint, " tracepoint");
  int kiocb = btf__find_by_name_kind(kernel_btf, "io_kiocb", BTF_KIND_STRUCT);
  if (kiocb < 0 || !HasMemberIn(kernel_btf, btf__type_by_id(kernel_btf, kiocb), "cmd", 2))
    return "this kernel's struct io_kiocb has no cmd area (before 6.0)";
  if (btf__find_by_name_kind(kernel_btf, op.kernel_type.c_str(), BTF_KIND_STRUCT) < 0)
    return absl::StrCat("no struct ", op.kernel_type, " in this kernel's BTF");
  return "";
}

int PrintRegistry(std::ostream& os, bool json) {
  const events::Registry& reg = events::Registry::Builtin();
  const IoUringSupport io_uring;
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
      if (!d.io_uring_ops.empty()) {
        // io_uring operations reported as this event, and whether this kernel decodes them.
        out += ",\"ioUring\":[";
        for (size_t k = 0; k < d.io_uring_ops.size(); ++k) {
          const events::IoUringOp& op = d.io_uring_ops[k];
          std::string why = io_uring.WhyNot(op);
          if (k) out += ',';
          out += "{\"op\":";
          AppendJsonString(out, op.op);
          out += ",\"tracepoint\":";
          AppendJsonString(out, op.tracepoint);
          out += ",\"kernelType\":";
          AppendJsonString(out, op.kernel_type);
          absl::StrAppend(&out, ",\"decoded\":", why.empty() ? "true" : "false");
          if (!why.empty()) {
            out += ",\"reason\":";
            AppendJsonString(out, why);
          }
          out += '}';
        }
        out += ']';
      }
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
      if (!d.io_uring_ops.empty()) probes.push_back(IoUringSummary(d, io_uring));
      absl::StrAppendFormat(&out, "%-6d %-24s %-28s %-48s %-40s %s\n", d.id, d.name,
                            absl::StrJoin(d.sets, ","), args.empty() ? "-" : absl::StrJoin(args, ", "),
                            absl::StrJoin(probes, " "), CapsSummary(reg.CapsClosure(d.id)));
    }
  }
  os << out;
  return 0;
}

}  // namespace vigil::engine

#include "vigil/engine/json.h"

#include "vigil/events/format.h"

#include "absl/strings/str_cat.h"

namespace vigil::engine {
namespace {

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

size_t DecodeUtf8(std::string_view s, size_t i, uint32_t& cp) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t len;
  uint32_t min;
  if (c < 0x80) {
    cp = c;
    return 1;
  }
  if ((c & 0xE0) == 0xC0)
    len = 2, min = 0x80;
  else if ((c & 0xF0) == 0xE0)
    len = 3, min = 0x800;
  else if ((c & 0xF8) == 0xF0)
    len = 4, min = 0x10000;
  else
    return 0;
  if (i + len > s.size()) return 0;
  cp = c & (0x7F >> len);
  for (size_t k = 1; k < len; ++k) {
    auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      size_t j = i + 1;
      while (j < s.size()) {
        auto d = static_cast<unsigned char>(s[j]);
        if (d < 0x20 || d >= 0x80 || d == '"' || d == '\\') break;
        ++j;
      }
      out.append(s.data() + i, j - i);
      i = j;
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        ++i;
        continue;
      case '\\':
        out += "\\\\";
        ++i;
        continue;
      case '\n':
        out += "\\n";
        ++i;
        continue;
      case '\r':
        out += "\\r";
        ++i;
        continue;
      case '\t':
        out += "\\t";
        ++i;
        continue;
      case '\b':
        out += "\\b";
        ++i;
        continue;
      case '\f':
        out += "\\f";
        ++i;
        continue;
    }
    if (c < 0x20) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
      ++i;
      continue;
    }
    uint32_t cp;
    size_t len = DecodeUtf8(s, i, cp);
    if (len == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    } else {
      out.append(s.data() + i, len);
      i += len;
    }
  }
  out += '"';
}

void AppendJsonMember(std::string& out, std::string_view key, std::string_view value) {
  out += ",\"";
  out += key;
  out += "\":";
  AppendJsonString(out, value);
}

void AppendJsonValue(std::string& out, const events::Value& v) {
  struct Visitor {
    std::string& out;
    void operator()(std::monostate) { out += "null"; }
    void operator()(bool b) { out += b ? "true" : "false"; }
    void operator()(int64_t i) { absl::StrAppend(&out, i); }
    void operator()(uint64_t u) { absl::StrAppend(&out, u); }
    void operator()(const std::string& s) { AppendJsonString(out, s); }
    void operator()(const std::vector<std::string>& list) {
      out += '[';
      for (size_t i = 0; i < list.size(); ++i) {
        if (i) out += ',';
        AppendJsonString(out, list[i]);
      }
      out += ']';
    }
    void operator()(const events::Fields& fields) {
      out += '{';
      for (size_t i = 0; i < fields.size(); ++i) {
        if (i) out += ',';
        AppendJsonString(out, fields[i].first);
        out += ':';
        AppendJsonString(out, fields[i].second);
      }
      out += '}';
    }
    void operator()(const events::JsonText& json) { out += json.text; }
  };
  std::visit(Visitor{out}, v);
}

void AppendPlainValue(std::string& out, const events::Value& v) {
  struct Visitor {
    std::string& out;
    void operator()(std::monostate) {}
    void operator()(bool b) { out += b ? "true" : "false"; }
    void operator()(int64_t i) { absl::StrAppend(&out, i); }
    void operator()(uint64_t u) { absl::StrAppend(&out, u); }
    void operator()(const std::string& s) { out += s; }
    void operator()(const std::vector<std::string>& list) {
      out += '[';
      for (size_t i = 0; i < list.size(); ++i) {
        if (i) out += ' ';
        out += list[i];
      }
      out += ']';
    }
    void operator()(const events::Fields& fields) {
      out += '{';
      for (size_t i = 0; i < fields.size(); ++i) {
        if (i) out += ' ';
        absl::StrAppend(&out, fields[i].first, "=", fields[i].second);
      }
      out += '}';
    }
    void operator()(const events::JsonText& json) { out += json.text; }
  };
  std::visit(Visitor{out}, v);
}

namespace {

void AppendArgsJson(std::string& out, const std::vector<events::Arg>& args) {
  bool first = true;
  for (const events::Arg& a : args) {
    if (a.def == nullptr) continue;  // not carried
    if (!first) out += ',';
    first = false;
    out += "{\"name\":";
    AppendJsonString(out, a.def->name);
    AppendJsonMember(out, "type", a.def->type);
    out += ",\"value\":";
    AppendJsonValue(out, events::Rendered(a));
    out += '}';
  }
}

// Tracee's detection metadata (SPEC §2.2).
void AppendDetectionMetadata(std::string& out, const events::DetectionMeta& m) {
  out += ",\"metadata\":{\"Version\":";
  AppendJsonString(out, m.version);
  AppendJsonMember(out, "Description", m.description);
  out += ",\"Tags\":[";
  for (size_t i = 0; i < m.tags.size(); ++i) {
    if (i) out += ',';
    AppendJsonString(out, m.tags[i]);
  }
  out += "],\"Properties\":{";
  AppendSignatureMembers(out, m, /*tracee_case=*/true);
  out += "}}";
}

}  // namespace

void AppendSignatureMembers(std::string& out, const events::DetectionMeta& m, bool tracee_case) {
  out += "\"signatureID\":";
  AppendJsonString(out, m.signature_id);
  AppendJsonMember(out, "signatureName", m.signature_name);
  absl::StrAppend(&out, tracee_case ? ",\"Severity\":" : ",\"severity\":", m.severity);
  AppendJsonMember(out, tracee_case ? "Category" : "category", m.category);
  AppendJsonMember(out, tracee_case ? "Technique" : "technique", m.technique);
  AppendJsonMember(out, "external_id", m.external_id);
}

void AppendEventJson(std::string& out, const events::Event& e, const std::vector<std::string>& policy_names) {
  absl::StrAppend(&out, "{\"timestamp\":", e.timestamp_ns, ",\"processorId\":", e.processor_id,
                  ",\"processId\":", e.pid, ",\"threadId\":", e.tid, ",\"parentProcessId\":", e.ppid,
                  ",\"hostProcessId\":", e.host_pid, ",\"hostThreadId\":", e.host_tid,
                  ",\"hostParentProcessId\":", e.host_ppid, ",\"userId\":", e.uid,
                  ",\"mountNamespace\":", e.mnt_ns, ",\"pidNamespace\":", e.pid_ns, ",\"processName\":");
  AppendJsonString(out, e.comm);
  // Not in Tracee's event: the parent's name, from the process tree.
  AppendJsonMember(out, "parentProcessName", e.parent_comm);
  out += ",\"executable\":{\"path\":";
  AppendJsonString(out, e.executable);
  out += "},\"hostName\":";
  AppendJsonString(out, e.host_name);
  absl::StrAppend(&out, ",\"cgroupId\":", e.cgroup_id, ",\"container\":{\"id\":");
  AppendJsonString(out, e.container_id);
  absl::StrAppend(&out, "},\"eventId\":\"", e.def->id, "\",\"eventName\":");
  AppendJsonString(out, e.def->name);
  out += ",\"matchedPolicies\":[";
  bool first = true;
  for (size_t i = 0; i < policy_names.size() && i < 64; ++i) {
    if (!((e.policies >> i) & 1)) continue;
    if (!first) out += ',';
    first = false;
    AppendJsonString(out, policy_names[i]);
  }
  const size_t args_num = e.ArgCount() + (e.triggered_by ? 1 : 0);
  absl::StrAppend(&out, "],\"argsNum\":", args_num, ",\"returnValue\":", e.retval);
  if (e.def->is_syscall()) {
    AppendJsonMember(out, "syscall", e.def->name);
  }
  if (e.truncated) out += ",\"truncated\":true";
  // SPEC §2.1: an io_uring operation under its syscall twin's name.
  if (e.io_uring) out += ",\"ioUring\":true";
  // Tracee's context flags, written when one is set.
  if (e.compat) out += ",\"contextFlags\":{\"isCompat\":true}";
  out += ",\"args\":[";
  if (e.triggered_by) {
    // Tracee's detection argument: a summary of the triggering event.
    const events::Event& t = *e.triggered_by;
    absl::StrAppend(&out, "{\"name\":\"triggeredBy\",\"type\":\"unknown\",\"value\":{\"id\":", t.def->id,
                    ",\"name\":");
    AppendJsonString(out, t.def->name);
    absl::StrAppend(&out, ",\"returnValue\":", t.retval, ",\"args\":[");
    AppendArgsJson(out, t.args);
    out += "]}}";
    if (e.ArgCount() != 0) out += ',';
  }
  AppendArgsJson(out, e.args);
  out += ']';
  if (e.def->detection) AppendDetectionMetadata(out, *e.def->detection);
  if (e.triggered_by) {
    out += ",\"ancestors\":[";
    for (size_t i = 0; i < e.ancestors.size(); ++i) {
      const events::Ancestor& a = e.ancestors[i];
      absl::StrAppend(&out, i ? "," : "", "{\"pid\":", a.pid, ",\"comm\":");
      AppendJsonString(out, a.comm);
      AppendJsonMember(out, "executable", a.executable);
      out += '}';
    }
    out += ']';
  }
  out += "}\n";
}

}  // namespace vigil::engine

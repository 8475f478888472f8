// Reading policy files: YAML structure, expression syntax, file discovery.
// What names mean (events, arguments, scope keywords) is checked in compile.cc.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "text.h"
#include "vigil/policies/policy.h"

namespace vigil::policies {

std::string Origin::Describe() const {
  if (file.empty()) return "";
  if (line <= 0) return file;
  return absl::StrCat(file, ":", line, ":", column);
}

std::string_view OpText(Op op) {
  switch (op) {
    case Op::kEq:
      return "=";
    case Op::kNe:
      return "!=";
    case Op::kLt:
      return "<";
    case Op::kGt:
      return ">";
    case Op::kLe:
      return "<=";
    case Op::kGe:
      return ">=";
  }
  return "?";
}

absl::StatusOr<Expr> ParseExpr(std::string_view text, const Origin& origin) {
  std::string_view t = Trim(text);
  Expr e;
  e.text = std::string(t);
  e.origin = origin;
  if (t.empty()) return ErrorAt(origin, "empty expression (expected KEY or KEY<op>VALUE)");
  size_t op_at = t.find_first_of("=!<>");
  std::string_view key = Trim(t.substr(0, op_at));
  if (key.empty())
    return ErrorAt(origin, absl::StrCat("'", e.text, "': expected a name before the operator"));
  for (char c : key) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-')
      return ErrorAt(origin, absl::StrCat("'", e.text, "': unexpected character '",
                                          AbslView(std::string_view(&c, 1)), "' in '", AbslView(key),
                                          "' (expected KEY or KEY<op>VALUE, op one of = != < > <= >=)"));
  }
  e.key = std::string(key);
  if (op_at == std::string_view::npos) return e;

  static constexpr std::pair<std::string_view, Op> kOps[] = {
      {"!=", Op::kNe}, {"<=", Op::kLe}, {">=", Op::kGe}, {"=", Op::kEq}, {"<", Op::kLt}, {">", Op::kGt}};
  std::string_view rest = t.substr(op_at);
  for (const auto& [spelling, op] : kOps) {
    if (!rest.starts_with(spelling)) continue;
    e.op = op;
    rest.remove_prefix(spelling.size());
    break;
  }
  if (!e.op || (!rest.empty() && std::string_view("=!<>").find(rest.front()) != std::string_view::npos))
    return ErrorAt(origin, absl::StrCat("'", e.text, "': unknown operator (expected one of = != < > <= >=)"));
  std::string_view value = Trim(rest);
  if (value.empty())
    return ErrorAt(origin,
                   absl::StrCat("'", e.text, "': expected a value after '", AbslView(OpText(*e.op)), "'"));
  size_t start = 0;
  while (true) {
    size_t comma = value.find(',', start);
    std::string_view piece =
        Trim(value.substr(start, comma == std::string_view::npos ? comma : comma - start));
    if (piece.empty()) return ErrorAt(origin, absl::StrCat("'", e.text, "': empty value in the comma list"));
    e.values.emplace_back(piece);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return e;
}

namespace {

// A document's text and where it starts in its file: documents are loaded
// one at a time (see SplitDocuments), so marks are relative to the document.
struct Src {
  std::string file;
  int first_line = 0;  // 0-based
};

Origin At(const Src& file, const YAML::Mark& mark) {
  Origin o{.file = file.file};
  if (!mark.is_null() && mark.line >= 0) {
    o.line = mark.line + 1 + file.first_line;
    o.column = mark.column + 1;
  }
  return o;
}

Origin At(const Src& file, const YAML::Node& node) { return At(file, node.Mark()); }

std::string_view KindName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Scalar:
      return "a value";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    default:
      return "nothing";
  }
}

// The fields of a mapping, checked against the allowed names.
class Fields {
 public:
  static absl::StatusOr<Fields> Of(const Src& file, const YAML::Node& node, std::string_view what,
                                   const std::vector<std::string_view>& allowed, bool allow_others = false) {
    Fields f;
    f.file_ = file;
    f.node_ = node;
    if (!node.IsMap())
      return ErrorAt(At(file, node), absl::StrCat("expected a mapping for ", AbslView(what), ", got ",
                                                  AbslView(KindName(node))));
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!it->first.IsScalar())
        return ErrorAt(At(file, it->first), absl::StrCat("expected a field name in ", AbslView(what)));
      const std::string& name = it->first.Scalar();
      bool known = std::find(allowed.begin(), allowed.end(), name) != allowed.end();
      if (!known && !allow_others)
        return ErrorAt(
            At(file, it->first),
            absl::StrCat(
                "unknown field '", name, "' in ", AbslView(what), " (expected ",
                absl::StrJoin(allowed, ", ", [](std::string* out, std::string_view s) { out->append(s); }),
                ")"));
      if (!f.fields_.emplace(name, Entry{it->first, it->second}).second)
        return ErrorAt(At(file, it->first),
                       absl::StrCat("field '", name, "' is given twice in ", AbslView(what)));
    }
    return f;
  }

  bool Has(const std::string& name) const { return fields_.contains(name); }
  const YAML::Node& Value(const std::string& name) const { return fields_.at(name).value; }
  Origin KeyOrigin(const std::string& name) const { return At(file_, fields_.at(name).key); }
  Origin Self() const { return At(file_, node_); }

  // A required or optional scalar field.
  absl::StatusOr<std::string> Scalar(const std::string& name, std::string_view what, bool required) const {
    if (!Has(name)) {
      if (!required) return std::string();
      return ErrorAt(Self(), absl::StrCat("missing field '", name, "' (expected ", AbslView(what), ")"));
    }
    const YAML::Node& v = Value(name);
    if (!v.IsScalar() || v.Scalar().empty())
      return ErrorAt(
          v.IsNull() ? KeyOrigin(name) : At(file_, v),
          absl::StrCat("expected ", AbslView(what), " for '", name, "', got ", AbslView(KindName(v))));
    return v.Scalar();
  }

 private:
  struct Entry {
    YAML::Node key, value;
  };
  Src file_;
  YAML::Node node_;
  std::map<std::string, Entry> fields_;
};

// A list of non-empty scalars, each with its position.
absl::StatusOr<std::vector<std::pair<std::string, Origin>>> ScalarList(const Src& file, const Fields& fields,
                                                                       const std::string& name,
                                                                       std::string_view what) {
  std::vector<std::pair<std::string, Origin>> out;
  if (!fields.Has(name)) return out;
  const YAML::Node& list = fields.Value(name);
  if (list.IsNull()) return out;
  if (!list.IsSequence())
    return ErrorAt(At(file, list), absl::StrCat("expected a list of ", AbslView(what), " for '", name,
                                                "', got ", AbslView(KindName(list))));
  for (const YAML::Node& item : list) {
    if (!item.IsScalar() || Trim(item.Scalar()).empty())
      return ErrorAt(At(file, item), absl::StrCat("expected ", AbslView(what), " in '", name, "', got ",
                                                  AbslView(KindName(item))));
    out.emplace_back(item.Scalar(), At(file, item));
  }
  return out;
}

absl::Status CheckActions(const Src& file, const Fields& fields, const std::string& name) {
  absl::StatusOr<std::vector<std::pair<std::string, Origin>>> actions =
      ScalarList(file, fields, name, "actions");
  if (!actions.ok()) return actions.status();
  for (const auto& [action, origin] : *actions)
    if (action != "log" && action != "print")
      return ErrorAt(origin, absl::StrCat("unknown action '", action, "' (expected log or print)"));
  return absl::OkStatus();
}

// Kubernetes object names (DNS-1123 subdomains), as Tracee requires.
bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    std::string_view label = name.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty()) return false;
    auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (!alnum(label.front()) || !alnum(label.back())) return false;
    for (char c : label)
      if (!alnum(c) && c != '-') return false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

absl::Status ParseBody(const Src& file, const Fields& body, std::string_view where, Policy& p) {
  absl::StatusOr<std::vector<std::pair<std::string, Origin>>> scope =
      ScalarList(file, body, "scope", "scope expressions");
  if (!scope.ok()) return scope.status();
  if (scope->empty())
    return ErrorAt(body.Has("scope") ? body.KeyOrigin("scope") : body.Self(),
                   absl::StrCat("policy '", p.name, "' has no scope (expected ", AbslView(where),
                                "scope with at least one expression, e.g. [global])"));
  for (const auto& [text, origin] : *scope) {
    absl::StatusOr<Expr> e = ParseExpr(text, origin);
    if (!e.ok()) return e.status();
    p.scope.push_back(std::move(*e));
  }
  if (absl::Status st = CheckActions(file, body, "defaultActions"); !st.ok()) return st;

  const YAML::Node* rules = body.Has("rules") ? &body.Value("rules") : nullptr;
  if (rules != nullptr && !rules->IsNull() && !rules->IsSequence())
    return ErrorAt(At(file, *rules),
                   absl::StrCat("expected a list of rules for 'rules', got ", AbslView(KindName(*rules))));
  if (rules == nullptr || rules->IsNull() || rules->size() == 0)
    return ErrorAt(body.Has("rules") ? body.KeyOrigin("rules") : body.Self(),
                   absl::StrCat("policy '", p.name, "' has no rules (expected ", AbslView(where),
                                "rules with at least one event)"));
  for (const YAML::Node& node : *rules) {
    absl::StatusOr<Fields> rf = Fields::Of(file, node, "a rule", {"event", "filters", "actions"});
    if (!rf.ok()) return rf.status();
    Rule r;
    absl::StatusOr<std::string> event = rf->Scalar("event", "an event name", true);
    if (!event.ok()) return event.status();
    r.event = std::string(Trim(*event));
    r.origin = At(file, rf->Value("event"));
    absl::StatusOr<std::vector<std::pair<std::string, Origin>>> filters =
        ScalarList(file, *rf, "filters", "filter expressions");
    if (!filters.ok()) return filters.status();
    for (const auto& [text, origin] : *filters) {
      absl::StatusOr<Expr> e = ParseExpr(text, origin);
      if (!e.ok()) return e.status();
      r.filters.push_back(std::move(*e));
    }
    if (absl::Status st = CheckActions(file, *rf, "actions"); !st.ok()) return st;
    p.rules.push_back(std::move(r));
  }
  return absl::OkStatus();
}

absl::StatusOr<Policy> SetName(const Src& file, const Fields& fields, Policy p) {
  absl::StatusOr<std::string> name = fields.Scalar("name", "the policy's name", true);
  if (!name.ok()) return name.status();
  p.origin = At(file, fields.Value("name"));
  if (!ValidName(*name))
    return ErrorAt(p.origin, absl::StrCat("invalid policy name '", *name,
                                          "' (expected lower-case letters, digits, '-' and '.', "
                                          "starting and ending with a letter or digit, at most 253)"));
  p.name = *name;
  return p;
}

constexpr std::string_view kTraceeApi = "tracee.aquasec.com/v1beta1";
constexpr std::string_view kVigilApi = "vigil.dev/v1";
// Tracee releases before 0.20 wrote `aquasecurity.github.io/v1beta1` with
// `kind: TraceePolicy`; the schema is the same.
constexpr std::string_view kOldTraceeApi = "aquasecurity.github.io/v1beta1";

absl::StatusOr<Policy> ParseKubernetesForm(const Src& file, const Fields& top) {
  absl::StatusOr<std::string> api = top.Scalar("apiVersion", "an API version", true);
  if (!api.ok()) return api.status();
  const bool old_tracee = *api == kOldTraceeApi;
  if (*api != kTraceeApi && *api != kVigilApi && !old_tracee)
    return ErrorAt(At(file, top.Value("apiVersion")),
                   absl::StrCat("unknown apiVersion '", *api, "' (expected ", AbslView(kTraceeApi), " or ",
                                AbslView(kVigilApi), ")"));
  absl::StatusOr<std::string> kind = top.Scalar("kind", "Policy", true);
  if (!kind.ok()) return kind.status();
  if (*kind != "Policy" && !(old_tracee && *kind == "TraceePolicy"))
    return ErrorAt(At(file, top.Value("kind")), absl::StrCat("unknown kind '", *kind, "' (expected Policy",
                                                             old_tracee ? " or TraceePolicy" : "", ")"));
  if (!top.Has("metadata")) return ErrorAt(top.Self(), "missing field 'metadata' (expected metadata.name)");
  absl::StatusOr<Fields> meta = Fields::Of(file, top.Value("metadata"), "metadata", {"name", "annotations"},
                                           /*allow_others=*/true);
  if (!meta.ok()) return meta.status();
  absl::StatusOr<Policy> p = SetName(file, *meta, Policy{});
  if (!p.ok()) return p.status();
  if (meta->Has("annotations")) {
    absl::StatusOr<Fields> notes = Fields::Of(file, meta->Value("annotations"), "metadata.annotations",
                                              {"description"}, /*allow_others=*/true);
    if (!notes.ok()) return notes.status();
    absl::StatusOr<std::string> description = notes->Scalar("description", "a description", false);
    if (!description.ok()) return description.status();
    p->description = *description;
  }
  if (!top.Has("spec"))
    return ErrorAt(top.Self(), "missing field 'spec' (expected spec.scope and spec.rules)");
  absl::StatusOr<Fields> spec =
      Fields::Of(file, top.Value("spec"), "spec", {"scope", "rules", "defaultActions"});
  if (!spec.ok()) return spec.status();
  if (absl::Status st = ParseBody(file, *spec, "spec.", *p); !st.ok()) return st;
  return p;
}

absl::StatusOr<Policy> ParsePlainForm(const Src& file, const Fields& top) {
  absl::StatusOr<std::string> type = top.Scalar("type", "policy", true);
  if (!type.ok()) return type.status();
  if (*type != "policy")
    return ErrorAt(At(file, top.Value("type")), absl::StrCat("unknown type '", *type, "' (expected policy)"));
  absl::StatusOr<Policy> p = SetName(file, top, Policy{});
  if (!p.ok()) return p.status();
  absl::StatusOr<std::string> description = top.Scalar("description", "a description", false);
  if (!description.ok()) return description.status();
  p->description = *description;
  if (absl::Status st = ParseBody(file, top, "", *p); !st.ok()) return st;
  return p;
}

absl::StatusOr<Policy> ParseDocument(const Src& file, const YAML::Node& doc) {
  if (!doc.IsMap())
    return ErrorAt(At(file, doc), absl::StrCat("expected a policy (a mapping with apiVersion and kind, or "
                                               "type: policy), got ",
                                               AbslView(KindName(doc))));
  bool kubernetes = doc["apiVersion"] || doc["kind"];
  if (kubernetes) {
    absl::StatusOr<Fields> top =
        Fields::Of(file, doc, "a policy", {"apiVersion", "kind", "metadata", "spec"});
    if (!top.ok()) return top.status();
    return ParseKubernetesForm(file, *top);
  }
  if (!doc["type"])
    return ErrorAt(At(file, doc), "expected a policy: apiVersion and kind (" + std::string(kTraceeApi) +
                                      " or " + std::string(kVigilApi) + ", kind: Policy) or type: policy");
  absl::StatusOr<Fields> top = Fields::Of(
      file, doc, "a policy", {"type", "name", "description", "version", "scope", "rules", "defaultActions"});
  if (!top.ok()) return top.status();
  return ParsePlainForm(file, *top);
}

bool IsMarker(std::string_view line, std::string_view marker) {
  return line.starts_with(marker) &&
         (line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r' || line[3] == '\n');
}

// A stream's documents, split at `---` and `...` lines. YAML forbids those
// markers at the start of a line inside a document, so this is exact; it
// stands in for YAML::LoadAll, which loops forever on some broken streams
// (yaml-cpp 0.7, e.g. ",:"), while YAML::Load of one document returns.
std::vector<std::pair<std::string, int>> SplitDocuments(std::string_view yaml) {
  std::vector<std::pair<std::string, int>> docs;
  std::string current;
  int first = 0, line = 0;
  bool started = false, content = false;
  auto flush = [&](int next) {
    if (started || content) docs.emplace_back(std::move(current), first);
    current.clear();
    first = next;
    started = content = false;
  };
  while (!yaml.empty()) {
    size_t end = yaml.find('\n');
    std::string_view text = yaml.substr(0, end == std::string_view::npos ? yaml.size() : end + 1);
    yaml.remove_prefix(text.size());
    if (IsMarker(text, "---")) {
      if (started || content) flush(line);
      started = true;
    }
    current.append(text);
    std::string_view trimmed = Trim(text);
    if (!IsMarker(text, "---") && !trimmed.empty() && trimmed.front() != '#' && trimmed.front() != '%')
      content = true;
    ++line;
    if (IsMarker(text, "...")) flush(line);
  }
  flush(line);
  return docs;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::error_code ec;
  uintmax_t size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxPolicyFileBytes)
    return absl::InvalidArgumentError(absl::StrCat("policy file ", path, " is too large (", size,
                                                   " bytes; the limit is ", kMaxPolicyFileBytes, ")"));
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("read policy file ", path, ": ", strerror(errno)));
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxPolicyFileBytes)
      return absl::InvalidArgumentError(
          absl::StrCat("policy file ", path, " is too large (the limit is ", kMaxPolicyFileBytes, " bytes)"));
  }
  if (in.bad()) return absl::InvalidArgumentError(absl::StrCat("read policy file ", path, ": read error"));
  return text;
}

}  // namespace

absl::StatusOr<std::vector<Policy>> ParsePolicies(std::string_view yaml, const std::string& file) {
  if (yaml.size() > kMaxPolicyFileBytes)
    return ErrorAt(Origin{.file = file}, absl::StrCat("too large (", yaml.size(), " bytes; the limit is ",
                                                      kMaxPolicyFileBytes, ")"));
  // YAML allows no control characters but tab and line breaks, and
  // yaml-cpp 0.7 loops forever on some (a NUL before a comma).
  int line = 1, column = 1;
  for (char ch : yaml) {
    auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
      return ErrorAt(Origin{.file = file, .line = line, .column = column},
                     absl::StrFormat("control character 0x%02x is not allowed (expected text)", c));
    ++column;
    if (c == '\n') ++line, column = 1;
  }
  std::vector<Policy> out;
  for (const auto& [text, first_line] : SplitDocuments(yaml)) {
    Src src{.file = file, .first_line = first_line};
    try {
      YAML::Node doc = YAML::Load(text);
      if (doc.IsNull()) continue;
      absl::StatusOr<Policy> p = ParseDocument(src, doc);
      if (!p.ok()) return p.status();
      out.push_back(std::move(*p));
    } catch (const YAML::Exception& e) {
      return ErrorAt(At(src, e.mark), absl::StrCat("invalid YAML: ", e.msg));
    } catch (const std::exception& e) {
      return ErrorAt(Origin{.file = file}, absl::StrCat("invalid YAML: ", e.what()));
    }
  }
  if (out.empty())
    return ErrorAt(Origin{.file = file},
                   "no policy in this file (expected a document with kind: Policy or type: policy)");
  return out;
}

absl::StatusOr<std::vector<Policy>> LoadPolicies(const std::vector<std::string>& paths) {
  std::vector<Policy> out;
  for (const std::string& path : paths) {
    std::error_code ec;
    std::vector<std::string> files;
    if (std::filesystem::is_directory(path, ec)) {
      for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
        std::string ext = entry.path().extension().string();
        if ((ext == ".yaml" || ext == ".yml") && entry.is_regular_file(ec))
          files.push_back(entry.path().string());
      }
      if (ec)
        return absl::InvalidArgumentError(absl::StrCat("read policy directory ", path, ": ", ec.message()));
      if (files.empty())
        return absl::InvalidArgumentError(
            absl::StrCat("policy directory ", path, " has no *.yaml or *.yml file"));
      std::sort(files.begin(), files.end());
    } else if (std::filesystem::exists(path, ec)) {
      files.push_back(path);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("policy ", path, ": no such file or directory"));
    }
    for (const std::string& file : files) {
      absl::StatusOr<std::string> text = ReadFile(file);
      if (!text.ok()) return text.status();
      absl::StatusOr<std::vector<Policy>> parsed = ParsePolicies(*text, file);
      if (!parsed.ok()) return parsed.status();
      for (Policy& p : *parsed) out.push_back(std::move(p));
    }
  }
  return out;
}

}  // namespace vigil::policies

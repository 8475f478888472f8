// Rule files (Falco's YAML structure plus vigil's detection keys) → compiled
// rules indexed by event id, detectors, and their registry definitions.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "condition.h"
#include "detectors.h"
#include "vigil/rules/rules.h"
#include "yaml-cpp/yaml.h"

namespace vigil::rules {
namespace {

using internal::AstPtr;
using internal::Compiled;
using internal::ParseError;

constexpr uint32_t kFirstDetectionId = 6000;

// Where a piece of text came from, to turn offsets into file:line:column.
struct Segment {
  size_t start = 0;  // offset in the joined text
  std::string text;
  std::shared_ptr<const std::string> file_text;
  std::string file;
  YAML::Mark mark;
};

std::string Where(const std::string& file, const YAML::Mark& m) {
  return absl::StrCat(file, ":", m.line + 1, ":", m.column + 1);
}

// The file position of `offset` into the text of `segs` (the token found there
// is searched in the file from the scalar's mark, so folded and quoted scalars
// map right).
std::string Locate(const std::vector<Segment>& segs, size_t offset, const std::string& token) {
  const Segment* s = &segs[0];
  for (const Segment& x : segs)
    if (x.start <= offset) s = &x;
  size_t local = std::min(offset - s->start, s->text.size());
  if (!s->file_text || s->mark.pos < 0) return Where(s->file, s->mark);
  const std::string& src = *s->file_text;
  std::string_view needle = token;
  size_t extra = 0;
  if (needle.empty()) {
    // At the end: point just past the last word.
    size_t end = s->text.find_last_not_of(" \t\r\n");
    if (end == std::string::npos) return Where(s->file, s->mark);
    size_t begin = s->text.find_last_of(" \t\r\n()", end);
    begin = begin == std::string::npos ? 0 : begin + 1;
    needle = std::string_view(s->text).substr(begin, end + 1 - begin);
    local = begin;
    extra = needle.size();
  }
  size_t k = 0;
  for (size_t p = s->text.find(needle); p != std::string::npos && p < local; p = s->text.find(needle, p + 1))
    ++k;
  size_t at = static_cast<size_t>(s->mark.pos);
  for (size_t p = src.find(needle, at); p != std::string::npos; p = src.find(needle, p + 1)) {
    if (k-- == 0) {
      at = p + extra;
      break;
    }
  }
  int line = 1, col = 1;
  for (size_t i = 0; i < at && i < src.size(); ++i) {
    if (src[i] == '\n')
      ++line, col = 1;
    else
      ++col;
  }
  return absl::StrCat(s->file, ":", line, ":", col);
}

struct ListItem {
  std::vector<std::string> items;
  std::string where;
};

struct MacroItem {
  std::string condition;
  std::vector<Segment> segs;
  std::string where;
};

struct Exception {
  std::string name;
  std::string text;  // "(f1 = "v1" and ...) or (...)"; empty: no values
  std::string where;
  YAML::Mark mark;
};

struct RuleItem {
  std::string name;
  std::string where, file;
  std::string condition;
  std::vector<Segment> segs;
  std::vector<Exception> exceptions;
  std::string desc, output;
  bool enabled = true;
  bool builtin = false;
  std::string event;      // registry name
  uint32_t event_id = 0;  // 0: assign
  std::string detector;   // C++ detector kind instead of a condition
  std::map<std::string, std::string> params;
  std::string unavailable_reason;
  events::DetectionMeta meta;
  bool has_severity = false;
  bool skip_if_unknown_filter = false;
};

struct RuleSet {
  std::map<std::string, ListItem, std::less<>> lists;
  std::map<std::string, MacroItem, std::less<>> macros;
  std::vector<RuleItem> rules;  // in definition order
  std::map<std::string, size_t> rule_index;
};

std::string Slug(std::string_view name) {
  std::string s;
  for (char c : name) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)))
      s += absl::ascii_tolower(static_cast<unsigned char>(c));
    else if (!s.empty() && s.back() != '_')
      s += '_';
  }
  while (!s.empty() && s.back() == '_') s.pop_back();
  return s;
}

std::string Quote(const std::string& v) {
  std::string q = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') q += '\\';
    q += c;
  }
  return q + "\"";
}

class Loader {
 public:
  explicit Loader(RuleSet& set) : set_(set) {}

  absl::Status LoadText(const std::string& file, const std::string& text, bool builtin) {
    auto src = std::make_shared<const std::string>(text);
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::ParserException& e) {
      return absl::InvalidArgumentError(absl::StrCat(Where(file, e.mark), ": ", e.msg));
    }
    if (root.IsNull()) return absl::OkStatus();
    if (!root.IsSequence())
      return Error(file, root.Mark(), "expected a sequence of items (- rule:, - macro:, - list:)");
    for (const YAML::Node& item : root) {
      if (!item.IsMap()) return Error(file, item.Mark(), "expected an item (- rule:, - macro:, - list:)");
      absl::Status s;
      try {
        if (item["rule"])
          s = Rule(file, src, item, builtin);
        else if (item["macro"])
          s = Macro(file, src, item);
        else if (item["list"])
          s = List(file, item);
        else if (item["required_engine_version"] || item["required_plugin_versions"])
          continue;
        else
          s = Error(file, item.Mark(), "expected 'rule', 'macro' or 'list'");
      } catch (const YAML::Exception& e) {
        s = absl::InvalidArgumentError(absl::StrCat(Where(file, e.mark), ": ", e.msg));
      }
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

 private:
  static absl::Status Error(const std::string& file, const YAML::Mark& m, const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat(Where(file, m), ": ", what));
  }
  static absl::Status Keys(const std::string& file, const YAML::Node& item,
                           std::initializer_list<const char*> known) {
    for (const auto& kv : item) {
      std::string k = kv.first.as<std::string>();
      if (std::none_of(known.begin(), known.end(), [&](const char* x) { return k == x; }))
        return Error(
            file, kv.first.Mark(),
            absl::StrCat("unknown key '", k, "' (expected one of: ", absl::StrJoin(known, ", "), ")"));
    }
    return absl::OkStatus();
  }
  static absl::StatusOr<std::string> Scalar(const std::string& file, const YAML::Node& n,
                                            const std::string& key) {
    if (!n.IsScalar()) return Error(file, n.Mark(), absl::StrCat("expected a text value for '", key, "'"));
    return n.Scalar();
  }
  static absl::StatusOr<bool> Bool(const std::string& file, const YAML::Node& n, const std::string& key) {
    bool b;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, b))
      return Error(file, n.Mark(), absl::StrCat("expected true or false for '", key, "'"));
    return b;
  }
  static absl::StatusOr<std::vector<std::string>> Strings(const std::string& file, const YAML::Node& n,
                                                          const std::string& key) {
    if (!n.IsSequence()) return Error(file, n.Mark(), absl::StrCat("expected a list for '", key, "'"));
    std::vector<std::string> out;
    for (const YAML::Node& x : n) {
      if (!x.IsScalar()) return Error(file, x.Mark(), absl::StrCat("expected a text item in '", key, "'"));
      out.push_back(x.Scalar());
    }
    return out;
  }
  // "append" or "replace" for `key` under override:.
  static std::string OverrideOf(const YAML::Node& item, const char* key) {
    if (item["override"] && item["override"].IsMap() && item["override"][key])
      return item["override"][key].as<std::string>();
    return "";
  }

  absl::Status List(const std::string& file, const YAML::Node& item) {
    if (auto s = Keys(file, item, {"list", "items", "append", "override"}); !s.ok()) return s;
    auto name = Scalar(file, item["list"], "list");
    if (!name.ok()) return name.status();
    if (!item["items"]) return Error(file, item.Mark(), absl::StrCat("list '", *name, "': expected 'items'"));
    auto items = Strings(file, item["items"], "items");
    if (!items.ok()) return items.status();
    bool append = item["append"] && item["append"].as<bool>(false);
    append |= OverrideOf(item, "items") == "append";
    auto it = set_.lists.find(*name);
    if (append) {
      if (it == set_.lists.end())
        return Error(file, item.Mark(),
                     absl::StrCat("list '", *name, "': append to a list not defined before"));
      it->second.items.insert(it->second.items.end(), items->begin(), items->end());
    } else {
      set_.lists[*name] = ListItem{*items, Where(file, item.Mark())};
    }
    return absl::OkStatus();
  }

  absl::Status Macro(const std::string& file, const std::shared_ptr<const std::string>& src,
                     const YAML::Node& item) {
    if (auto s = Keys(file, item, {"macro", "condition", "append", "override", "source"}); !s.ok()) return s;
    auto name = Scalar(file, item["macro"], "macro");
    if (!name.ok()) return name.status();
    if (!item["condition"])
      return Error(file, item.Mark(), absl::StrCat("macro '", *name, "': expected 'condition'"));
    auto cond = Scalar(file, item["condition"], "condition");
    if (!cond.ok()) return cond.status();
    bool append =
        (item["append"] && item["append"].as<bool>(false)) || OverrideOf(item, "condition") == "append";
    auto it = set_.macros.find(*name);
    Segment seg{.start = 0, .text = *cond, .file_text = src, .file = file, .mark = item["condition"].Mark()};
    if (append) {
      if (it == set_.macros.end())
        return Error(file, item.Mark(),
                     absl::StrCat("macro '", *name, "': append to a macro not defined before"));
      seg.start = it->second.condition.size() + 1;
      it->second.condition += " " + *cond;
      it->second.segs.push_back(std::move(seg));
    } else {
      set_.macros[*name] = MacroItem{*cond, {std::move(seg)}, Where(file, item.Mark())};
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Exception> ExceptionOf(const std::string& file, const YAML::Node& x) {
    if (!x.IsMap()) return Error(file, x.Mark(), "expected an exception {name, fields, comps, values}");
    if (auto s = Keys(file, x, {"name", "fields", "comps", "values"}); !s.ok()) return s;
    Exception ex;
    ex.where = Where(file, x.Mark());
    ex.mark = x.Mark();
    if (!x["name"]) return Error(file, x.Mark(), "exception: expected 'name'");
    ex.name = x["name"].as<std::string>();
    if (!x["fields"])
      return Error(file, x.Mark(), absl::StrCat("exception '", ex.name, "': expected 'fields'"));
    const YAML::Node values = x["values"];
    if (!values || (values.IsSequence() && values.size() == 0)) return ex;  // a placeholder
    if (!values.IsSequence())
      return Error(file, values.Mark(), absl::StrCat("exception '", ex.name, "': expected a list of values"));
    auto value_text = [&](const YAML::Node& v) -> std::string {
      if (v.IsSequence()) {
        std::vector<std::string> items;
        for (const YAML::Node& e : v)
          items.push_back(set_.lists.contains(e.Scalar()) ? e.Scalar() : Quote(e.Scalar()));
        return absl::StrCat("(", absl::StrJoin(items, ", "), ")");
      }
      return set_.lists.contains(v.Scalar()) ? v.Scalar() : Quote(v.Scalar());
    };
    std::vector<std::string> alts;
    if (x["fields"].IsScalar()) {
      // One field: values is a list of scalars, comps one operator (default in).
      std::string field = x["fields"].Scalar();
      std::string comp = x["comps"] ? x["comps"].as<std::string>() : "in";
      std::vector<std::string> items;
      for (const YAML::Node& v : values) items.push_back(value_text(v));
      if (comp == "in" || comp == "pmatch" || comp == "intersects")
        ex.text = absl::StrCat(field, " ", comp, " (", absl::StrJoin(items, ", "), ")");
      else
        for (const std::string& v : items) alts.push_back(absl::StrCat(field, " ", comp, " ", v));
    } else {
      auto fields = Strings(file, x["fields"], "fields");
      if (!fields.ok()) return fields.status();
      std::vector<std::string> comps(fields->size(), "=");
      if (x["comps"]) {
        auto c = Strings(file, x["comps"], "comps");
        if (!c.ok()) return c.status();
        if (c->size() != fields->size())
          return Error(file, x["comps"].Mark(),
                       absl::StrCat("exception '", ex.name, "': expected as many comps as fields (",
                                    fields->size(), ")"));
        comps = *c;
      }
      for (const YAML::Node& tuple : values) {
        if (!tuple.IsSequence() || tuple.size() != fields->size())
          return Error(
              file, tuple.Mark(),
              absl::StrCat("exception '", ex.name, "': expected a list of ", fields->size(), " values"));
        std::vector<std::string> parts;
        for (size_t k = 0; k < fields->size(); ++k)
          parts.push_back(absl::StrCat((*fields)[k], " ", comps[k], " ", value_text(tuple[k])));
        alts.push_back(absl::StrCat("(", absl::StrJoin(parts, " and "), ")"));
      }
    }
    if (ex.text.empty()) ex.text = absl::StrJoin(alts, " or ");
    return ex;
  }

  absl::Status Rule(const std::string& file, const std::shared_ptr<const std::string>& src,
                    const YAML::Node& item, bool builtin) {
    if (auto s = Keys(file, item,
                      {"rule",
                       "desc",
                       "condition",
                       "output",
                       "priority",
                       "tags",
                       "enabled",
                       "exceptions",
                       "append",
                       "override",
                       "source",
                       "warn_evttypes",
                       "skip-if-unknown-filter",
                       "capture",
                       "capture_duration",
                       "id",
                       "signature_id",
                       "event",
                       "event_id",
                       "signature_name",
                       "severity",
                       "category",
                       "technique",
                       "external_id",
                       "tactic",
                       "version",
                       "description",
                       "detector",
                       "params",
                       "unavailable_reason",
                       "needs_exec_env"});
        !s.ok())
      return s;
    auto name = Scalar(file, item["rule"], "rule");
    if (!name.ok()) return name.status();
    if (item["source"] && item["source"].as<std::string>() != "syscall")
      return absl::OkStatus();  // plugin sources
    auto existing = set_.rule_index.find(*name);
    bool append = item["append"] && item["append"].as<bool>(false);
    bool has_body = item["condition"] || item["detector"];
    RuleItem* r;
    if (existing != set_.rule_index.end() && (append || item["override"] || !has_body)) {
      r = &set_.rules[existing->second];  // modify the earlier definition
    } else if (append || item["override"]) {
      return Error(file, item.Mark(),
                   absl::StrCat("rule '", *name, "': append/override of a rule not defined before"));
    } else {
      if (!has_body)
        return Error(file, item.Mark(), absl::StrCat("rule '", *name, "': expected 'condition'"));
      RuleItem fresh;
      fresh.name = *name;
      fresh.builtin = builtin;
      fresh.file = file;
      if (existing != set_.rule_index.end()) {
        // Same name: replaces the earlier rule, keeping its id.
        fresh.event_id = set_.rules[existing->second].event_id;
        fresh.event = set_.rules[existing->second].event;
        fresh.builtin = set_.rules[existing->second].builtin;
        set_.rules[existing->second] = std::move(fresh);
        r = &set_.rules[existing->second];
      } else {
        set_.rule_index[*name] = set_.rules.size();
        set_.rules.push_back(std::move(fresh));
        r = &set_.rules.back();
      }
      r->where = Where(file, item.Mark());
    }
    auto mode = [&](const char* key) {
      std::string o = OverrideOf(item, key);
      if (!o.empty()) return o;
      return append ? std::string("append") : std::string("replace");
    };
    auto text = [&](const char* key, std::string& into) -> absl::Status {
      if (!item[key]) return absl::OkStatus();
      auto v = Scalar(file, item[key], key);
      if (!v.ok()) return v.status();
      into = mode(key) == "append" && !into.empty() ? into + " " + *v : *v;
      return absl::OkStatus();
    };
    if (item["condition"]) {
      auto cond = Scalar(file, item["condition"], "condition");
      if (!cond.ok()) return cond.status();
      Segment seg{
          .start = 0, .text = *cond, .file_text = src, .file = file, .mark = item["condition"].Mark()};
      if (mode("condition") == "append" && !r->condition.empty()) {
        seg.start = r->condition.size() + 1;
        r->condition += " " + *cond;
        r->segs.push_back(std::move(seg));
      } else {
        r->condition = *cond;
        r->segs = {std::move(seg)};
      }
    }
    for (const char* k : {"desc", "output"})
      if (auto s = text(k, k[0] == 'd' ? r->desc : r->output); !s.ok()) return s;
    if (item["enabled"]) {
      auto b = Bool(file, item["enabled"], "enabled");
      if (!b.ok()) return b.status();
      r->enabled = *b;
    }
    if (item["skip-if-unknown-filter"])
      r->skip_if_unknown_filter = item["skip-if-unknown-filter"].as<bool>(false);
    if (item["priority"] && !r->has_severity) {
      auto sev = ParseSeverity(item["priority"].as<std::string>());
      if (!sev.ok()) return Error(file, item["priority"].Mark(), std::string(sev.status().message()));
      r->meta.severity = *sev;
    }
    if (item["severity"]) {
      auto sev = ParseSeverity(item["severity"].as<std::string>());
      if (!sev.ok()) return Error(file, item["severity"].Mark(), std::string(sev.status().message()));
      r->meta.severity = *sev;
      r->has_severity = true;
    }
    if (item["tags"]) {
      auto tags = Strings(file, item["tags"], "tags");
      if (!tags.ok()) return tags.status();
      if (mode("tags") == "append")
        r->meta.tags.insert(r->meta.tags.end(), tags->begin(), tags->end());
      else
        r->meta.tags = *tags;
    }
    if (item["exceptions"]) {
      if (!item["exceptions"].IsSequence())
        return Error(file, item["exceptions"].Mark(), "expected a list of exceptions");
      if (mode("exceptions") != "append") r->exceptions.clear();
      for (const YAML::Node& x : item["exceptions"]) {
        auto ex = ExceptionOf(file, x);
        if (!ex.ok()) return ex.status();
        r->exceptions.push_back(*ex);
      }
    }
    struct {
      const char* key;
      std::string* into;
    } metas[] = {{"id", &r->meta.signature_id},
                 {"signature_id", &r->meta.signature_id},
                 {"signature_name", &r->meta.signature_name},
                 {"category", &r->meta.category},
                 {"technique", &r->meta.technique},
                 {"external_id", &r->meta.external_id},
                 {"tactic", &r->meta.tactic},
                 {"version", &r->meta.version},
                 {"description", &r->meta.description},
                 {"detector", &r->detector},
                 {"unavailable_reason", &r->unavailable_reason}};
    for (const auto& m : metas)
      if (item[m.key]) {
        auto v = Scalar(file, item[m.key], m.key);
        if (!v.ok()) return v.status();
        *m.into = *v;
      }
    if (item["event"]) {
      auto v = Scalar(file, item["event"], "event");
      if (!v.ok()) return v.status();
      if (Slug(*v) != *v || v->empty())
        return Error(file, item["event"].Mark(),
                     "event: expected a name of lowercase letters, digits and '_'");
      r->event = *v;
    }
    if (item["event_id"]) {
      uint32_t id = item["event_id"].as<uint32_t>(0);
      if (id < kFirstDetectionId)
        return Error(file, item["event_id"].Mark(),
                     absl::StrCat("event_id: expected a number >= ", kFirstDetectionId));
      r->event_id = id;
    }
    if (item["needs_exec_env"]) {
      auto b = Bool(file, item["needs_exec_env"], "needs_exec_env");
      if (!b.ok()) return b.status();
      r->meta.needs_exec_env = *b;
    }
    if (item["params"]) {
      if (!item["params"].IsMap()) return Error(file, item["params"].Mark(), "params: expected a mapping");
      for (const auto& kv : item["params"])
        r->params[kv.first.as<std::string>()] = kv.second.as<std::string>();
    }
    if (r->event.empty()) r->event = Slug(r->name);
    if (r->event.empty()) return Error(file, item.Mark(), "rule: expected a name with letters or digits");
    return absl::OkStatus();
  }

  RuleSet& set_;
};

absl::Status LoadPath(Loader& loader, const std::string& path) {
  std::error_code ec;
  std::vector<std::string> files;
  if (std::filesystem::is_directory(path, ec)) {
    for (const auto& e : std::filesystem::directory_iterator(path, ec)) {
      std::string ext = e.path().extension().string();
      if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml")) files.push_back(e.path().string());
    }
    if (ec) return absl::InvalidArgumentError(absl::StrCat("rules: cannot list ", path, ": ", ec.message()));
    std::sort(files.begin(), files.end());
    if (files.empty())
      return absl::InvalidArgumentError(absl::StrCat("rules: no *.yaml or *.yml file in directory ", path));
  } else if (std::filesystem::exists(path, ec)) {
    files.push_back(path);
  } else {
    return absl::InvalidArgumentError(absl::StrCat("rules: ", path, ": no such file or directory"));
  }
  for (const std::string& f : files) {
    std::ifstream in(f);
    if (!in) return absl::InvalidArgumentError(absl::StrCat("rules: cannot read ", f));
    std::stringstream buf;
    buf << in.rdbuf();
    if (auto s = loader.LoadText(f, buf.str(), false); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// -------------------------------------------------------------- compiling

class Resolver {
 public:
  explicit Resolver(const RuleSet& set) : set_(set) {}

  // Lists of lists, expanded (cycles are errors).
  absl::StatusOr<const std::vector<std::string>*> List(std::string_view name) {
    if (auto it = lists_.find(name); it != lists_.end()) return &it->second;
    auto def = set_.lists.find(name);
    if (def == set_.lists.end()) return nullptr;
    if (!visiting_.insert(std::string(name)).second)
      return absl::InvalidArgumentError(
          absl::StrCat(def->second.where, ": list '", std::string(name), "' contains itself"));
    std::vector<std::string> out;
    for (const std::string& item : def->second.items) {
      auto sub = List(item);
      if (!sub.ok()) return sub.status();
      if (*sub)
        out.insert(out.end(), (*sub)->begin(), (*sub)->end());
      else
        out.push_back(item);
    }
    visiting_.erase(std::string(name));
    return &lists_.emplace(std::string(name), std::move(out)).first->second;
  }

  absl::StatusOr<AstPtr> Macro(std::string_view name) {
    if (auto it = macros_.find(name); it != macros_.end()) return it->second;
    auto def = set_.macros.find(name);
    if (def == set_.macros.end()) return nullptr;
    if (!visiting_.insert(absl::StrCat("macro:", std::string(name))).second)
      return absl::InvalidArgumentError(
          absl::StrCat(def->second.where, ": macro '", std::string(name), "' uses itself"));
    auto ast =
        Parse(def->second.condition, def->second.segs, absl::StrCat("macro '", std::string(name), "'"));
    visiting_.erase(absl::StrCat("macro:", std::string(name)));
    if (!ast.ok()) return ast.status();
    macros_.emplace(std::string(name), *ast);
    return *ast;
  }

  absl::StatusOr<AstPtr> Parse(const std::string& text, const std::vector<Segment>& segs,
                               const std::string& what) {
    absl::Status inner;
    internal::ParseContext ctx{.macro = [&](std::string_view n) -> AstPtr {
                                 auto m = Macro(n);
                                 if (!m.ok()) {
                                   if (inner.ok()) inner = m.status();
                                   return nullptr;
                                 }
                                 return *m;
                               },
                               .list = [&](std::string_view n) -> const std::vector<std::string>* {
                                 auto l = List(n);
                                 if (!l.ok()) {
                                   if (inner.ok()) inner = l.status();
                                   return nullptr;
                                 }
                                 return *l;
                               }};
    ParseError err;
    auto ast = internal::Parse(text, ctx, &err);
    if (!inner.ok()) return inner;
    if (!ast.ok())
      return absl::InvalidArgumentError(
          absl::StrCat(Locate(segs, err.offset, err.token), ": ", err.message,
                       err.token.empty() ? " (at the end)" : absl::StrCat(" (found '", err.token, "')"),
                       " in the condition of ", what));
    return *ast;
  }

 private:
  const RuleSet& set_;
  std::map<std::string, std::vector<std::string>, std::less<>> lists_;
  std::map<std::string, AstPtr, std::less<>> macros_;
  std::set<std::string> visiting_;
};

struct CompiledRule {
  size_t def = 0;  // index into Impl::defs
  Compiled tree;
  std::string output;
  const events::EventDef* event = nullptr;
};

}  // namespace

absl::StatusOr<int> ParseSeverity(std::string_view text) {
  std::string t = absl::AsciiStrToLower(std::string(text));
  static const std::pair<std::string_view, int> kNames[] = {
      {"0", 0},     {"1", 1},        {"2", 2},         {"3", 3},
      {"4", 4},     {"info", 0},     {"low", 1},       {"medium", 2},
      {"high", 3},  {"critical", 4}, {"emergency", 4}, {"alert", 4},
      {"error", 3}, {"warning", 1},  {"notice", 0},    {"informational", 0},
      {"debug", 0}};
  for (const auto& [n, v] : kNames)
    if (t == n) return v;
  return absl::InvalidArgumentError(absl::StrCat("unknown severity '", std::string(text),
                                                 "' (expected info, low, medium, high, critical, 0-4, or a "
                                                 "Falco priority: emergency, alert, critical, error, "
                                                 "warning, notice, informational, debug)"));
}

struct DetectionEngine::Impl {
  std::vector<events::EventDef> defs;
  std::vector<Cancelled> cancelled;
  std::vector<std::vector<CompiledRule>> by_event;       // every compiled rule, by event id
  std::vector<std::vector<const CompiledRule*>> active;  // the enabled ones
  std::vector<std::unique_ptr<Detector>> detectors;
  std::vector<size_t> detector_def;  // def index of each detector
  std::vector<std::vector<std::set<uint32_t>>> detector_inputs;
  std::vector<std::vector<size_t>> active_detectors;  // by event id: detector indexes
  std::vector<std::set<uint32_t>> inputs;             // by def index
  std::set<uint32_t> enabled;
  internal::EvalContext ctx;
  events::Fields scratch;

  const events::EventDef* DefById(uint32_t id) const {
    for (const events::EventDef& d : defs)
      if (d.id == id) return &d;
    return nullptr;
  }
};

namespace {

// Renders Falco's `output` with %field substitutions.
std::string RenderOutput(const std::string& out, const events::EventDef& def, internal::EvalContext& ctx) {
  std::string s;
  for (size_t i = 0; i < out.size();) {
    if (out[i] != '%') {
      s += out[i++];
      continue;
    }
    size_t j = i + 1;
    while (j < out.size() && (absl::ascii_isalnum(static_cast<unsigned char>(out[j])) || out[j] == '.' ||
                              out[j] == '_' || out[j] == '[' || out[j] == ']'))
      ++j;
    internal::Field f;
    std::string arg, err;
    int index;
    std::string_view name = std::string_view(out).substr(i + 1, j - i - 1);
    if (internal::ParseField(name, f, arg, index, err))
      s += Compiled::Render(f, def, arg, index, ctx);
    else
      s.append(out, i, j - i);
    i = j;
  }
  return s;
}

}  // namespace

DetectionEngine::DetectionEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DetectionEngine::~DetectionEngine() = default;

const std::vector<events::EventDef>& DetectionEngine::event_defs() const { return impl_->defs; }
namespace {
// A rule's registry event: its name, description and Tracee metadata (the
// caller completes inputs, dependencies and whether it can run).
events::EventDef DetectionDef(const RuleItem& r, uint32_t id) {
  events::EventDef def;
  def.id = id;
  def.name = r.event;
  def.description = r.desc;
  def.sets = {"signatures"};
  auto meta = std::make_shared<events::DetectionMeta>(r.meta);
  if (meta->signature_name.empty()) meta->signature_name = r.name;
  if (meta->description.empty()) meta->description = r.desc;
  meta->origin = r.where;
  def.detection = std::move(meta);
  return def;
}
}  // namespace

const std::vector<Cancelled>& DetectionEngine::cancelled() const { return impl_->cancelled; }

absl::StatusOr<std::unique_ptr<DetectionEngine>> DetectionEngine::Create(const Sources& sources,
                                                                         const events::Registry& registry) {
  RuleSet set;
  Loader loader(set);
  if (sources.builtin)
    for (const auto& [file, text] : BuiltinRuleFiles())
      if (auto s = loader.LoadText(file, text, true); !s.ok()) return s;
  for (const std::string& p : sources.user_paths)
    if (auto s = LoadPath(loader, p); !s.ok()) return s;
  for (const auto& [file, text] : sources.texts)
    if (auto s = loader.LoadText(file, text, false); !s.ok()) return s;

  auto impl = std::make_unique<Impl>();
  Resolver resolver(set);
  uint32_t max_id = 0;
  for (const events::EventDef& d : registry.all()) max_id = std::max(max_id, d.id);
  impl->by_event.resize(max_id + 1);

  // Ids: fixed ones first, then the rest in order after the highest.
  std::set<uint32_t> used;
  std::map<std::string, std::string> event_names;
  for (const RuleItem& r : set.rules) {
    if (!r.enabled) continue;
    if (r.event_id && !used.insert(r.event_id).second)
      return absl::InvalidArgumentError(
          absl::StrCat(r.where, ": rule '", r.name, "': event_id ", r.event_id, " is used by another rule"));
    if (const events::EventDef* known = registry.Find(r.event);
        known && !(sources.reload && absl::c_linear_search(known->sets, "signatures")))
      return absl::InvalidArgumentError(
          absl::StrCat(r.where, ": rule '", r.name, "': '", r.event,
                       "' is already an event name; set 'event:' to another name"));
    if (auto [it, fresh] = event_names.emplace(r.event, r.name); !fresh)
      return absl::InvalidArgumentError(absl::StrCat(r.where, ": rule '", r.name, "' has the event name '",
                                                     r.event, "' of rule '", it->second,
                                                     "'; set 'event:' to another name"));
  }
  uint32_t next_id = used.empty() ? kFirstDetectionId : *used.rbegin() + 1;

  for (const RuleItem& r : set.rules) {
    if (!r.enabled) continue;
    events::EventDef def = DetectionDef(r, r.event_id ? r.event_id : next_id++);
    auto meta = std::make_shared<events::DetectionMeta>(*def.detection);
    std::vector<std::string> missing;
    std::set<uint32_t> inputs;
    std::string what = absl::StrCat("rule '", r.name, "'");

    if (!r.detector.empty()) {
      auto det = internal::MakeDetector(r.detector, r.event, r.params);
      if (!det.ok())
        return absl::InvalidArgumentError(absl::StrCat(r.where, ": ", what, ": ", det.status().message()));
      for (const std::string& in : (*det)->inputs()) {
        if (const events::EventDef* d = registry.Find(in))
          inputs.insert(d->id);
        else
          missing.push_back(in);
      }
      if (missing.empty()) {
        impl->detector_def.push_back(impl->defs.size());
        impl->detectors.push_back(std::move(*det));
      }
    } else {
      std::string cond = r.condition;
      std::vector<Segment> segs = r.segs;
      for (const Exception& ex : r.exceptions) {
        if (ex.text.empty()) continue;
        std::string add = absl::StrCat(" and not (", ex.text, ")");
        for (Segment& s : segs) s.start += 1;  // the '(' added in front
        segs.push_back(Segment{.start = cond.size() + 2, .text = add, .file = r.file, .mark = ex.mark});
        cond = absl::StrCat("(", cond, ")", add);
      }
      auto ast = resolver.Parse(cond, segs, what);
      if (!ast.ok()) {
        if (r.skip_if_unknown_filter && absl::StrContains(ast.status().message(), "unknown field")) continue;
        return ast.status();
      }
      // The event-type index: which events can this rule match?
      std::vector<const events::EventDef*> types;
      size_t total = 0;
      for (const events::EventDef& d : registry.all()) {
        if (absl::c_linear_search(d.sets, "signatures")) continue;
        ++total;
        if (internal::EventTypeVerdict(**ast, d.name, d.id) != 0) types.push_back(&d);
      }
      std::vector<std::string> named;
      internal::EventNamesMentioned(**ast, named);
      for (const std::string& n : named)
        if (!registry.Find(n) && !absl::c_linear_search(missing, n)) missing.push_back(n);
      // Like Falco's evttype check: a rule must name the events it reads
      // (more than half of all event types is no restriction, e.g. "not evt.name = x").
      if (types.size() > total / 2)
        return absl::InvalidArgumentError(absl::StrCat(
            r.where, ": ", what,
            ": the condition does not restrict the event type (add evt.name = X or evt.name in (X, Y))"));
      if (types.empty() && missing.empty())
        return absl::InvalidArgumentError(
            absl::StrCat(r.where, ": ", what, ": the condition matches no event"));
      std::vector<const internal::Ast*> unknown;
      std::vector<CompiledRule> compiled;
      std::map<const internal::Ast*, int> unknown_count;
      for (const events::EventDef* d : types) {
        unknown.clear();
        auto tree = Compiled::Build(**ast, *d, &unknown);
        if (!tree.ok()) {
          std::string msg(tree.status().message());
          size_t sep = msg.find('\x1f'), sep2 = msg.find('\x1f', sep + 1);
          size_t off = std::stoul(msg.substr(0, sep));
          return absl::InvalidArgumentError(
              absl::StrCat(Locate(segs, off, msg.substr(sep + 1, sep2 - sep - 1)), ": ", msg.substr(sep2 + 1),
                           " in the condition of ", what));
        }
        for (const internal::Ast* a : unknown) ++unknown_count[a];
        if (tree->constant_false()) continue;
        inputs.insert(d->id);
        compiled.push_back(
            CompiledRule{.def = impl->defs.size(), .tree = std::move(*tree), .output = r.output, .event = d});
      }
      for (const auto& [a, n] : unknown_count) {
        if (n < static_cast<int>(types.size()) || types.empty()) continue;
        std::vector<std::string> names;
        for (const events::EventDef* d : types) names.push_back(d->name);
        if (names.size() > 6) names.resize(6), names.push_back("...");
        // Point at the field: its offset is in the joined text.
        std::string token = a->field_text;
        return absl::InvalidArgumentError(absl::StrCat(
            Locate(segs, a->offset, token), ": unknown argument '", a->arg,
            "' (no event of this rule has it: ", absl::StrJoin(names, ", "), ") in the condition of ", what));
      }
      if (internal::ReadsArg(**ast, "env")) meta->needs_exec_env = true;
      if (inputs.empty() && missing.empty())
        return absl::InvalidArgumentError(
            absl::StrCat(r.where, ": ", what, ": the condition can never be true"));
      for (CompiledRule& c : compiled) impl->by_event[c.event->id].push_back(std::move(c));
    }
    for (uint32_t id : inputs) def.dependencies.push_back(registry.FindId(id)->name);
    meta->missing_inputs = missing;
    if (inputs.empty() || (!r.detector.empty() && !missing.empty())) {
      meta->unavailable =
          !r.unavailable_reason.empty()
              ? r.unavailable_reason
              : absl::StrCat("its input event", missing.size() > 1 ? "s " : " ", absl::StrJoin(missing, ", "),
                             missing.size() > 1 ? " do" : " does", " not exist in this build of vigil");
      impl->cancelled.push_back({def.name, meta->unavailable});
    }
    def.detection = meta;
    impl->inputs.push_back(inputs);
    impl->defs.push_back(std::move(def));
  }
  // Disabled rules stay known by name (not compiled, never run), so that
  // selecting one says it is disabled rather than that it does not exist.
  // They take ids after the enabled ones, which keep theirs.
  for (const RuleItem& r : set.rules) {
    const events::EventDef* known = registry.Find(r.event);
    if (r.enabled || (known && !(sources.reload && absl::c_linear_search(known->sets, "signatures"))) ||
        event_names.contains(r.event))
      continue;
    if (r.event_id && used.contains(r.event_id)) continue;
    event_names.emplace(r.event, r.name);
    events::EventDef def = DetectionDef(r, r.event_id ? r.event_id : next_id++);
    auto meta = std::make_shared<events::DetectionMeta>(*def.detection);
    meta->unavailable = absl::StrCat("rule '", r.name, "' (", r.where,
                                     ") is disabled (enabled: false); enable it with `enabled: true` in an "
                                     "override of the rule");
    def.detection = meta;
    impl->inputs.emplace_back();
    impl->defs.push_back(std::move(def));
  }
  impl->active.resize(impl->by_event.size());
  impl->active_detectors.resize(impl->by_event.size());
  return std::unique_ptr<DetectionEngine>(new DetectionEngine(std::move(impl)));
}

void DetectionEngine::Enable(const std::set<uint32_t>& ids) {
  Impl& m = *impl_;
  m.enabled.clear();
  for (const events::EventDef& d : m.defs)
    if (ids.contains(d.id) && d.detection->unavailable.empty()) m.enabled.insert(d.id);
  for (auto& a : m.active) a.clear();
  for (auto& a : m.active_detectors) a.clear();
  for (size_t ev = 0; ev < m.by_event.size(); ++ev)
    for (const CompiledRule& c : m.by_event[ev])
      if (m.enabled.contains(m.defs[c.def].id)) m.active[ev].push_back(&c);
  for (size_t k = 0; k < m.detectors.size(); ++k) {
    if (!m.enabled.contains(m.defs[m.detector_def[k]].id)) continue;
    for (uint32_t in : m.inputs[m.detector_def[k]])
      if (in < m.active_detectors.size()) m.active_detectors[in].push_back(k);
  }
}

bool DetectionEngine::NeedsExecEnv() const {
  for (const events::EventDef& d : impl_->defs)
    if (impl_->enabled.contains(d.id) && d.detection->needs_exec_env) return true;
  return false;
}

std::set<uint32_t> DetectionEngine::EnabledInputs() const {
  std::set<uint32_t> out;
  for (size_t k = 0; k < impl_->defs.size(); ++k)
    if (impl_->enabled.contains(impl_->defs[k].id))
      out.insert(impl_->inputs[k].begin(), impl_->inputs[k].end());
  return out;
}

FileOpenPrefilter DetectionEngine::OpenPrefilter() const {
  const Impl& m = *impl_;
  const events::EventDef* def = events::Registry::Builtin().Find("security_file_open");
  std::vector<const Compiled*> trees;
  std::string reason;
  if (def != nullptr && def->id < m.active.size()) {
    for (const CompiledRule* c : m.active[def->id]) trees.push_back(&c->tree);
    for (size_t k : m.active_detectors[def->id])
      reason = absl::StrCat("the detector of ", m.defs[m.detector_def[k]].name, " consumes it");
  }
  return internal::BuildFileOpenPrefilter(trees, reason);
}

void DetectionEngine::OnEvent(const events::Event& e, const ProcessLookup& lookup, Emit emit) {
  Impl& m = *impl_;
  if (!e.def || e.def->id >= m.active.size()) return;
  const auto& rules = m.active[e.def->id];
  const auto& dets = m.active_detectors[e.def->id];
  if (rules.empty() && dets.empty()) return;
  m.ctx.Reset(e, lookup);
  for (const CompiledRule* c : rules) {
    if (!c->tree.Eval(m.ctx)) continue;
    const events::EventDef& def = m.defs[c->def];
    m.scratch.clear();
    if (!c->output.empty()) m.scratch.emplace_back("output", RenderOutput(c->output, *e.def, m.ctx));
    emit(Detection{.def = &def, .trigger = &e, .fields = &m.scratch});
  }
  for (size_t k : dets) m.detectors[k]->OnEvent(e, lookup, m.defs[m.detector_def[k]], emit);
}

}  // namespace vigil::rules

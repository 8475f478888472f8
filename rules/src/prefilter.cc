// The file-open prefilter: from the compiled conditions on security_file_open,
// a necessary condition the kernel decides from the open's flags and the
// names of the opened file's dentries (see FileOpenPrefilter in rules.h).
//
// Each tree is reduced to a disjunction of alternatives, each one a key (any
// file, a name of the file, a path prefix) with a need on the flags. A check
// the kernel cannot decide reduces to "anything" (sound: it only weakens the
// condition); `not` reduces to "anything"; `and` keeps the most selective key
// of each pair of alternatives and intersects their needs; `or` is the union.
#include <algorithm>
#include <map>
#include <optional>
#include <tuple>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "condition.h"

namespace vigil::rules {

namespace {

constexpr uint32_t kAllModes = 0xf;
constexpr uint32_t kWriteModes = (1u << 1) | (1u << 2);  // O_WRONLY, O_RDWR
constexpr uint32_t kReadModes = (1u << 0) | (1u << 2);   // O_RDONLY, O_RDWR

std::string_view Basename(std::string_view p) {
  size_t slash = p.rfind('/');
  return slash == std::string_view::npos ? p : p.substr(slash + 1);
}

bool HasGlobChars(std::string_view s) { return s.find_first_of("*?[\\") != std::string_view::npos; }

}  // namespace

bool FileOpenPrefilter::Passes(std::string_view path, uint64_t flags) const {
  if (pass_all) return true;
  if (any.modes && any.Holds(flags)) return true;
  std::string_view base = Basename(path);
  std::string_view dir = path.substr(0, path.size() - base.size());
  if (!dir.empty()) dir.remove_suffix(1);
  std::string_view parent = Basename(dir);
  for (const Name& n : names) {
    bool hit = false;
    switch (n.kind) {
      case NameKind::kBasename:
        hit = base == n.text;
        break;
      case NameKind::kBasenamePrefix:
        hit = base.starts_with(n.text);
        break;
      case NameKind::kBasenameSuffix:
        hit = base.ends_with(n.text);
        break;
      case NameKind::kParentName:
        hit = path.rfind('/') != 0 && parent == n.text;
        break;
    }
    if (hit && n.need.Holds(flags)) return true;
  }
  // The kernel compares the path's first kPrefixComponents components.
  std::string_view head = path;
  size_t comps = 0;
  for (size_t i = 0; i < path.size(); ++i)
    if (path[i] == '/' && ++comps > kPrefixComponents) {
      head = path.substr(0, i + 1);
      break;
    }
  const Prefix* best = nullptr;
  for (const Prefix& p : prefixes)
    if (head.starts_with(p.path) && (!best || p.path.size() > best->path.size())) best = &p;
  return best && best->need.Holds(flags);
}

std::string FileOpenPrefilter::Describe() const {
  if (pass_all) return absl::StrCat("every open passes (", reason, ")");
  auto need = [](const Need& n) {
    std::string s;
    static const char* kModes[] = {"O_RDONLY", "O_WRONLY", "O_RDWR", "mode 3"};
    for (int m = 0; m < 4; ++m)
      if (n.modes & (1u << m)) absl::StrAppend(&s, s.empty() ? "" : "|", kModes[m]);
    if (n.flags) absl::StrAppend(&s, " with flags 0x", absl::Hex(n.flags));
    return s;
  };
  std::string s;
  for (const Name& n : names) {
    static const char* kKinds[] = {"", "basename", "basename prefix", "basename suffix", "parent"};
    absl::StrAppend(&s, s.empty() ? "" : ", ", kKinds[static_cast<int>(n.kind)], " '", n.text, "' (", need(n.need),
                    ")");
  }
  for (const Prefix& p : prefixes) absl::StrAppend(&s, s.empty() ? "" : ", ", "prefix '", p.path, "' (", need(p.need), ")");
  if (any.modes) absl::StrAppend(&s, s.empty() ? "" : ", ", "any file (", need(any), ")");
  return s.empty() ? "no open passes" : s;
}

namespace internal {

namespace {

struct Alt {
  enum Key : uint8_t { kAny, kName, kPrefix };
  Key key = kAny;
  FileOpenPrefilter::NameKind name_kind = FileOpenPrefilter::NameKind::kBasename;
  std::string text;
  FileOpenPrefilter::Need need{kAllModes, 0};

  // Lower is more selective (kept when two alternatives are conjoined).
  int Rank() const {
    if (key == kAny) return 9;
    if (key == kPrefix) return 5;
    switch (name_kind) {
      case FileOpenPrefilter::NameKind::kBasename:
        return 0;
      case FileOpenPrefilter::NameKind::kParentName:
        return 1;
      case FileOpenPrefilter::NameKind::kBasenameSuffix:
        return 2;
      case FileOpenPrefilter::NameKind::kBasenamePrefix:
        return 3;
    }
    return 9;
  }
  bool IsTop() const { return key == kAny && need.modes == kAllModes && need.flags == 0; }
};
using Alts = std::vector<Alt>;

Alts Top() { return {Alt{}}; }
Alt NameAlt(FileOpenPrefilter::NameKind k, std::string_view text) {
  Alt a;
  a.key = Alt::kName;
  a.name_kind = k;
  a.text = std::string(text);
  return a;
}
Alt PrefixAlt(std::string_view p) {
  Alt a;
  a.key = Alt::kPrefix;
  a.text = std::string(p);
  return a;
}
Alt NeedAlt(uint32_t modes, uint64_t flags) {
  Alt a;
  a.need = {modes, flags};
  return a;
}

// Single-bit open flags whose token shows in the rendering exactly when the bit is set.
std::optional<uint64_t> FlagBit(std::string_view name) {
  static const std::pair<std::string_view, uint64_t> kBits[] = {
      {"O_CREAT", 0100},     {"O_EXCL", 0200},    {"O_NOCTTY", 0400},     {"O_TRUNC", 01000},
      {"O_APPEND", 02000},   {"O_NONBLOCK", 04000}, {"O_DIRECTORY", 0200000}, {"O_NOFOLLOW", 0400000},
      {"O_CLOEXEC", 02000000}, {"O_PATH", 010000000}};
  for (const auto& [n, b] : kBits)
    if (n == name) return b;
  return std::nullopt;
}

// fd.name = path: its last component.
Alts FromExactPath(std::string_view path) {
  std::string_view base = Basename(path);
  if (base.empty() || path.find('/') == std::string_view::npos) return Top();
  return {NameAlt(FileOpenPrefilter::NameKind::kBasename, base)};
}

// fd.name startswith p (a byte prefix): only absolute prefixes longer than "/".
Alts FromPathPrefix(std::string_view p) {
  if (p.size() < 2 || p[0] != '/') return Top();
  return {PrefixAlt(p)};
}

Alts FromPathGlob(std::string_view g) {
  size_t slash = g.rfind('/');
  if (slash != std::string_view::npos) {
    std::string_view last = g.substr(slash + 1);
    // The pattern ends with "/literal": so does every path it matches.
    if (!last.empty() && !HasGlobChars(last)) return {NameAlt(FileOpenPrefilter::NameKind::kBasename, last)};
    // ".../*literal": the path ends with the literal, which has no '/'.
    if (last.size() > 1 && last[0] == '*' && !HasGlobChars(last.substr(1)))
      return {NameAlt(FileOpenPrefilter::NameKind::kBasenameSuffix, last.substr(1))};
  }
  size_t wild = g.find_first_of("*?[\\");
  return FromPathPrefix(g.substr(0, wild));
}

class Reducer {
 public:
  static constexpr size_t kMaxAlts = 256;

  explicit Reducer(const Compiled& c) : c_(c) {}

  Alts Reduce(uint32_t n) const;

 private:
  Alts ReduceCheck(const Check& c) const;
  const Compiled& c_;
};

void Dedupe(Alts& alts) {
  std::map<std::tuple<int, int, std::string>, size_t> seen;
  Alts out;
  for (Alt& a : alts) {
    if (a.need.modes == 0) continue;
    auto key = std::make_tuple(static_cast<int>(a.key), static_cast<int>(a.name_kind), a.text);
    auto [it, fresh] = seen.emplace(key, out.size());
    if (fresh)
      out.push_back(std::move(a));
    else
      out[it->second].need.Merge(a.need);
  }
  alts = std::move(out);
}

// The alternatives of `each` for every item of a list, deduplicated: a list
// matches when any of its items does.
template <typename List, typename Each>
Alts AnyOf(const List& items, Each each) {
  Alts out;
  for (const std::string& s : items) {
    Alts one = each(s);
    out.insert(out.end(), one.begin(), one.end());
  }
  Dedupe(out);
  return out;
}

Alts And(const Alts& a, const Alts& b) {
  if (a.size() * b.size() > Reducer::kMaxAlts) {
    // Either side alone is a necessary condition: keep the one with fewer "anything"s.
    auto anys = [](const Alts& x) { return std::count_if(x.begin(), x.end(), [](const Alt& y) { return y.key == Alt::kAny; }); };
    return anys(a) <= anys(b) ? a : b;
  }
  Alts out;
  for (const Alt& x : a)
    for (const Alt& y : b) {
      Alt z = x.Rank() <= y.Rank() ? x : y;
      z.need.modes = x.need.modes & y.need.modes;
      z.need.flags = x.need.flags | y.need.flags;
      if (z.need.modes) out.push_back(std::move(z));
    }
  Dedupe(out);
  return out;
}

}  // namespace

struct OpenReducer {
  static const std::vector<Node>& nodes(const Compiled& c) { return c.nodes_; }
  static const std::vector<uint32_t>& kids(const Compiled& c) { return c.kids_; }
  static const Check& check(const Compiled& c, uint32_t i) { return *c.checks_[i]; }
  static uint32_t root(const Compiled& c) { return c.root_; }
};

namespace {

Alts Reducer::Reduce(uint32_t n) const {
  const Node& node = OpenReducer::nodes(c_)[n];
  switch (node.kind) {
    case Node::kTrue:
    case Node::kNot:
      return Top();
    case Node::kFalse:
      return {};
    case Node::kCheck:
      return ReduceCheck(OpenReducer::check(c_, node.check));
    case Node::kOr: {
      Alts out;
      for (uint32_t k = 0; k < node.count; ++k) {
        Alts sub = Reduce(OpenReducer::kids(c_)[node.first + k]);
        out.insert(out.end(), sub.begin(), sub.end());
      }
      Dedupe(out);
      if (std::any_of(out.begin(), out.end(), [](const Alt& a) { return a.IsTop(); })) return Top();
      return out;
    }
    case Node::kAnd: {
      Alts out = Top();
      for (uint32_t k = 0; k < node.count; ++k) out = And(out, Reduce(OpenReducer::kids(c_)[node.first + k]));
      return out;
    }
  }
  return Top();
}

Alts Reducer::ReduceCheck(const Check& c) const {
  using NK = FileOpenPrefilter::NameKind;
  if (c.rhs) return Top();
  const bool path_arg = c.arg != nullptr && c.arg->name == "pathname";
  if (c.field == Field::kIsOpenWrite || c.field == Field::kIsOpenRead) {
    uint32_t yes = c.field == Field::kIsOpenWrite ? kWriteModes : kReadModes;
    if (c.op == Op::kEq && (c.number == 0 || c.number == 1))
      return {NeedAlt(c.number ? yes : kAllModes & ~yes, 0)};
    if (c.op == Op::kNe && (c.number == 0 || c.number == 1))
      return {NeedAlt(c.number ? kAllModes & ~yes : yes, 0)};
    return Top();
  }
  if (c.field == Field::kEvtArg && c.arg != nullptr && c.arg->name == "flags" && c.op == Op::kContains) {
    if (c.numeric) return {NeedAlt(kAllModes, static_cast<uint64_t>(c.number))};
    if (c.flag_tokens)
      if (std::optional<uint64_t> bit = FlagBit(c.text)) return {NeedAlt(kAllModes, *bit)};
    return Top();
  }
  if (c.field == Field::kFdName || (c.field == Field::kEvtArg && path_arg)) {
    if (!path_arg) return Top();
    switch (c.op) {
      case Op::kEq:
        return FromExactPath(c.text);
      case Op::kIn:
      case Op::kIntersects:
        return AnyOf(c.strings, FromExactPath);
      case Op::kEndsWith: {
        std::string_view t = c.text;
        if (t.empty()) return Top();
        if (t.find('/') == std::string_view::npos) return {NameAlt(NK::kBasenameSuffix, t)};
        std::string_view last = Basename(t);
        return last.empty() ? Top() : Alts{NameAlt(NK::kBasename, last)};
      }
      case Op::kStartsWith:
        return FromPathPrefix(c.text);
      case Op::kGlob:
        return FromPathGlob(c.text);
      case Op::kPmatch: {
        if (!c.trie || c.trie->nodes[0].terminal) return Top();
        Alts out;
        // Every terminal node of the trie is a component prefix "/a/b".
        std::vector<std::pair<uint32_t, std::string>> stack{{0, ""}};
        while (!stack.empty()) {
          auto [n, path] = stack.back();
          stack.pop_back();
          for (const auto& [name, kid] : c.trie->nodes[n].kids) {
            std::string p = absl::StrCat(path, "/", name);
            if (c.trie->nodes[kid].terminal)
              out.push_back(PrefixAlt(p));
            else
              stack.emplace_back(kid, p);
          }
        }
        Alts globs = AnyOf(c.globs, [](const std::string& g) {
          return FromPathPrefix(g.substr(0, g.find_first_of("*?[\\")));
        });
        out.insert(out.end(), globs.begin(), globs.end());
        Dedupe(out);
        return out;
      }
      default:
        return Top();
    }
  }
  if (c.field == Field::kFdFilename && path_arg) {
    auto plain = [](std::string_view s) { return !s.empty() && s.find('/') == std::string_view::npos; };
    switch (c.op) {
      case Op::kEq:
        return plain(c.text) ? Alts{NameAlt(NK::kBasename, c.text)} : Top();
      case Op::kIn:
      case Op::kIntersects: {
        Alts out;
        for (const std::string& s : c.strings) {
          if (!plain(s)) return Top();
          out.push_back(NameAlt(NK::kBasename, s));
        }
        Dedupe(out);
        return out;
      }
      case Op::kStartsWith:
        return plain(c.text) ? Alts{NameAlt(NK::kBasenamePrefix, c.text)} : Top();
      case Op::kEndsWith:
        return plain(c.text) ? Alts{NameAlt(NK::kBasenameSuffix, c.text)} : Top();
      case Op::kGlob:
        return plain(c.text) && !HasGlobChars(c.text) ? Alts{NameAlt(NK::kBasename, c.text)} : Top();
      default:
        return Top();
    }
  }
  if (c.field == Field::kFdDirectory && path_arg) {
    // The parent's name; "/" (files at the root) is left to "anything".
    auto parent = [](std::string_view d) -> Alts {
      if (d.size() < 2 || d[0] != '/' || d.back() == '/') return Top();
      return {NameAlt(NK::kParentName, Basename(d))};
    };
    if (c.op == Op::kEq) return parent(c.text);
    if (c.op == Op::kIn || c.op == Op::kIntersects) return AnyOf(c.strings, parent);
    return Top();
  }
  return Top();
}

}  // namespace

FileOpenPrefilter BuildFileOpenPrefilter(const std::vector<const Compiled*>& trees,
                                         const std::string& pass_all_reason) {
  using P = FileOpenPrefilter;
  P out;
  if (!pass_all_reason.empty()) {
    out.reason = pass_all_reason;
    return out;
  }
  Alts all;
  for (const Compiled* t : trees) {
    Alts one = Reducer(*t).Reduce(OpenReducer::root(*t));
    all.insert(all.end(), one.begin(), one.end());
  }
  Dedupe(all);
  // What the kernel's tables cannot hold becomes "anything" with its need.
  std::map<std::pair<P::NameKind, size_t>, bool> lengths;
  size_t prefix_lens = 0, suffix_lens = 0;
  for (Alt& a : all) {
    if (a.key == Alt::kName) {
      bool affix = a.name_kind == P::NameKind::kBasenamePrefix || a.name_kind == P::NameKind::kBasenameSuffix;
      if (a.text.size() > P::kMaxName) {
        a.key = Alt::kAny;
      } else if (affix && !lengths.contains({a.name_kind, a.text.size()})) {
        size_t& used = a.name_kind == P::NameKind::kBasenamePrefix ? prefix_lens : suffix_lens;
        if (used == P::kMaxAffixLengths)
          a.key = Alt::kAny;
        else
          ++used, lengths[{a.name_kind, a.text.size()}] = true;
      }
    } else if (a.key == Alt::kPrefix) {
      // The kernel compares the first kPrefixComponents components.
      size_t comps = 0;
      for (size_t i = 0; i < a.text.size(); ++i)
        if (a.text[i] == '/' && ++comps > P::kPrefixComponents) {
          a.text.resize(i + 1);
          break;
        }
      if (a.text.size() > P::kMaxPrefix) a.text.resize(P::kMaxPrefix);
    }
  }
  out.pass_all = false;
  for (const Alt& a : all) {
    switch (a.key) {
      case Alt::kAny:
        out.any.Merge(a.need);
        break;
      case Alt::kName:
        out.names.push_back({a.name_kind, a.text, a.need});
        break;
      case Alt::kPrefix:
        out.prefixes.push_back({a.text, a.need});
        break;
    }
  }
  if (out.any.modes == kAllModes && out.any.flags == 0) {
    out = P{};
    out.reason = "a rule's condition on it has no file name, path prefix or open mode the kernel can test";
    return out;
  }
  // Merge duplicates created by cutting, then fold shorter prefixes into
  // longer ones: the kernel finds the longest one only.
  std::map<std::string, P::Need> prefixes;
  for (const P::Prefix& p : out.prefixes) prefixes[p.path].Merge(p.need);
  out.prefixes.clear();
  for (auto& [path, need] : prefixes) {
    P::Need merged = need;
    for (const auto& [other, n] : prefixes)
      if (other.size() < path.size() && path.starts_with(other)) merged.Merge(n);
    out.prefixes.push_back({path, merged});
  }
  std::map<std::pair<P::NameKind, std::string>, P::Need> names;
  for (const P::Name& n : out.names) names[{n.kind, n.text}].Merge(n.need);
  out.names.clear();
  for (auto& [k, need] : names) out.names.push_back({k.first, k.second, need});
  return out;
}

}  // namespace internal

}  // namespace vigil::rules

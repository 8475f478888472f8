#include "condition.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "vigil/events/event_ids.h"
#include "vigil/events/format.h"

namespace vigil::rules::internal {
namespace {

// ------------------------------------------------------------------ lexer

enum class Tok : uint8_t { kLParen, kRParen, kComma, kSym, kWord, kString, kEnd };

struct Token {
  Tok kind;
  std::string text;
  size_t offset;
};

bool IsWordChar(char c) {
  return !std::isspace(static_cast<unsigned char>(c)) && c != '(' && c != ')' && c != ',' && c != '"' &&
         c != '\'' && c != '=' && c != '<' && c != '>' && c != '!';
}

bool Lex(std::string_view s, std::vector<Token>& out, ParseError* err) {
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    size_t start = i;
    if (c == '(' || c == ')' || c == ',') {
      out.push_back({c == '(' ? Tok::kLParen : c == ')' ? Tok::kRParen : Tok::kComma, std::string(1, c), i});
      ++i;
    } else if (c == '"' || c == '\'') {
      std::string text;
      ++i;
      while (i < s.size() && s[i] != c) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        text += s[i++];
      }
      if (i >= s.size()) {
        *err = {start, std::string(s.substr(start, 20)), "unterminated string (missing closing quote)"};
        return false;
      }
      ++i;
      out.push_back({Tok::kString, std::move(text), start});
    } else if (c == '=' || c == '<' || c == '>' || c == '!') {
      std::string op(1, c);
      if (i + 1 < s.size() && s[i + 1] == '=') op += '=';
      if (op == "!") {
        *err = {start, "!", "expected '!=' (use 'not' for negation)"};
        return false;
      }
      i += op.size();
      out.push_back({Tok::kSym, std::move(op), start});
    } else {
      while (i < s.size() && IsWordChar(s[i])) ++i;
      out.push_back({Tok::kWord, std::string(s.substr(start, i - start)), start});
    }
  }
  out.push_back({Tok::kEnd, "", s.size()});
  return true;
}

bool WordOp(std::string_view w, Op& op) {
  static const std::pair<std::string_view, Op> kOps[] = {{"contains", Op::kContains},
                                                         {"icontains", Op::kIContains},
                                                         {"startswith", Op::kStartsWith},
                                                         {"endswith", Op::kEndsWith},
                                                         {"glob", Op::kGlob},
                                                         {"pmatch", Op::kPmatch},
                                                         {"in", Op::kIn},
                                                         {"intersects", Op::kIntersects},
                                                         {"exists", Op::kExists}};
  for (const auto& [name, o] : kOps)
    if (w == name) return op = o, true;
  return false;
}

bool SymOp(std::string_view w, Op& op) {
  if (w == "=" || w == "==") return op = Op::kEq, true;
  if (w == "!=") return op = Op::kNe, true;
  if (w == "<") return op = Op::kLt, true;
  if (w == "<=") return op = Op::kLe, true;
  if (w == ">") return op = Op::kGt, true;
  if (w == ">=") return op = Op::kGe, true;
  return false;
}

// ----------------------------------------------------------------- parser

class Parser {
 public:
  Parser(std::vector<Token> toks, const ParseContext& ctx, ParseError* err)
      : t_(std::move(toks)), ctx_(ctx), err_(err) {}

  AstPtr Run() {
    AstPtr a = Or();
    if (!a) return nullptr;
    if (Peek().kind != Tok::kEnd) return Fail("expected 'and', 'or' or the end of the condition");
    return a;
  }

 private:
  const Token& Peek() const { return t_[i_]; }
  const Token& Next() { return t_[i_ < t_.size() - 1 ? i_++ : i_]; }
  bool IsKeyword(std::string_view k) const { return Peek().kind == Tok::kWord && Peek().text == k; }
  AstPtr Fail(std::string msg) {
    if (!failed_) *err_ = {Peek().offset, Peek().text, std::move(msg)}, failed_ = true;
    return nullptr;
  }

  AstPtr Join(Ast::Kind kind, std::string_view keyword, AstPtr (Parser::*sub)()) {
    AstPtr first = (this->*sub)();
    if (!first) return nullptr;
    if (!IsKeyword(keyword)) return first;
    auto node = std::make_shared<Ast>();
    node->kind = kind;
    node->offset = first->offset;
    node->kids.push_back(first);
    while (IsKeyword(keyword)) {
      Next();
      AstPtr k = (this->*sub)();
      if (!k) return nullptr;
      node->kids.push_back(k);
    }
    return node;
  }
  AstPtr Or() { return Join(Ast::kOr, "or", &Parser::And); }
  AstPtr And() { return Join(Ast::kAnd, "and", &Parser::Not); }
  AstPtr Not() {
    if (!IsKeyword("not")) return Primary();
    size_t at = Next().offset;
    AstPtr k = Not();
    if (!k) return nullptr;
    auto node = std::make_shared<Ast>();
    node->kind = Ast::kNot;
    node->offset = at;
    node->kids.push_back(k);
    return node;
  }

  AstPtr Primary() {
    const Token& tok = Peek();
    if (tok.kind == Tok::kLParen) {
      Next();
      AstPtr a = Or();
      if (!a) return nullptr;
      if (Peek().kind != Tok::kRParen) return Fail("expected ')'");
      Next();
      return a;
    }
    if (tok.kind != Tok::kWord || tok.text == "and" || tok.text == "or")
      return Fail("expected a field, a macro, 'not' or '('");
    Field field;
    std::string arg, field_error;
    int index = -1;
    if (!ParseField(tok.text, field, arg, index, field_error)) {
      if (!field_error.empty()) return Fail(field_error);
      AstPtr m = ctx_.macro ? ctx_.macro(tok.text) : nullptr;
      if (!m) {
        if (ctx_.list && ctx_.list(tok.text))
          return Fail(absl::StrCat("list '", tok.text, "' used where a condition was expected"));
        return Fail(absl::StrCat("unknown macro '", tok.text, "'"));
      }
      Next();
      return m;
    }
    auto node = std::make_shared<Ast>();
    node->kind = Ast::kCheck;
    node->field = field;
    node->field_text = tok.text;
    node->arg = arg;
    node->index = index;
    node->offset = tok.offset;
    Next();
    const Token& optok = Peek();
    Op op;
    if (!((optok.kind == Tok::kSym && SymOp(optok.text, op)) ||
          (optok.kind == Tok::kWord && WordOp(optok.text, op))))
      return Fail(absl::StrCat("expected an operator after '", node->field_text,
                               "' (=, !=, <, <=, >, >=, contains, icontains, startswith, endswith, glob, "
                               "pmatch, in, intersects, exists)"));
    Next();
    node->op = op;
    if (op == Op::kExists) return node;
    if (op == Op::kIn || op == Op::kIntersects || op == Op::kPmatch) {
      if (Peek().kind == Tok::kWord) {
        const std::vector<std::string>* l = ctx_.list ? ctx_.list(Peek().text) : nullptr;
        if (!l) return Fail(absl::StrCat("unknown list '", Peek().text, "' (or write the values as (a, b))"));
        node->values = *l;
        Next();
        return node;
      }
      if (Peek().kind != Tok::kLParen) return Fail("expected '(' or a list name");
      Next();
      while (Peek().kind != Tok::kRParen) {
        const Token& v = Peek();
        if (v.kind == Tok::kWord) {
          const std::vector<std::string>* l = ctx_.list ? ctx_.list(v.text) : nullptr;
          if (l)
            node->values.insert(node->values.end(), l->begin(), l->end());
          else
            node->values.push_back(v.text);
        } else if (v.kind == Tok::kString) {
          node->values.push_back(v.text);
        } else {
          return Fail("expected a value or ')'");
        }
        Next();
        if (Peek().kind == Tok::kComma) {
          Next();
          continue;
        }
        if (Peek().kind != Tok::kRParen) return Fail("expected ',' or ')'");
      }
      Next();
      return node;
    }
    if (IsKeyword("val") && t_[i_ + 1].kind == Tok::kLParen) {
      Next(), Next();
      const Token& f = Peek();
      auto rhs = std::make_shared<Ast>();
      std::string ferr;
      if (f.kind != Tok::kWord || !ParseField(f.text, rhs->field, rhs->arg, rhs->index, ferr))
        return Fail(ferr.empty() ? "expected a field in val()" : ferr);
      rhs->field_text = f.text;
      rhs->offset = f.offset;
      Next();
      if (Peek().kind != Tok::kRParen) return Fail("expected ')' to close val(");
      Next();
      node->rhs = rhs;
      return node;
    }
    const Token& v = Peek();
    if (node->field == Field::kEvtDir && v.kind == Tok::kSym && (v.text == "<" || v.text == ">")) {
      node->values.push_back(v.text);  // evt.dir = < (Falco: the exit of a syscall)
      Next();
      return node;
    }
    if (v.kind != Tok::kWord && v.kind != Tok::kString)
      return Fail(absl::StrCat("expected a value after '", optok.text, "'"));
    if (v.kind == Tok::kWord && (v.text == "and" || v.text == "or" || v.text == "not"))
      return Fail(absl::StrCat("expected a value after '", optok.text, "'"));
    node->values.push_back(v.text);
    Next();
    return node;
  }

  std::vector<Token> t_;
  size_t i_ = 0;
  const ParseContext& ctx_;
  ParseError* err_;
  bool failed_ = false;
};

// ------------------------------------------------------------- matching

bool GlobMatch(std::string_view p, std::string_view s) {
  size_t pi = 0, si = 0, star = std::string_view::npos, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && p[pi] == '[') {
      size_t end = p.find(']', pi + 1);
      if (end != std::string_view::npos) {
        bool neg = pi + 1 < end && (p[pi + 1] == '!' || p[pi + 1] == '^');
        bool hit = false;
        for (size_t k = pi + 1 + neg; k < end; ++k) {
          if (k + 2 < end && p[k + 1] == '-') {
            hit |= s[si] >= p[k] && s[si] <= p[k + 2];
            k += 2;
          } else {
            hit |= s[si] == p[k];
          }
        }
        if (hit != neg) {
          pi = end + 1, ++si;
          continue;
        }
      }
    } else if (pi < p.size() && (p[pi] == '?' || p[pi] == s[si])) {
      ++pi, ++si;
      continue;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++, mark = si;
      continue;
    }
    if (star == std::string_view::npos) return false;
    pi = star + 1, si = ++mark;
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

bool IContains(std::string_view hay, std::string_view lower_needle) {
  if (lower_needle.empty()) return true;
  if (hay.size() < lower_needle.size()) return false;
  for (size_t i = 0; i + lower_needle.size() <= hay.size(); ++i) {
    size_t k = 0;
    while (k < lower_needle.size() &&
           absl::ascii_tolower(static_cast<unsigned char>(hay[i + k])) == lower_needle[k])
      ++k;
    if (k == lower_needle.size()) return true;
  }
  return false;
}

// Debian's abseil has its own string_view: lookups in its tables take that one.
absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

bool ToInt(std::string_view s, int64_t& out) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool HasGlob(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

// Flag renderings ("O_WRONLY|O_TRUNC"): does a '|' token equal `t`?
bool HasToken(std::string_view s, std::string_view t) {
  while (!s.empty()) {
    size_t bar = s.find('|');
    if (s.substr(0, bar) == t) return true;
    if (bar == std::string_view::npos) break;
    s.remove_prefix(bar + 1);
  }
  return false;
}

// The comparisons numbers and strings share (= != < <= > >=); nullopt for
// any other operator.
template <typename T>
std::optional<bool> Ordered(Op op, const T& l, const T& r) {
  switch (op) {
    case Op::kEq:
      return l == r;
    case Op::kNe:
      return l != r;
    case Op::kLt:
      return l < r;
    case Op::kLe:
      return l <= r;
    case Op::kGt:
      return l > r;
    case Op::kGe:
      return l >= r;
    default:
      return std::nullopt;
  }
}

bool MatchString(const Check& c, std::string_view s) {
  if (std::optional<bool> b = Ordered(c.op, s, std::string_view(c.text))) return *b;
  switch (c.op) {
    case Op::kContains:
      return c.flag_tokens ? HasToken(s, c.text) : (s.find(c.text) != std::string_view::npos);
    case Op::kIContains:
      return IContains(s, c.text);
    case Op::kStartsWith:
      return s.starts_with(c.text);
    case Op::kEndsWith:
      return s.ends_with(c.text);
    case Op::kGlob:
      return GlobMatch(c.text, s);
    case Op::kIn:
    case Op::kIntersects:
      if (c.flag_tokens) {
        while (!s.empty()) {
          size_t bar = s.find('|');
          if (c.strings.contains(AV(s.substr(0, bar)))) return true;
          if (bar == std::string_view::npos) break;
          s.remove_prefix(bar + 1);
        }
        return false;
      }
      return c.strings.contains(AV(s));
    case Op::kPmatch: {
      if (c.trie && c.trie->MatchesPrefixOf(s)) return true;
      for (const std::string& g : c.globs) {
        if (GlobMatch(g, s)) return true;
        for (size_t slash = s.find('/', 1); slash != std::string_view::npos; slash = s.find('/', slash + 1))
          if (GlobMatch(g, s.substr(0, slash))) return true;
      }
      return false;
    }
    case Op::kExists:
      return true;
  }
  return false;
}

bool MatchNumber(const Check& c, int64_t v) {
  if (std::optional<bool> b = Ordered(c.op, v, c.number)) return *b;
  switch (c.op) {
    case Op::kContains:
      return (v & c.number) == c.number;  // flags: every bit set
    case Op::kIn:
    case Op::kIntersects:
      return c.numbers.contains(v);
    case Op::kExists:
      return true;
    default:
      return false;
  }
}

// ----------------------------------------------------------- field values

struct Val {
  enum Kind : uint8_t { kNone, kInt, kStr, kList };
  Kind kind = kNone;
  int64_t i = 0;
  std::string_view s;
  const std::vector<std::string>* list = nullptr;
  size_t from = 0;
};

const events::Arg* FindArg(const events::Event& e, const Check& c) { return e.ArgAt(c.arg_index); }

// A typed argument as a check reads it: numbers as numbers; for a text
// check on an integer its format names (flags, modes...), the rendering.
Val ArgVal(const Check& c, EvalContext& ctx) {
  Val v;
  const events::Arg* a = FindArg(*ctx.e, c);
  if (a == nullptr) return v;
  const events::Value* value = &a->value;
  if (!c.numeric && std::holds_alternative<uint64_t>(*value) && events::RendersInteger(a->def->format))
    value = &events::Rendered(*a);
  if (const auto* s = std::get_if<std::string>(value)) {
    v.kind = Val::kStr, v.s = *s;
  } else if (std::optional<int64_t> i = events::IntegerOf(*value)) {
    v.kind = Val::kInt, v.i = *i;
  } else if (const auto* l = std::get_if<std::vector<std::string>>(value)) {
    v.kind = Val::kList, v.list = l;
  }
  return v;
}

std::string_view SockField(const events::Arg& a, std::string_view k4, std::string_view k6) {
  const auto* f = std::get_if<events::Fields>(&a.value);
  if (!f) return {};
  for (const auto& [k, v] : *f)
    if (k == k4 || k == k6) return v;
  return {};
}

std::string_view Basename(std::string_view p) {
  size_t slash = p.rfind('/');
  return slash == std::string_view::npos ? p : p.substr(slash + 1);
}
std::string_view Dirname(std::string_view p) {
  size_t slash = p.rfind('/');
  if (slash == std::string_view::npos) return {};
  return slash == 0 ? p.substr(0, 1) : p.substr(0, slash);
}

const std::vector<std::string>* ExecArgv(EvalContext& ctx) {
  const events::Event& e = *ctx.e;
  if (e.def && e.def->id == events::kSchedProcessExec)
    if (const events::Arg* a = ctx.exec_argv.Get(e))
      if (const auto* l = std::get_if<std::vector<std::string>>(&a->value)) return l;
  return nullptr;
}

void PrepareArgs(EvalContext& ctx) {
  if (ctx.args_ready) return;
  ctx.args_ready = true;
  ctx.args.clear();
  const std::vector<std::string>* argv = ExecArgv(ctx);
  if (!argv) argv = ctx.lookup->Argv(ctx.e->host_pid);
  if (argv)
    for (size_t k = 1; k < argv->size(); ++k) {
      if (k > 1) ctx.args += ' ';
      ctx.args += (*argv)[k];
    }
  ctx.cmdline.assign(ctx.e->comm);
  if (!ctx.args.empty()) ctx.cmdline.append(" ").append(ctx.args);
}

std::string_view Exe(EvalContext& ctx) {
  const events::Event& e = *ctx.e;
  if (!e.executable.empty()) return e.executable;
  if (e.def && e.def->id == events::kSchedProcessExec)
    if (const events::Arg* a = ctx.exec_pathname.Get(e))
      if (const auto* s = std::get_if<std::string>(&a->value)) return *s;
  return {};
}

Val Extract(const Check& c, EvalContext& ctx) {
  const events::Event& e = *ctx.e;
  Val v;
  auto str = [&](std::string_view s) { v.kind = Val::kStr, v.s = s; };
  auto num = [&](int64_t i) { v.kind = Val::kInt, v.i = i; };
  switch (c.field) {
    case Field::kEvtName:
      if (e.def) str(e.def->name);
      break;
    case Field::kEvtId:
      if (e.def) num(e.def->id);
      break;
    case Field::kEvtRetval:
      num(e.retval);
      break;
    case Field::kEvtHostname:
      str(e.host_name);
      break;
    case Field::kEvtDir:
      str(e.def && e.def->emit_at_entry ? ">" : "<");
      break;
    case Field::kEvtArg:
      v = ArgVal(c, ctx);
      break;
    case Field::kProcName:
      str(e.comm);
      break;
    case Field::kProcExe:
      str(Exe(ctx));
      break;
    case Field::kProcArgs:
      PrepareArgs(ctx), str(ctx.args);
      break;
    case Field::kProcCmdline:
      PrepareArgs(ctx), str(ctx.cmdline);
      break;
    case Field::kProcPid:
      num(e.pid);
      break;
    case Field::kProcPpid:
      num(e.ppid);
      break;
    case Field::kProcTid:
      num(e.tid);
      break;
    case Field::kProcPname:
    case Field::kProcPexe: {
      ProcessView p;
      if (c.field == Field::kProcPname && !e.parent_comm.empty())
        str(e.parent_comm);
      else if (ctx.lookup->Ancestor(e.host_pid, 1, p))
        str(c.field == Field::kProcPname ? p.comm : p.exe);
      break;
    }
    case Field::kProcAname:
    case Field::kProcAexe: {
      if (c.index == 0) {
        str(c.field == Field::kProcAname ? std::string_view(e.comm) : Exe(ctx));
        break;
      }
      ProcessView p;
      if (ctx.lookup->Ancestor(e.host_pid, c.index, p)) str(c.field == Field::kProcAname ? p.comm : p.exe);
      break;
    }
    case Field::kUserUid:
    case Field::kUserEuid:
      num(e.uid);
      break;
    case Field::kContainerId:
      str(e.container_id.empty() ? std::string_view("host") : e.container_id);
      break;
    case Field::kFdName:
    case Field::kFdDirectory:
    case Field::kFdFilename: {
      const events::Arg* a = FindArg(e, c);
      if (!a) break;
      std::string_view path;
      if (const auto* s = std::get_if<std::string>(&a->value))
        path = *s;
      else
        path = SockField(*a, "sun_path", "sun_path");
      if (path.empty() && !std::holds_alternative<std::string>(a->value)) break;
      str(c.field == Field::kFdName ? path : c.field == Field::kFdDirectory ? Dirname(path) : Basename(path));
      break;
    }
    case Field::kIsOpenWrite:
    case Field::kIsOpenRead: {
      const events::Arg* a = FindArg(e, c);
      if (!a) break;
      int acc = static_cast<int>(a->Integer().value_or(0) & 3);
      num(c.field == Field::kIsOpenWrite ? (acc == 1 || acc == 2) : (acc == 0 || acc == 2));
      break;
    }
    case Field::kFdRip:
    case Field::kFdLip: {
      const events::Arg* a = FindArg(e, c);
      if (a) {
        std::string_view ip = SockField(*a, "sin_addr", "sin6_addr");
        if (!ip.empty()) str(ip);
      }
      break;
    }
    case Field::kFdRport:
    case Field::kFdLport: {
      const events::Arg* a = FindArg(e, c);
      int64_t port;
      if (a && ToInt(SockField(*a, "sin_port", "sin6_port"), port)) num(port);
      break;
    }
    case Field::kFdL4proto: {
      const events::Arg* a = FindArg(e, c);
      if (const auto* s = a ? std::get_if<std::string>(&events::Rendered(*a)) : nullptr)
        str(HasToken(*s, "SOCK_STREAM")  ? "tcp"
            : HasToken(*s, "SOCK_DGRAM") ? "udp"
            : HasToken(*s, "SOCK_RAW")   ? "raw"
                                         : "");
      break;
    }
    case Field::kFdRdomain:
      str("");
      break;  // no DNS enrichment yet
  }
  return v;
}

bool MatchVal(const Check& c, const Val& v) {
  switch (v.kind) {
    case Val::kNone:
      return false;
    case Val::kInt:
      return c.numeric && MatchNumber(c, v.i);
    case Val::kStr:
      return !c.numeric && MatchString(c, v.s);
    case Val::kList: {
      if (c.op == Op::kExists) return true;
      if (c.numeric) return false;
      if (c.op == Op::kNe) {
        // != on a list: no element equals.
        for (size_t k = v.from; k < v.list->size(); ++k)
          if ((*v.list)[k] == c.text) return false;
        return true;
      }
      for (size_t k = v.from; k < v.list->size(); ++k)
        if (MatchString(c, (*v.list)[k])) return true;
      return false;
    }
  }
  return false;
}

bool CompareVals(Op op, const Val& l, const Val& r) {
  if (l.kind == Val::kInt && r.kind == Val::kInt) return Ordered(op, l.i, r.i).value_or(false);
  if (l.kind != Val::kStr || r.kind != Val::kStr) return false;
  if (std::optional<bool> b = Ordered(op, l.s, r.s)) return *b;
  switch (op) {
    case Op::kContains:
      return l.s.find(r.s) != std::string_view::npos;
    case Op::kStartsWith:
      return l.s.starts_with(r.s);
    case Op::kEndsWith:
      return l.s.ends_with(r.s);
    default:
      return false;
  }
}

bool RunCheck(const Check& c, EvalContext& ctx) {
  if (c.rhs) return CompareVals(c.op, Extract(c, ctx), Extract(*c.rhs, ctx));
  if (c.index < 0 && (c.field == Field::kProcAname || c.field == Field::kProcAexe)) {
    // Any ancestor (Falco's proc.aname without index), up to 32 levels.
    ProcessView p;
    bool any = false;
    for (int n = 1; n <= 32 && ctx.lookup->Ancestor(ctx.e->host_pid, n, p); ++n) {
      std::string_view s = c.field == Field::kProcAname ? p.comm : p.exe;
      if (c.op == Op::kNe ? s == c.text : c.op == Op::kExists || MatchString(c, s)) {
        any = true;
        break;
      }
    }
    return c.op == Op::kNe ? !any : any;
  }
  Val v = Extract(c, ctx);
  if (c.op == Op::kExists) return v.kind != Val::kNone;
  return MatchVal(c, v);
}

// ---------------------------------------------------------- compilation

bool IsNumericField(Field f) {
  switch (f) {
    case Field::kEvtId:
    case Field::kEvtRetval:
    case Field::kProcPid:
    case Field::kProcPpid:
    case Field::kProcTid:
    case Field::kUserUid:
    case Field::kUserEuid:
    case Field::kFdRport:
    case Field::kFdLport:
    case Field::kIsOpenWrite:
    case Field::kIsOpenRead:
      return true;
    default:
      return false;
  }
}

bool IsFlagFormat(events::ArgFormat f) {
  using F = events::ArgFormat;
  return f == F::kOpenFlags || f == F::kMode || f == F::kProt || f == F::kCloneFlags || f == F::kAccessMode ||
         f == F::kSocketType || f == F::kNamespaceFlags || f == F::kMmapFlags;
}
bool IsIntegerFormat(events::ArgFormat f) {
  using F = events::ArgFormat;
  return f == F::kInt || f == F::kUint || f == F::kDirfd || f == F::kBool || f == F::kHex;
}
bool HasRawInteger(events::ArgFormat f) {
  using F = events::ArgFormat;
  return f != F::kString && f != F::kStringArray && f != F::kArgvBlob && f != F::kBytes &&
         f != F::kSockaddr && f != F::kCapabilitySet;
}

bool ParseNumber(std::string_view s, int64_t& out) {
  if (s == "true") return out = 1, true;
  if (s == "false") return out = 0, true;
  if (s.starts_with("0x")) {
    uint64_t u;
    auto r = std::from_chars(s.data() + 2, s.data() + s.size(), u, 16);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size() || s.size() == 2) return false;
    out = static_cast<int64_t>(u);
    return true;
  }
  return ToInt(s, out);
}

// The argument that holds "the file" or "the socket" of an event type.
int FileArg(const events::EventDef& def) {
  static const char* kRenameLike[] = {"new_path", "newname", "newpath"};
  bool rename_like =
      def.name.find("rename") != std::string::npos || def.name.find("link") != std::string::npos;
  if (rename_like && def.name.find("unlink") == std::string::npos)
    for (const char* n : kRenameLike)
      if (int i = def.ArgIndex(n); i >= 0) return i;
  for (const char* n : {"pathname", "path", "filename"})
    if (int i = def.ArgIndex(n); i >= 0 && def.args[i].format == events::ArgFormat::kString) return i;
  for (const char* n : {"remote_addr", "addr", "local_addr"})
    if (int i = def.ArgIndex(n); i >= 0 && def.args[i].format == events::ArgFormat::kSockaddr) return i;
  return -1;
}
int SockArg(const events::EventDef& def, bool remote) {
  static const std::vector<std::string_view> kRemote = {"remote_addr", "addr", "dst", "dest_addr"};
  static const std::vector<std::string_view> kLocal = {"local_addr", "src"};
  for (std::string_view n : remote ? kRemote : kLocal)
    if (int i = def.ArgIndex(n); i >= 0 && def.args[i].format == events::ArgFormat::kSockaddr) return i;
  return -1;
}

}  // namespace

void PathTrie::Add(std::string_view path) {
  uint32_t n = 0;
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    if (part.empty()) continue;
    auto it = nodes[n].kids.find(AV(part));
    if (it == nodes[n].kids.end()) {
      nodes.emplace_back();
      it = nodes[n].kids.emplace(std::string(part), static_cast<uint32_t>(nodes.size() - 1)).first;
    }
    n = it->second;
  }
  nodes[n].terminal = true;
}

bool PathTrie::MatchesPrefixOf(std::string_view path) const {
  uint32_t n = 0;
  if (nodes[0].terminal) return true;
  while (!path.empty()) {
    while (!path.empty() && path.front() == '/') path.remove_prefix(1);
    if (path.empty()) break;
    size_t slash = path.find('/');
    auto it = nodes[n].kids.find(AV(path.substr(0, slash)));
    if (it == nodes[n].kids.end()) return false;
    n = it->second;
    if (nodes[n].terminal) return true;
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash);
  }
  return false;
}

bool ParseField(std::string_view t, Field& f, std::string& arg, int& index, std::string& error) {
  static const std::pair<std::string_view, Field> kPlain[] = {
      {"evt.name", Field::kEvtName},
      {"evt.type", Field::kEvtName},
      {"evt.id", Field::kEvtId},
      {"evt.retval", Field::kEvtRetval},
      {"evt.res", Field::kEvtRetval},
      {"evt.hostname", Field::kEvtHostname},
      {"evt.dir", Field::kEvtDir},
      {"evt.is_open_write", Field::kIsOpenWrite},
      {"evt.is_open_read", Field::kIsOpenRead},
      {"proc.name", Field::kProcName},
      {"proc.exe", Field::kProcExe},
      {"proc.exepath", Field::kProcExe},
      {"proc.args", Field::kProcArgs},
      {"proc.cmdline", Field::kProcCmdline},
      {"proc.pid", Field::kProcPid},
      {"proc.ppid", Field::kProcPpid},
      {"proc.tid", Field::kProcTid},
      {"thread.tid", Field::kProcTid},
      {"proc.pname", Field::kProcPname},
      {"proc.pexe", Field::kProcPexe},
      {"proc.pexepath", Field::kProcPexe},
      {"proc.aname", Field::kProcAname},
      {"proc.aexe", Field::kProcAexe},
      {"proc.aexepath", Field::kProcAexe},
      {"user.uid", Field::kUserUid},
      {"user.euid", Field::kUserEuid},
      {"container.id", Field::kContainerId},
      {"fd.name", Field::kFdName},
      {"fd.directory", Field::kFdDirectory},
      {"fd.filename", Field::kFdFilename},
      {"fd.rip", Field::kFdRip},
      {"fd.rport", Field::kFdRport},
      {"fd.lip", Field::kFdLip},
      {"fd.lport", Field::kFdLport},
      {"fd.l4proto", Field::kFdL4proto},
      {"fd.rdomain", Field::kFdRdomain},
  };
  index = -1;
  arg.clear();
  error.clear();
  std::string_view base = t;
  std::string_view bracket;
  if (size_t b = t.find('['); b != std::string_view::npos) {
    if (!t.ends_with(']')) {
      error = absl::StrCat("field '", std::string(t), "': expected ']'");
      return false;
    }
    base = t.substr(0, b);
    bracket = t.substr(b + 1, t.size() - b - 2);
  }
  if (base == "evt.arg" && !bracket.empty()) return f = Field::kEvtArg, arg = bracket, true;
  if (t.starts_with("evt.arg.") && t.size() > 8 && bracket.empty())
    return f = Field::kEvtArg, arg = t.substr(8), true;
  if (t.starts_with("data.") && t.size() > 5 && bracket.empty())
    return f = Field::kEvtArg, arg = t.substr(5), true;
  for (const auto& [name, field] : kPlain) {
    if (base != name) continue;
    f = field;
    if (!bracket.empty()) {
      if (f != Field::kProcAname && f != Field::kProcAexe) {
        error = absl::StrCat("field '", std::string(base), "' takes no [index]");
        return false;
      }
      int64_t n;
      if (!ToInt(bracket, n) || n < 0 || n > 64) {
        error = absl::StrCat("field '", std::string(t), "': the index must be a number from 0 to 64");
        return false;
      }
      index = static_cast<int>(n);
    }
    return true;
  }
  if (t.find('.') != std::string_view::npos && !t.starts_with('/') &&
      std::isalpha(static_cast<unsigned char>(t[0])))
    error = absl::StrCat("unknown field '", std::string(t), "'");
  return false;
}

absl::StatusOr<AstPtr> Parse(std::string_view text, const ParseContext& ctx, ParseError* error) {
  std::vector<Token> toks;
  if (!Lex(text, toks, error)) return absl::InvalidArgumentError(error->message);
  if (toks.size() == 1) {
    *error = {0, "", "empty condition"};
    return absl::InvalidArgumentError(error->message);
  }
  Parser p(std::move(toks), ctx, error);
  AstPtr a = p.Run();
  if (!a) return absl::InvalidArgumentError(error->message);
  return a;
}

struct Builder {
  Compiled& out;
  const events::EventDef& def;
  std::vector<const Ast*>* unknown_args;
  const Ast* error_at = nullptr;
  std::string error;

  uint32_t Const(bool v) {
    out.nodes_.push_back({v ? Node::kTrue : Node::kFalse});
    return static_cast<uint32_t>(out.nodes_.size() - 1);
  }
  Node::Kind KindOf(uint32_t n) const { return out.nodes_[n].kind; }

  bool Fail(const Ast& a, std::string msg) {
    if (!error_at) error_at = &a, error = std::move(msg);
    return false;
  }

  // Fills the check's literals; false on a type error.
  bool Literals(const Ast& a, Check& c) {
    bool list_op = a.op == Op::kIn || a.op == Op::kIntersects;
    if (c.numeric) {
      if (a.op == Op::kStartsWith || a.op == Op::kEndsWith || a.op == Op::kGlob || a.op == Op::kIContains ||
          a.op == Op::kPmatch || (a.op == Op::kContains && !c.flag_tokens && c.arg == nullptr))
        return Fail(a, absl::StrCat("operator not valid on the numeric field '", a.field_text, "'"));
      for (const std::string& v : a.values) {
        int64_t n;
        if (!ParseNumber(v, n))
          return Fail(a, absl::StrCat("'", a.field_text, "' is a number, not '", v, "'"));
        if (list_op)
          c.numbers.insert(n);
        else
          c.number = n;
      }
      return true;
    }
    if (list_op) {
      for (const std::string& v : a.values) c.strings.insert(v);
    } else if (a.op == Op::kPmatch) {
      c.trie = std::make_unique<PathTrie>();
      for (const std::string& v : a.values) {
        if (HasGlob(v))
          c.globs.push_back(v);
        else
          c.trie->Add(v);
      }
    } else if (!a.values.empty()) {
      c.text = a.op == Op::kIContains ? absl::AsciiStrToLower(a.values[0]) : a.values[0];
    }
    return true;
  }

  std::optional<uint32_t> Compile(const Ast& a) {
    if (a.kind == Ast::kNot) {
      auto k = Compile(*a.kids[0]);
      if (!k) return std::nullopt;
      if (KindOf(*k) == Node::kTrue) return Const(false);
      if (KindOf(*k) == Node::kFalse) return Const(true);
      out.nodes_.push_back({Node::kNot});
      uint32_t self = static_cast<uint32_t>(out.nodes_.size() - 1);
      out.nodes_[self].first = static_cast<uint32_t>(out.kids_.size());
      out.nodes_[self].count = 1;
      out.kids_.push_back(*k);
      return self;
    }
    if (a.kind == Ast::kAnd || a.kind == Ast::kOr) {
      bool is_and = a.kind == Ast::kAnd;
      std::vector<uint32_t> kids;
      for (const AstPtr& k : a.kids) {
        auto c = Compile(*k);
        if (!c) return std::nullopt;
        Node::Kind kk = KindOf(*c);
        if (kk == (is_and ? Node::kFalse : Node::kTrue)) {
          // Still compile the rest for errors, then fold.
          for (size_t r = &k - &a.kids[0] + 1; r < a.kids.size(); ++r)
            if (!Compile(*a.kids[r])) return std::nullopt;
          return Const(!is_and);
        }
        if (kk == (is_and ? Node::kTrue : Node::kFalse)) continue;
        kids.push_back(*c);
      }
      if (kids.empty()) return Const(is_and);
      if (kids.size() == 1) return kids[0];
      out.nodes_.push_back({is_and ? Node::kAnd : Node::kOr});
      uint32_t self = static_cast<uint32_t>(out.nodes_.size() - 1);
      out.nodes_[self].first = static_cast<uint32_t>(out.kids_.size());
      out.nodes_[self].count = static_cast<uint32_t>(kids.size());
      out.kids_.insert(out.kids_.end(), kids.begin(), kids.end());
      return self;
    }
    // A check.
    auto c = std::make_unique<Check>();
    if (!Bind(a, *c)) return Const(false);
    if (a.rhs) {
      c->rhs = std::make_unique<Check>();
      if (!Bind(*a.rhs, *c->rhs)) return Const(false);
      c->rhs->op = Op::kExists;
      if (a.field == Field::kEvtName || a.field == Field::kEvtId || a.field == Field::kEvtDir ||
          a.rhs->field == Field::kEvtName || a.rhs->field == Field::kEvtId || a.rhs->field == Field::kEvtDir)
        return Fail(a, "val(): evt.name, evt.id and evt.dir cannot be compared with another field"),
               std::nullopt;
      out.checks_.push_back(std::move(c));
      out.nodes_.push_back({Node::kCheck});
      out.nodes_.back().check = static_cast<uint32_t>(out.checks_.size() - 1);
      return static_cast<uint32_t>(out.nodes_.size() - 1);
    }
    if (!Literals(a, *c)) return std::nullopt;
    // Known for this event type: fold.
    if (a.field == Field::kEvtName) {
      Val v;
      v.kind = Val::kStr;
      v.s = def.name;
      return Const(a.op == Op::kExists || MatchVal(*c, v));
    }
    if (a.field == Field::kEvtId) return Const(a.op == Op::kExists || MatchNumber(*c, def.id));
    if (a.field == Field::kEvtDir) {
      Val v;
      v.kind = Val::kStr;
      v.s = def.emit_at_entry ? ">" : "<";  // vigil emits syscalls at their exit
      return Const(a.op == Op::kExists || MatchVal(*c, v));
    }
    out.checks_.push_back(std::move(c));
    out.nodes_.push_back({Node::kCheck});
    out.nodes_.back().check = static_cast<uint32_t>(out.checks_.size() - 1);
    return static_cast<uint32_t>(out.nodes_.size() - 1);
  }

  // Binds a check's field to this event type; false when the event has no such value.
  bool Bind(const Ast& a, Check& check) {
    Check* c = &check;
    c->field = a.field;
    c->op = a.op;
    c->index = a.index;
    c->numeric = IsNumericField(a.field);
    auto bind = [&](int i) {
      if (i < 0) return false;
      c->arg_index = i;
      c->arg = &def.args[i];
      return true;
    };
    switch (a.field) {
      case Field::kEvtArg: {
        if (!bind(def.ArgIndex(a.arg))) {
          if (unknown_args) unknown_args->push_back(&a);
          return false;
        }
        events::ArgFormat f = c->arg->format;
        bool all_numbers =
            !a.values.empty() && std::all_of(a.values.begin(), a.values.end(), [](const std::string& v) {
              int64_t n;
              return ParseNumber(v, n);
            });
        if (IsIntegerFormat(f))
          c->numeric = true;
        else if (HasRawInteger(f) && all_numbers)
          c->numeric = true;
        c->flag_tokens = !c->numeric && IsFlagFormat(f);
        break;
      }
      case Field::kFdName:
      case Field::kFdDirectory:
      case Field::kFdFilename:
        if (!bind(FileArg(def))) return false;
        break;
      case Field::kIsOpenWrite:
      case Field::kIsOpenRead: {
        int i = def.ArgIndex("flags");
        if (i < 0 || def.args[i].format != events::ArgFormat::kOpenFlags) return false;
        bind(i);
        break;
      }
      case Field::kFdRip:
      case Field::kFdRport:
      case Field::kFdL4proto:
        if (a.field == Field::kFdL4proto) {
          int i = def.ArgIndex("type");
          if (i < 0 || def.args[i].format != events::ArgFormat::kSocketType) return false;
          bind(i);
        } else if (!bind(SockArg(def, true))) {
          return false;
        }
        break;
      case Field::kFdLip:
      case Field::kFdLport:
        if (!bind(SockArg(def, false))) return false;
        break;
      default:
        break;
    }
    return true;
  }
};

absl::StatusOr<Compiled> Compiled::Build(const Ast& ast, const events::EventDef& def,
                                         std::vector<const Ast*>* unknown_args) {
  Compiled out;
  Builder b{out, def, unknown_args};
  auto root = b.Compile(ast);
  if (!root)
    return absl::InvalidArgumentError(
        absl::StrCat(b.error_at->offset, "\x1f", b.error_at->field_text, "\x1f", b.error));
  out.root_ = *root;
  return out;
}

bool Compiled::EvalNode(uint32_t n, EvalContext& ctx) const {
  const Node& node = nodes_[n];
  switch (node.kind) {
    case Node::kTrue:
      return true;
    case Node::kFalse:
      return false;
    case Node::kCheck:
      return RunCheck(*checks_[node.check], ctx);
    case Node::kNot:
      return !EvalNode(kids_[node.first], ctx);
    case Node::kAnd:
      for (uint32_t k = 0; k < node.count; ++k)
        if (!EvalNode(kids_[node.first + k], ctx)) return false;
      return true;
    case Node::kOr:
      for (uint32_t k = 0; k < node.count; ++k)
        if (EvalNode(kids_[node.first + k], ctx)) return true;
      return false;
  }
  return false;
}

std::string Compiled::Render(Field field, const events::EventDef& def, std::string_view arg, int index,
                             EvalContext& ctx) {
  Check c;
  c.field = field;
  c.index = index < 0 && (field == Field::kProcAname || field == Field::kProcAexe) ? 1 : index;
  c.op = Op::kExists;
  int i = -1;
  switch (field) {
    case Field::kEvtArg:
      i = def.ArgIndex(arg);
      break;
    case Field::kFdName:
    case Field::kFdDirectory:
    case Field::kFdFilename:
      i = FileArg(def);
      break;
    case Field::kIsOpenRead:
    case Field::kIsOpenWrite:
      i = def.ArgIndex("flags");
      break;
    case Field::kFdRip:
    case Field::kFdRport:
      i = SockArg(def, true);
      break;
    case Field::kFdLip:
    case Field::kFdLport:
      i = SockArg(def, false);
      break;
    case Field::kFdL4proto:
      i = def.ArgIndex("type");
      break;
    default:
      break;
  }
  if (i >= 0)
    c.arg_index = i, c.arg = &def.args[i];
  else if (field == Field::kEvtArg || (field >= Field::kFdName && field != Field::kFdRdomain))
    return "<NA>";
  Val v = Extract(c, ctx);
  switch (v.kind) {
    case Val::kNone:
      return "<NA>";
    case Val::kInt:
      return absl::StrCat(v.i);
    case Val::kStr:
      return std::string(v.s);
    case Val::kList: {
      std::string s;
      for (size_t k = 0; k < v.list->size(); ++k) absl::StrAppend(&s, k ? " " : "", (*v.list)[k]);
      return s;
    }
  }
  return "<NA>";
}

int EventTypeVerdict(const Ast& a, std::string_view name, uint32_t id) {
  switch (a.kind) {
    case Ast::kNot:
      return 2 - EventTypeVerdict(*a.kids[0], name, id);
    case Ast::kAnd: {
      int v = 2;
      for (const AstPtr& k : a.kids) v = std::min(v, EventTypeVerdict(*k, name, id));
      return v;
    }
    case Ast::kOr: {
      int v = 0;
      for (const AstPtr& k : a.kids) v = std::max(v, EventTypeVerdict(*k, name, id));
      return v;
    }
    case Ast::kCheck: {
      if (a.field != Field::kEvtName && a.field != Field::kEvtId) return 1;
      Check c;
      c.op = a.op;
      if (a.field == Field::kEvtId) {
        c.numeric = true;
        for (const std::string& v : a.values) {
          int64_t n;
          if (!ParseNumber(v, n)) return 1;
          c.numbers.insert(n), c.number = n;
        }
        return (a.op == Op::kExists || MatchNumber(c, id)) ? 2 : 0;
      }
      for (const std::string& v : a.values) c.strings.insert(v);
      if (!a.values.empty())
        c.text = a.op == Op::kIContains ? absl::AsciiStrToLower(a.values[0]) : a.values[0];
      if (a.op == Op::kPmatch) {
        c.trie = std::make_unique<PathTrie>();
        for (const std::string& v : a.values) c.trie->Add(v);
      }
      return (a.op == Op::kExists || MatchString(c, name)) ? 2 : 0;
    }
  }
  return 1;
}

void EventNamesMentioned(const Ast& a, std::vector<std::string>& names) {
  if (a.kind == Ast::kCheck) {
    if (a.field == Field::kEvtName && (a.op == Op::kEq || a.op == Op::kIn))
      names.insert(names.end(), a.values.begin(), a.values.end());
    return;
  }
  for (const AstPtr& k : a.kids) EventNamesMentioned(*k, names);
}

bool ReadsArg(const Ast& a, std::string_view arg) {
  if (a.kind == Ast::kCheck) return a.field == Field::kEvtArg && a.arg == arg;
  for (const AstPtr& k : a.kids)
    if (ReadsArg(*k, arg)) return true;
  return false;
}

}  // namespace vigil::rules::internal

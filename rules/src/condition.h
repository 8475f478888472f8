// Falco's condition language: text → AST (with offsets for errors), macros
// spliced, lists expanded; then, per event type, a folded tree of typed checks.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "vigil/events/event.h"
#include "vigil/rules/rules.h"

namespace vigil::rules::internal {

enum class Op : uint8_t {
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kContains,
  kIContains,
  kStartsWith,
  kEndsWith,
  kGlob,
  kPmatch,
  kIn,
  kIntersects,
  kExists,
};

enum class Field : uint8_t {
  kEvtName,
  kEvtId,
  kEvtRetval,
  kEvtArg,
  kEvtHostname,
  kEvtDir,
  kProcName,
  kProcExe,
  kProcArgs,
  kProcCmdline,
  kProcPid,
  kProcPpid,
  kProcTid,
  kProcPname,
  kProcPexe,
  kProcAname,
  kProcAexe,  // with index >= 0: Nth ancestor; -1: any
  kUserUid,
  kUserEuid,
  kContainerId,
  kFdName,
  kFdDirectory,
  kFdFilename,
  kIsOpenWrite,
  kIsOpenRead,
  kFdRip,
  kFdRport,
  kFdLip,
  kFdLport,
  kFdL4proto,
  kFdRdomain,
};

// A parse error at an offset of the condition text.
struct ParseError {
  size_t offset = 0;
  std::string token;  // the text found there ("" at the end)
  std::string message;
};

struct Ast {
  enum Kind : uint8_t { kAnd, kOr, kNot, kCheck };
  Kind kind = kCheck;
  std::vector<std::shared_ptr<const Ast>> kids;
  // kCheck:
  Field field = Field::kEvtName;
  std::string field_text;  // as written ("evt.arg.flags")
  std::string arg;         // kEvtArg: the argument name
  int index = -1;          // proc.aname[N] / proc.aexe[N]
  Op op = Op::kExists;
  std::vector<std::string> values;  // literals (lists expanded)
  std::shared_ptr<const Ast> rhs;   // Falco's val(field): compared with another field
  // Where it was written (for errors after parsing): the source's name and offset.
  std::shared_ptr<const std::string> source;  // "file:line:col of the condition" resolver key
  size_t offset = 0;
};
using AstPtr = std::shared_ptr<const Ast>;

// Resolves names while parsing. `macro` returns the parsed macro or nullptr;
// `list` the expanded items or nullptr.
struct ParseContext {
  std::function<AstPtr(std::string_view)> macro;
  std::function<const std::vector<std::string>*(std::string_view)> list;
};

// Parses one condition. Errors carry the offset of the offending token.
absl::StatusOr<AstPtr> Parse(std::string_view text, const ParseContext& ctx, ParseError* error);

// --- compiled form, for one event type ---

struct PathTrie {
  struct Node {
    absl::flat_hash_map<std::string, uint32_t> kids;
    bool terminal = false;
  };
  std::vector<Node> nodes{1};
  void Add(std::string_view path);
  bool MatchesPrefixOf(std::string_view path) const;
};

struct Check {
  Field field;
  Op op;
  const events::ArgDef* arg = nullptr;  // kEvtArg, and the file/socket arg of fd.* fields
  int arg_index = -1;                   // its position in the definition
  int index = -1;                       // ancestor index
  bool flag_tokens = false;             // contains/in on a flags rendering: whole '|' tokens
  bool numeric = false;                 // compare as integers
  int64_t number = 0;
  std::string text;  // lowercased for icontains
  absl::flat_hash_set<std::string> strings;
  absl::flat_hash_set<int64_t> numbers;
  std::vector<std::string> globs;  // pmatch items with wildcards
  std::unique_ptr<PathTrie> trie;
  std::unique_ptr<Check> rhs;  // val(field)
};

struct Node {
  enum Kind : uint8_t { kAnd, kOr, kNot, kCheck, kTrue, kFalse };
  Kind kind;
  uint32_t first = 0, count = 0;  // children: kids_[first .. first+count)
  uint32_t check = 0;
};

// Per-event scratch (reused across events: no allocation once warm).
struct EvalContext {
  const events::Event* e = nullptr;
  const ProcessLookup* lookup = nullptr;
  bool args_ready = false;
  std::string args;     // proc.args
  std::string cmdline;  // proc.cmdline
  events::ArgRef exec_argv{"argv"}, exec_pathname{"pathname"};  // sched_process_exec's
  void Reset(const events::Event& ev, const ProcessLookup& l) { e = &ev, lookup = &l, args_ready = false; }
};

class Compiled {
 public:
  bool Eval(EvalContext& ctx) const { return EvalNode(root_, ctx); }
  bool constant_false() const { return nodes_[root_].kind == Node::kFalse; }
  bool constant_true() const { return nodes_[root_].kind == Node::kTrue; }

  // Compiles `ast` for event `def`. Returns a tree folded with everything known
  // for this event type (evt.name, absent arguments). `unknown_arg` receives
  // argument names not found in `def`.
  static absl::StatusOr<Compiled> Build(const Ast& ast, const events::EventDef& def,
                                        std::vector<const Ast*>* unknown_args);

  // Renders a field of the event (Falco output %field), for detections only.
  static std::string Render(Field field, const events::EventDef& def, std::string_view arg, int index,
                            EvalContext& ctx);

 private:
  bool EvalNode(uint32_t n, EvalContext& ctx) const;
  std::vector<Node> nodes_;
  std::vector<uint32_t> kids_;
  std::vector<std::unique_ptr<Check>> checks_;
  uint32_t root_ = 0;
  friend struct Builder;
  friend struct OpenReducer;
};

// The file-open prefilter of the given compiled trees (security_file_open's),
// see FileOpenPrefilter (prefilter.cc). `pass_all_reason` non-empty forces
// pass-all (a detector consumes the event).
FileOpenPrefilter BuildFileOpenPrefilter(const std::vector<const Compiled*>& trees,
                                         const std::string& pass_all_reason);

// Folds `ast` with only evt.name/evt.id known: false when the rule can never
// match events named `name` (used to build the event-type index).
// Returns: 0 never, 1 maybe, 2 always.
int EventTypeVerdict(const Ast& ast, std::string_view name, uint32_t id);

// The evt.name/evt.type/evt.id literals the condition mentions.
void EventNamesMentioned(const Ast& ast, std::vector<std::string>& names);
// True when the condition reads argument `arg` of some event (evt.arg.X / data.X).
bool ReadsArg(const Ast& ast, std::string_view arg);

// Parses a field name; false when it is not a field. `error` set when it looks
// like a field (has a dot) but is unknown.
bool ParseField(std::string_view text, Field& field, std::string& arg, int& index, std::string& error);

}  // namespace vigil::rules::internal

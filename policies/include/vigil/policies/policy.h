// Policies as written: Tracee's Policy format (tracee.aquasec.com/v1beta1),
// the same schema as vigil.dev/v1, and the plain `type: policy` form.
// Nothing here knows the registry; compile.h checks names against it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace vigil::policies {

inline constexpr size_t kMaxPolicies = 64;
inline constexpr size_t kMaxPolicyFileBytes = 1 << 20;

// Where a piece of a policy was written, for error messages.
struct Origin {
  std::string file;  // empty: the command line
  int line = 0;      // 1-based; 0 when unknown
  int column = 0;

  // "dir/p.yaml:3:7", "dir/p.yaml", or "" for the command line.
  std::string Describe() const;
};

enum class Op { kEq, kNe, kLt, kGt, kLe, kGe };
std::string_view OpText(Op op);

// One scope or filter expression: `keyword` or `key<op>value[,value...]`.
struct Expr {
  std::string key;                  // "uid", "data.pathname", "follow"
  std::optional<Op> op;             // none for bare keywords
  std::vector<std::string> values;  // split at commas
  std::string text;                 // as written
  Origin origin;
};

// Parses the expression grammar shared by scopes and rule filters.
absl::StatusOr<Expr> ParseExpr(std::string_view text, const Origin& origin);

struct Rule {
  std::string event;  // "openat", "a,b", "tag=fs", "open*", "-close"
  Origin origin;
  std::vector<Expr> filters;
};

struct Policy {
  std::string name;
  std::string description;
  Origin origin;  // of the name (the document for the command line)
  std::vector<Expr> scope;
  std::vector<Rule> rules;
};

// Every policy document in `yaml` (a stream may hold several, split by ---).
// `file` is used in error messages only.
absl::StatusOr<std::vector<Policy>> ParsePolicies(std::string_view yaml, const std::string& file);

// Files and directories (their *.yaml and *.yml, sorted by name, not recursive).
absl::StatusOr<std::vector<Policy>> LoadPolicies(const std::vector<std::string>& paths);

}  // namespace vigil::policies

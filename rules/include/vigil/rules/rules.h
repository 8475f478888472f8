// The detection engine: Falco-style YAML rules (lists, macros, rules with
// conditions) compiled once into typed check trees indexed by event id, plus
// stateful C++ detectors, all turned into registry events (set `signatures`,
// ids from 6000) whose dependencies are the events they consume.
//
// How the sensor uses it (SPEC §2.2-2.3):
//
//   auto engine = rules::DetectionEngine::Create({.user_paths = rule_flags},
//                                                events::Registry::Builtin());
//   if (!engine.ok()) ... exit 2 with engine.status().message() (file:line:column).
//   for (const rules::Cancelled& c : (*engine)->cancelled()) log c.name, c.reason
//   events::Registry::AddBuiltinDetections((*engine)->event_defs());
//   (*engine)->Enable(ids of the detections some policy selected);
//   ... per decoded, enriched event:
//   (*engine)->OnEvent(event, process_lookup, [&](const rules::Detection& d) { sink(d); });
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "vigil/events/event.h"
#include "vigil/events/registry.h"

namespace vigil::rules {

// What the process tree knows of one process (views into its storage, valid
// until the end of the OnEvent call that received them).
struct ProcessView {
  uint32_t host_pid = 0;
  std::string_view comm;
  std::string_view exe;
};

// Process ancestry and argv, implemented by the engine over its ProcessTree.
class ProcessLookup {
 public:
  virtual ~ProcessLookup() = default;
  // The n-th ancestor of `host_pid` (1: parent, 2: grandparent...). False when
  // unknown or past the root.
  virtual bool Ancestor(uint32_t host_pid, int n, ProcessView& out) const = 0;
  // The argv of the image `host_pid` runs (from its last exec), argv[0]
  // first; nullptr when unknown.
  virtual const std::vector<std::string>* Argv(uint32_t host_pid) const = 0;
};

// A lookup that knows nothing (no process tree).
class NoProcessLookup final : public ProcessLookup {
 public:
  bool Ancestor(uint32_t, int, ProcessView&) const override { return false; }
  const std::vector<std::string>* Argv(uint32_t) const override { return nullptr; }
};

// Parses "info|low|medium|high|critical" or "0".."4", and Falco priority names
// (emergency/alert/critical → 4, error → 3, warning → 1,
// notice/informational/info/debug → 0). Case-insensitive.
absl::StatusOr<int> ParseSeverity(std::string_view text);

// One detection found in one event.
struct Detection {
  const events::EventDef* def = nullptr;   // the detection (def->detection holds its metadata)
  const events::Event* trigger = nullptr;  // the event that triggered it
  // Fields the rule or detector adds (e.g. {"IP address", "10.0.0.1"}); may be empty.
  const events::Fields* fields = nullptr;
};
using Emit = absl::FunctionRef<void(const Detection&)>;

// A stateful detector: what a condition cannot say (state across events).
class Detector {
 public:
  virtual ~Detector() = default;
  virtual std::string_view name() const = 0;  // the detection's event name
  // Names of the events it consumes.
  virtual std::vector<std::string> inputs() const = 0;
  // Called only for events named in inputs(). `def` is the detection to emit.
  virtual void OnEvent(const events::Event& e, const ProcessLookup& lookup, const events::EventDef& def,
                       Emit emit) = 0;
};

// A detection that exists (its name resolves) but cannot run here.
struct Cancelled {
  std::string name;
  std::string reason;  // "input event module_load does not exist on this build/kernel"
};

struct Sources {
  bool builtin = true;                  // the rules/builtin/*.yaml embedded at build time
  std::vector<std::string> user_paths;  // --rules: files or directories of *.yaml/*.yml
  // Extra in-memory files (name shown in errors, YAML text), loaded after user_paths.
  std::vector<std::pair<std::string, std::string>> texts;
  // A reload: `registry` already holds the detections of an earlier load
  // (AddBuiltinDetections); a rule may have the name of one of them.
  bool reload = false;
};

// A necessary condition on security_file_open that the kernel decides before
// it builds the event (SPEC §2.3, detection inputs): every open that some
// enabled rule could match passes; others may be dropped in the kernel when
// no policy outputs the event. Derived from the compiled conditions
// (DetectionEngine::FileOpenPrefilter); plain tables, written to the kernel
// by the sensor's loader.
//
// An open passes when one alternative holds: `any`, a name entry, or a path
// prefix, each with its access modes and required flags. Names are those of
// the resolved path the kernel renders: its last component (basename, exact,
// prefix or suffix) or the one before it (the parent directory's name).
struct FileOpenPrefilter {
  // What an alternative requires of the open's flags (the event's `flags`
  // argument): its access mode (flags & 3) among `modes` (bit 1 << mode:
  // 1 O_RDONLY, 2 O_WRONLY, 4 O_RDWR, 8 mode 3) and every bit of `flags`.
  struct Need {
    uint32_t modes = 0;
    uint64_t flags = 0;
    bool Holds(uint64_t open_flags) const {
      return (modes & (1u << (open_flags & 3))) != 0 && (open_flags & flags) == flags;
    }
    // The weakest need implying both (a union of alternatives).
    void Merge(const Need& o) {
      flags = modes ? (o.modes ? flags & o.flags : flags) : o.flags;
      modes |= o.modes;
    }
    bool operator==(const Need&) const = default;
  };
  enum class NameKind : uint8_t { kBasename = 1, kBasenamePrefix = 2, kBasenameSuffix = 3, kParentName = 4 };
  struct Name {
    NameKind kind = NameKind::kBasename;
    std::string text;
    Need need;
  };
  struct Prefix {
    std::string path;  // a byte prefix of the resolved path
    Need need;         // merged with the needs of every shorter prefix of it in the table
  };
  // Limits of the kernel's tables: longer names become `any`, longer prefixes
  // are cut (a weaker condition), prefixes keep their first kPrefixComponents
  // components.
  static constexpr size_t kMaxName = 60;
  static constexpr size_t kMaxAffixLengths = 8;
  static constexpr size_t kMaxPrefix = 127;
  static constexpr size_t kPrefixComponents = 4;

  bool pass_all = true;  // no condition: every open passes
  Need any;              // modes 0: no such alternative
  std::vector<Name> names;
  std::vector<Prefix> prefixes;
  std::string reason;  // why pass_all (for --log-level debug)

  // The kernel's decision for an open of the resolved `path` with `flags`.
  bool Passes(std::string_view path, uint64_t flags) const;
  // One line for the log: "12 names, 3 prefixes, any: O_WRONLY|O_RDWR with O_TRUNC".
  std::string Describe() const;
};

class DetectionEngine {
 public:
  // Loads the built-in rules, then every user file in order (a rule of the same
  // name replaces the earlier one; `append: true` extends it, `override:` replaces
  // chosen keys), compiles every enabled rule against `registry` and creates the
  // built-in detectors. Any broken file, unknown field, list or macro is an error
  // with file:line:column; a rule whose inputs are missing from `registry` is
  // cancelled (see cancelled()) and the rest loads.
  static absl::StatusOr<std::unique_ptr<DetectionEngine>> Create(const Sources& sources,
                                                                 const events::Registry& registry);
  ~DetectionEngine();

  // One registry event per detection (cancelled ones included, with
  // `detection->unavailable` set), ids from 6000: built-ins have fixed ids,
  // user rules follow in load order. Pass to Registry::AddBuiltinDetections.
  const std::vector<events::EventDef>& event_defs() const;
  const std::vector<Cancelled>& cancelled() const;

  // Only these detection ids run (default: none). Unknown ids are ignored.
  void Enable(const std::set<uint32_t>& detection_ids);
  // True when some enabled detection needs the exec environment (--exec-env).
  bool NeedsExecEnv() const;
  // The input event ids of the enabled detections.
  std::set<uint32_t> EnabledInputs() const;
  // The condition every security_file_open some enabled rule could match
  // meets (pass_all when a rule's condition on it reduces to nothing the
  // kernel can decide, or a detector consumes it).
  FileOpenPrefilter OpenPrefilter() const;

  // Tests `e` against the enabled rules of its event id and feeds the enabled
  // detectors consuming it; calls `emit` once per detection, in id order for
  // rules. Allocates nothing per event once warm (single-threaded).
  void OnEvent(const events::Event& e, const ProcessLookup& lookup, Emit emit);

  struct Impl;

 private:
  explicit DetectionEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The text of the rules embedded at build time: (file name, YAML).
const std::vector<std::pair<std::string, std::string>>& BuiltinRuleFiles();

}  // namespace vigil::rules

// The context fields rule filters may test (Tracee's scope fields), and
// integer parsing shared by compiling and matching.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "vigil/events/event.h"
#include "vigil/policies/policy.h"

namespace vigil::policies {

enum class NumberField {
  kTimestamp,
  kProcessorId,
  kPid,
  kTid,
  kPpid,
  kHostPid,
  kHostTid,
  kHostPpid,
  kUid,
  kMntns,
  kPidns,
  kCgroupId,
};
enum class StringField { kComm, kHostName, kContainerId, kExecutable, kSyscall };

struct ContextField {
  std::string_view name;
  bool numeric;
  int field;  // NumberField or StringField
};

const ContextField* FindContextField(std::string_view name);
std::vector<std::string_view> ContextFieldNames();  // one spelling per field

__int128 NumberOf(const events::Event& e, NumberField field);
std::string_view StringOf(const events::Event& e, StringField field);

bool IsOrdering(Op op);  // < > <= >=

// Decimal (optionally negative) or 0x hexadecimal, within 64 bits.
std::optional<__int128> ParseInteger(std::string_view text);

}  // namespace vigil::policies

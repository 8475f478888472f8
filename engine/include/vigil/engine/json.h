// Minimal, fast JSON text building for the event sinks.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "vigil/events/event.h"

namespace vigil::engine {

// The length of the valid UTF-8 sequence at s[i] (its code point in `cp`),
// or 0 when it is invalid (overlong, surrogate, cut short, above U+10FFFF).
size_t DecodeUtf8(std::string_view s, size_t i, uint32_t& cp);

// Appends `s` as a JSON string literal: quotes, backslashes and control
// characters escaped; invalid UTF-8 sequences replaced by U+FFFD.
void AppendJsonString(std::string& out, std::string_view s);

// Appends `,"key":` and `value` as a JSON string: a member after the first.
void AppendJsonMember(std::string& out, std::string_view key, std::string_view value);
// A detection's signature, as members "signatureID" to "external_id" (no
// leading comma): Tracee's capitalisation (Severity, Category, Technique) in
// events' metadata.Properties, lower case in `vigil list`'s detection object.
void AppendSignatureMembers(std::string& out, const events::DetectionMeta& m, bool tracee_case);

// Appends an argument value as JSON (number, string, array or object).
void AppendJsonValue(std::string& out, const events::Value& v);

// One event as one line of JSON (Tracee's field names, SPEC §2.1), with '\n'.
// `policy_names[i]` names policy bit i.
void AppendEventJson(std::string& out, const events::Event& e, const std::vector<std::string>& policy_names);

// A value as plain text for the table sink.
void AppendPlainValue(std::string& out, const events::Value& v);

}  // namespace vigil::engine

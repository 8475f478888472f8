#include "vigil/engine/outputs/output.h"

#include <algorithm>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "outputs_internal.h"
#include "vigil/engine/log.h"

namespace vigil::engine {
namespace {

absl::Status SpecError(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("--output ", AV(text), ": ", AV(why)));
}

// "HOST:PORT" with HOST a name, an IPv4 address or "[IPv6]".
bool ValidHostPort(std::string_view hp, bool port_required = true) {
  std::string_view host = hp, port;
  if (hp.starts_with('[')) {
    size_t close = hp.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    host = hp.substr(1, close - 1);
    std::string_view rest = hp.substr(close + 1);
    if (rest.empty()) return !port_required;
    if (!rest.starts_with(':')) return false;
    port = rest.substr(1);
  } else {
    size_t colon = hp.rfind(':');
    if (colon == std::string_view::npos) {
      if (port_required) return false;
    } else {
      host = hp.substr(0, colon);
      port = hp.substr(colon + 1);
    }
    if (host.find(':') != std::string_view::npos) return false;
  }
  if (host.empty()) return false;
  for (char c : host)
    if (!absl::ascii_isalnum(c) && c != '.' && c != '-' && c != '_' && c != ':') return false;
  if (!port.empty() || port_required) {
    uint32_t p;
    if (!absl::SimpleAtoi(AV(port), &p) || p == 0 || p > 65535) return false;
  }
  return true;
}

std::string EscapeLabel(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"')
      out += '\\', out += c;
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

}  // namespace

std::string_view OutputKindName(OutputKind kind) {
  switch (kind) {
    case OutputKind::kJson:
      return "json";
    case OutputKind::kTable:
      return "table";
    case OutputKind::kSyslog:
      return "syslog";
    case OutputKind::kWebhook:
      return "webhook";
    case OutputKind::kKafka:
      return "kafka";
  }
  return "?";
}

bool OutputFilter::Accepts(const events::Event& e, bool detection, int severity) const {
  if (detections_only && !detection) return false;
  if (policy_mask != 0 && (e.policies & policy_mask) == 0) return false;
  if (min_severity >= 0 && (!detection || severity < min_severity)) return false;
  return true;
}

std::string OutputFilter::ToString() const {
  std::vector<std::string> parts;
  if (detections_only) parts.push_back("detections");
  if (!policies.empty()) parts.push_back(absl::StrCat("policy=", absl::StrJoin(policies, "|")));
  if (min_severity >= 0) parts.push_back(absl::StrCat("severity>=", min_severity));
  return parts.empty() ? "all events" : absl::StrJoin(parts, ",");
}

absl::StatusOr<OutputFilter> ParseOutputFilterConditions(std::string_view text) {
  OutputFilter f;
  if (text.empty())
    return absl::InvalidArgumentError("no condition (expected detections, policy=P or severity>=N)");
  for (absl::string_view piece : absl::StrSplit(AV(text), ',')) {
    std::string_view cond = SV(absl::StripAsciiWhitespace(piece));
    if (cond == "detections") {
      f.detections_only = true;
    } else if (cond.starts_with("policy=")) {
      for (absl::string_view p : absl::StrSplit(AV(cond.substr(7)), '|')) {
        if (p.empty()) return absl::InvalidArgumentError(absl::StrCat("'", AV(cond), "': empty policy name"));
        f.policies.emplace_back(p);
      }
    } else if (cond.starts_with("severity>=")) {
      std::string_view n = cond.substr(10);
      int v;
      if (!absl::SimpleAtoi(AV(n), &v) || v < 0 || v > 4)
        return absl::InvalidArgumentError(
            absl::StrCat("'", AV(cond), "': expected a Severity from 0 (info) to 4 (critical)"));
      f.min_severity = v;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown condition '", AV(cond), "' (expected detections, policy=NAME[|NAME], severity>=N)"));
    }
  }
  return f;
}

absl::StatusOr<OutputSpec> ParseOutputSpec(std::string_view text) {
  OutputSpec spec;
  spec.text = std::string(text);
  std::string_view format = text, rest;
  bool has_rest = false;
  if (size_t colon = text.find(':'); colon != std::string_view::npos) {
    format = text.substr(0, colon);
    rest = text.substr(colon + 1);
    has_rest = true;
  }
  if (format == "json" || format == "table") {
    spec.kind = format == "json" ? OutputKind::kJson : OutputKind::kTable;
    if (has_rest && rest.empty()) return SpecError(text, "empty path after ':'");
    spec.target = std::string(rest);
    return spec;
  }
  if (format == "syslog") {
    spec.kind = OutputKind::kSyslog;
    if (!has_rest) {
      spec.target = "unix:/dev/log";
      return spec;
    }
    if (rest.starts_with("udp://") || rest.starts_with("tcp://")) {
      if (!ValidHostPort(rest.substr(6)))
        return SpecError(text, "expected udp://HOST:PORT or tcp://HOST:PORT (e.g. tcp://127.0.0.1:514)");
    } else if (rest.starts_with("unix:")) {
      std::string_view path = rest.substr(5);
      if (path.starts_with("//")) path.remove_prefix(2);
      if (path.empty() || path[0] != '/') return SpecError(text, "expected unix:/ABSOLUTE/PATH");
      spec.target = absl::StrCat("unix:", AV(path));
      return spec;
    } else {
      return SpecError(text,
                       "expected syslog, syslog:udp://HOST:PORT, syslog:tcp://HOST:PORT or syslog:unix:PATH");
    }
    spec.target = std::string(rest);
    return spec;
  }
  if (format == "webhook") {
    spec.kind = OutputKind::kWebhook;
    std::string_view after;
    if (rest.starts_with("http://"))
      after = rest.substr(7);
    else if (rest.starts_with("https://"))
      after = rest.substr(8);
    else
      return SpecError(text, "expected webhook:http://HOST[:PORT]/PATH or webhook:https://...");
    std::string_view authority = after.substr(0, after.find_first_of("/?#"));
    if (authority.find('@') != std::string_view::npos) authority = authority.substr(authority.rfind('@') + 1);
    if (!ValidHostPort(authority, /*port_required=*/false))
      return SpecError(text, "the URL has no valid host");
    spec.target = std::string(rest);
    return spec;
  }
  if (format == "kafka") {
    spec.kind = OutputKind::kKafka;
    size_t slash = rest.rfind('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == rest.size())
      return SpecError(text, "expected kafka:BROKER[,BROKER...]/TOPIC (e.g. kafka:127.0.0.1:9092/vigil)");
    for (absl::string_view b : absl::StrSplit(AV(rest.substr(0, slash)), ','))
      if (!ValidHostPort(SV(b), /*port_required=*/false))
        return SpecError(text, absl::StrCat("broker '", b, "' is not HOST[:PORT]"));
    std::string_view topic = rest.substr(slash + 1);
    if (topic.size() > 249 || !std::all_of(topic.begin(), topic.end(), [](char c) {
          return absl::ascii_isalnum(c) || c == '.' || c == '_' || c == '-';
        }))
      return SpecError(text, absl::StrCat("topic '", AV(topic),
                                          "' is not a valid Kafka topic name ([A-Za-z0-9._-], at most 249)"));
    spec.target = std::string(rest);
    return spec;
  }
  return SpecError(
      text, absl::StrCat("unknown format '", AV(format),
                         "' (expected json, table, syslog, webhook or kafka, e.g. json:/tmp/events.json)"));
}

bool OutputContext::IsDetection(const events::EventDef& def) const {
  return std::find(def.sets.begin(), def.sets.end(), "signatures") != def.sets.end();
}

int OutputContext::SeverityOf(const events::Event& e) const {
  if (!IsDetection(*e.def)) return -1;
  if (detection_severity) return std::clamp(detection_severity(*e.def), 0, 4);
  return e.def->detection ? std::clamp(e.def->detection->severity, 0, 4) : 0;
}

bool Output::Wanted(const events::Event& e, int& severity) const {
  const bool detection = context_.IsDetection(*e.def);
  severity = detection ? context_.SeverityOf(e) : -1;
  return filter_.Accepts(e, detection, severity);
}

OutputStats Output::Stats() const {
  return OutputStats{.name = name_,
                     .queued = counters_.queued.load(),
                     .sent = counters_.sent.load(),
                     .retried = counters_.retried.load(),
                     .dropped = counters_.dropped.load(),
                     .errors = counters_.errors.load(),
                     .unsent = counters_.unsent.load()};
}

absl::StatusOr<std::unique_ptr<Output>> OpenOutput(const OutputSpec& spec, const OutputOptions& options,
                                                   const OutputContext& context) {
  switch (spec.kind) {
    case OutputKind::kJson:
    case OutputKind::kTable:
      return OpenFileOutput(spec, options, context);
    case OutputKind::kSyslog:
      return OpenSyslogOutput(spec, options, context);
    case OutputKind::kWebhook:
      return OpenWebhookOutput(spec, options, context);
    case OutputKind::kKafka:
      return OpenKafkaOutput(spec, options, context);
  }
  return absl::InvalidArgumentError("unknown output kind");
}

absl::StatusOr<std::unique_ptr<Outputs>> Outputs::Open(const std::vector<std::string>& texts,
                                                       const OutputOptions& options, OutputContext context) {
  std::vector<OutputSpec> specs;
  for (const std::string& t : texts) {
    absl::StatusOr<OutputSpec> spec = ParseOutputSpec(t);
    if (!spec.ok()) return spec.status();
    specs.push_back(std::move(*spec));
  }
  for (const std::string& f : options.filters) {
    size_t colon = f.find(':');
    if (colon == std::string::npos || colon == 0)
      return absl::InvalidArgumentError(absl::StrCat(
          "--output-filter ", f, ": expected OUTPUT:CONDITIONS, e.g. webhook:detections or 2:severity>=3"));
    std::string_view selector = std::string_view(f).substr(0, colon);
    absl::StatusOr<OutputFilter> parsed = ParseOutputFilterConditions(std::string_view(f).substr(colon + 1));
    if (!parsed.ok())
      return absl::InvalidArgumentError(absl::StrCat("--output-filter ", f, ": ", parsed.status().message()));
    size_t position = 0;
    const bool by_position = absl::SimpleAtoi(AV(selector), &position);
    bool matched = false;
    for (size_t i = 0; i < specs.size(); ++i) {
      if (by_position ? i + 1 != position : OutputKindName(specs[i].kind) != selector) continue;
      matched = true;
      OutputFilter& into = specs[i].filter;
      into.detections_only |= parsed->detections_only;
      into.policies.insert(into.policies.end(), parsed->policies.begin(), parsed->policies.end());
      into.min_severity = std::max(into.min_severity, parsed->min_severity);
    }
    if (!matched)
      return absl::InvalidArgumentError(absl::StrCat(
          "--output-filter ", f, ": no -o output is ",
          by_position ? absl::StrCat("number ", AV(selector)) : absl::StrCat("of kind '", AV(selector), "'"),
          " (name a kind: json, table, syslog, webhook, kafka; or the position of an -o value, from 1)"));
  }
  for (OutputSpec& spec : specs) {
    for (const std::string& p : spec.filter.policies) {
      const std::vector<std::string>* names = context.policy_names;
      auto it =
          names ? std::find(names->begin(), names->end(), p) : std::vector<std::string>::const_iterator{};
      if (names == nullptr || it == names->end())
        return absl::InvalidArgumentError(absl::StrCat(
            "--output-filter: no policy named '", p, "' is loaded",
            names && !names->empty() ? absl::StrCat(" (loaded: ", absl::StrJoin(*names, ", "), ")") : ""));
      size_t bit = static_cast<size_t>(it - names->begin());
      if (bit < 64) spec.filter.policy_mask |= 1ull << bit;
    }
  }
  std::unique_ptr<Outputs> out(new Outputs(std::move(context)));
  for (const OutputSpec& spec : specs) {
    absl::StatusOr<std::unique_ptr<Output>> o = OpenOutput(spec, options, out->context_);
    if (!o.ok()) return o.status();
    if (spec.filter.detections_only || spec.filter.policy_mask || spec.filter.min_severity >= 0)
      LogInfo(absl::StrCat("output ", (*o)->name(), ": ", spec.filter.ToString()));
    out->outputs_.push_back(std::move(*o));
  }
  return out;
}

absl::Status Outputs::Reopen() {
  absl::Status first;
  for (auto& o : outputs_)
    if (absl::Status st = o->Reopen(); !st.ok() && first.ok()) first = st;
  return first;
}

void Outputs::Stop(std::chrono::steady_clock::time_point deadline) {
  // Each output flushes in parallel with the others: Stop() of a queued output
  // only waits for its own worker, so start them all by stopping in turn with
  // the same deadline.
  std::vector<std::thread> stoppers;
  for (auto& o : outputs_) stoppers.emplace_back([&o, deadline] { o->Stop(deadline); });
  for (std::thread& t : stoppers) t.join();
  for (const OutputStats& s : Stats())
    if (s.unsent)
      LogWarn(absl::StrCat("output ", s.name, ": ", s.unsent, " events not sent at stop (", s.sent, " sent, ",
                           s.dropped, " dropped)"));
}

std::vector<OutputStats> Outputs::Stats() const {
  std::vector<OutputStats> out;
  for (const auto& o : outputs_) out.push_back(o->Stats());
  return out;
}

std::string Outputs::MetricsText() const {
  std::string out =
      "# HELP vigil_output_events_total Events per output, by state (queued, sent, dropped, unsent at "
      "stop).\n"
      "# TYPE vigil_output_events_total counter\n";
  std::vector<OutputStats> stats = Stats();
  for (const OutputStats& s : stats) {
    std::string label = EscapeLabel(s.name);
    absl::StrAppend(&out, "vigil_output_events_total{output=\"", label, "\",state=\"queued\"} ", s.queued,
                    "\n", "vigil_output_events_total{output=\"", label, "\",state=\"sent\"} ", s.sent, "\n",
                    "vigil_output_events_total{output=\"", label, "\",state=\"dropped\"} ", s.dropped, "\n",
                    "vigil_output_events_total{output=\"", label, "\",state=\"unsent\"} ", s.unsent, "\n");
  }
  absl::StrAppend(&out,
                  "# HELP vigil_output_retries_total Send attempts repeated after a retryable failure.\n",
                  "# TYPE vigil_output_retries_total counter\n");
  for (const OutputStats& s : stats)
    absl::StrAppend(&out, "vigil_output_retries_total{output=\"", EscapeLabel(s.name), "\"} ", s.retried,
                    "\n");
  absl::StrAppend(&out, "# HELP vigil_output_errors_total Failed send attempts.\n",
                  "# TYPE vigil_output_errors_total counter\n");
  for (const OutputStats& s : stats)
    absl::StrAppend(&out, "vigil_output_errors_total{output=\"", EscapeLabel(s.name), "\"} ", s.errors, "\n");
  return out;
}

std::string Outputs::Summary() const {
  std::vector<std::string> parts;
  for (const OutputStats& s : Stats()) {
    std::string p = absl::StrCat(s.name, " sent ", s.sent, ", dropped ", s.dropped);
    if (s.retried) absl::StrAppend(&p, ", retried ", s.retried);
    if (s.errors) absl::StrAppend(&p, ", errors ", s.errors);
    if (s.unsent) absl::StrAppend(&p, " (", s.unsent, " unsent at stop)");
    parts.push_back(std::move(p));
  }
  return absl::StrJoin(parts, "; ");
}

}  // namespace vigil::engine

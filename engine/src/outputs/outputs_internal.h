// Constructors of each kind of output (one file each), for OpenOutput().
#pragma once

#include "absl/strings/string_view.h"
#include "vigil/engine/outputs/output.h"

namespace vigil::engine {

absl::StatusOr<std::unique_ptr<Output>> OpenFileOutput(const OutputSpec& spec, const OutputOptions& options,
                                                       const OutputContext& context);
absl::StatusOr<std::unique_ptr<Output>> OpenSyslogOutput(const OutputSpec& spec, const OutputOptions& options,
                                                         const OutputContext& context);
absl::StatusOr<std::unique_ptr<Output>> OpenWebhookOutput(const OutputSpec& spec,
                                                          const OutputOptions& options,
                                                          const OutputContext& context);
absl::StatusOr<std::unique_ptr<Output>> OpenKafkaOutput(const OutputSpec& spec, const OutputOptions& options,
                                                        const OutputContext& context);

}  // namespace vigil::engine

namespace vigil::engine {
// Debian's Abseil has its own string_view type: std::string_view -> absl's.
inline absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }
inline std::string_view SV(absl::string_view s) { return std::string_view(s.data(), s.size()); }
}  // namespace vigil::engine

// libFuzzer target for the policy parser and compiler: any input must end
// in a policy set or an error that says where, never in a crash or a hang.
// An input starting with "#cli\n" is a command line instead: one -e item or
// (after "s:") one -s expression per line.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/events/event.h"
#include "vigil/policies/compile.h"
#include "vigil/policies/kernel_scope.h"
#include "vigil/policies/policy.h"

namespace {

using vigil::events::ArgFormat;
using vigil::events::Event;
using vigil::events::Registry;
using namespace vigil::policies;

absl::StatusOr<std::vector<Policy>> FromCommandLine(std::string_view text, const Registry& registry) {
  std::vector<std::string> events, scopes;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (line.starts_with("s:"))
      scopes.emplace_back(line.substr(2));
    else
      events.emplace_back(line);
    start = end + 1;
  }
  absl::StatusOr<Policy> p = CliPolicy(events, scopes, registry);
  if (!p.ok()) return p.status();
  return std::vector<Policy>{*std::move(p)};
}

// An event with every argument set, so that filters run on real values.
Event Sample(const vigil::events::EventDef* def, int variant) {
  Event e;
  e.def = def;
  e.comm = variant ? "bash" : "cat";
  e.executable = variant ? "/usr/bin/bash" : "/usr/bin/cat";
  e.container_id = variant ? "abc123" : "";
  e.retval = variant ? -2 : 3;
  e.uid = variant ? 1000 : 0;
  for (const vigil::events::ArgDef& a : def->args) {
    vigil::events::Arg arg{.def = &a};
    switch (a.format) {
      case ArgFormat::kInt:
      case ArgFormat::kDirfd:
        arg.value = int64_t{variant ? -100 : 7};
        break;
      case ArgFormat::kUint:
        arg.value = uint64_t{variant ? 0u : 42u};
        break;
      case ArgFormat::kBool:
        arg.value = variant != 0;
        break;
      case ArgFormat::kStringArray:
        arg.value = std::vector<std::string>{"ls", "-la", "/etc"};
        break;
      case ArgFormat::kSockaddr:
        arg.value = vigil::events::Fields{{"sa_family", "AF_INET"}, {"sin_addr", "127.0.0.1"}};
        break;
      case ArgFormat::kString:
        arg.value = std::string(variant ? "/etc/shadow" : "/usr/lib/x.so");
        break;
      default:  // an integer a format renders (flags, modes, hex...)
        arg.value = uint64_t{variant ? 0x80241u : 4096u};
        break;
    }
    e.args.push_back(std::move(arg));
  }
  return e;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Registry& registry = Registry::Builtin();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::vector<Policy>> policies = input.starts_with("#cli\n")
                                                     ? FromCommandLine(input.substr(5), registry)
                                                     : ParsePolicies(input, "fuzz.yaml");
  if (!policies.ok()) {
    if (policies.status().message().empty()) __builtin_trap();  // every error explains itself
    return 0;
  }
  absl::StatusOr<CompiledPolicies> compiled = Compile(*policies, registry);
  if (!compiled.ok()) {
    if (compiled.status().message().empty()) __builtin_trap();
    return 0;
  }
  (void)BuildKernelScope(*compiled, 1, [](const std::string& path) -> absl::StatusOr<uint64_t> {
    if (path.size() % 2) return absl::NotFoundError("odd");
    return path.size();
  });
  size_t checked = 0;
  for (const auto& [id, mask] : compiled->event_policies()) {
    if (++checked > 64) break;  // tag=syscalls selects hundreds; a few suffice
    for (int variant = 0; variant < 2; ++variant) {
      uint64_t matched = compiled->MatchUser(Sample(registry.FindId(id), variant), mask);
      if (matched & ~mask) __builtin_trap();  // never a policy the kernel did not pass
    }
  }
  return 0;
}

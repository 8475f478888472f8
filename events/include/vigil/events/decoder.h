// Turns ring-buffer records (vigil_event.h layout) into Events.
#pragma once

#include <cstdint>
#include <span>

#include "absl/status/status.h"
#include "vigil/events/event.h"
#include "vigil/events/registry.h"

namespace vigil::events {

class Decoder {
 public:
  // boot_to_epoch_ns: add to a bpf_ktime_get_boot_ns() value to get Unix time.
  Decoder(const Registry& registry, int64_t boot_to_epoch_ns)
      : registry_(registry), boot_to_epoch_ns_(boot_to_epoch_ns) {}

  // Fills `out` (its storage is reused). A record that is short, names an
  // unknown event, or whose arguments overrun it is an error; arguments the
  // kernel cut short are kept and the event is marked truncated.
  absl::Status Decode(std::span<const uint8_t> record, Event& out) const;

  // The offset for this host's clocks, read now.
  static int64_t BootToEpochOffsetNow();

 private:
  const Registry& registry_;
  int64_t boot_to_epoch_ns_;
};

}  // namespace vigil::events

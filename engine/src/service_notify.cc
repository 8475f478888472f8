#include "vigil/engine/service_notify.h"

#include <systemd/sd-daemon.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "vigil/engine/log.h"

namespace vigil::engine {

ServiceNotifier::ServiceNotifier() {
  active_ = getenv("NOTIFY_SOCKET") != nullptr;
  uint64_t usec = 0;
  if (active_ && sd_watchdog_enabled(/*unset_environment=*/0, &usec) > 0)
    watchdog_ = std::chrono::microseconds(usec);
}

void ServiceNotifier::Ready(const std::string& status) {
  if (!active_) return;
  if (int r = sd_notify(0, absl::StrCat("READY=1\nSTATUS=", status).c_str()); r < 0)
    LogWarn(absl::StrCat("sd_notify READY=1: ", strerror(-r)));
  last_ping_ = std::chrono::steady_clock::now();
}

void ServiceNotifier::Reloading() {
  if (active_) sd_notify(0, "RELOADING=1");
}

void ServiceNotifier::Stopping() {
  if (active_) sd_notify(0, "STOPPING=1");
}

void ServiceNotifier::Watchdog() {
  if (!active_ || watchdog_.count() == 0) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_ping_ < watchdog_ / 2) return;
  last_ping_ = now;
  sd_notify(0, "WATCHDOG=1");
}

}  // namespace vigil::engine

// The systemd service protocol (sd_notify(3) through libsystemd): READY=1
// once every selected event is attached, WATCHDOG=1 from the consumer loop,
// RELOADING=1/READY=1 around SIGHUP, STOPPING=1. Without NOTIFY_SOCKET (not
// started by systemd as Type=notify) every call does nothing.
#pragma once

#include <chrono>
#include <string>

namespace vigil::engine {

class ServiceNotifier {
 public:
  ServiceNotifier();  // reads NOTIFY_SOCKET and WATCHDOG_USEC once

  void Ready(const std::string& status);
  void Reloading();
  void Stopping();
  // Sends WATCHDOG=1 at most every half watchdog interval; call it from every
  // turn of the consumer loop, so a stalled loop stops feeding it.
  void Watchdog();

  bool active() const { return active_; }
  std::chrono::microseconds watchdog_interval() const { return watchdog_; }

 private:
  bool active_ = false;
  std::chrono::microseconds watchdog_{0};
  std::chrono::steady_clock::time_point last_ping_{};
};

}  // namespace vigil::engine

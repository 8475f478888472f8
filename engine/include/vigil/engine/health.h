// What /healthz and /metrics serve: the run loop publishes a snapshot (health
// and the Prometheus text) a few times a second; the HTTP threads only read
// the latest one, so a slow or hostile client never touches the event path.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace vigil::engine {

struct Health {
  std::vector<std::string> reasons;  // empty: healthy
  bool ok() const { return reasons.empty(); }
  // {"status":"ok"} or {"status":"unhealthy","reasons":["..."]}
  std::string Json() const;
};

struct HealthInputs {
  uint64_t lost_total = 0;                    // every event lost so far, whatever the reason
  std::vector<std::string> failing_outputs;   // outputs whose last write or flush failed
  std::vector<std::string> cancelled_events;  // selected events that are not attached
};

// Unhealthy while events were lost in the last `window`, an output is failing,
// or a selected event is not attached.
class HealthTracker {
 public:
  using Clock = std::chrono::steady_clock;
  explicit HealthTracker(Clock::time_point start, Clock::duration window = std::chrono::seconds(10));
  Health Update(Clock::time_point now, const HealthInputs& in);

 private:
  Clock::duration window_;
  std::deque<std::pair<Clock::time_point, uint64_t>> lost_;  // (when, lost_total), oldest first
};

struct StatusSnapshot {
  Health health;
  std::string metrics;  // Prometheus text exposition format
};

class StatusBoard {
 public:
  StatusBoard();
  void Publish(StatusSnapshot snapshot);
  std::shared_ptr<const StatusSnapshot> Current() const;

 private:
  mutable std::mutex mu_;  // held only to swap or copy the pointer
  std::shared_ptr<const StatusSnapshot> current_;
};

}  // namespace vigil::engine

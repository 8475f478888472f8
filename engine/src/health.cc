#include "vigil/engine/health.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "vigil/engine/json.h"

namespace vigil::engine {

std::string Health::Json() const {
  if (ok()) return "{\"status\":\"ok\"}\n";
  std::string out = "{\"status\":\"unhealthy\",\"reasons\":[";
  for (size_t i = 0; i < reasons.size(); ++i) {
    if (i) out += ',';
    AppendJsonString(out, reasons[i]);
  }
  out += "]}\n";
  return out;
}

HealthTracker::HealthTracker(Clock::time_point start, Clock::duration window) : window_(window) {
  lost_.emplace_back(start, 0);  // losses during start-up count as recent
}

Health HealthTracker::Update(Clock::time_point now, const HealthInputs& in) {
  lost_.emplace_back(now, in.lost_total);
  // Keep the newest sample older than the window as the baseline.
  while (lost_.size() > 1 && now - lost_[1].first >= window_) lost_.pop_front();
  const uint64_t recent = in.lost_total - std::min(in.lost_total, lost_.front().second);
  Health h;
  if (recent > 0)
    h.reasons.push_back(absl::StrCat(recent, " events lost in the last ",
                                     std::chrono::duration_cast<std::chrono::seconds>(window_).count(),
                                     " s"));
  for (const std::string& o : in.failing_outputs)
    h.reasons.push_back(absl::StrCat("output ", o, " is failing"));
  if (!in.cancelled_events.empty())
    h.reasons.push_back(
        absl::StrCat("selected events not attached: ", absl::StrJoin(in.cancelled_events, ",")));
  return h;
}

StatusBoard::StatusBoard() {
  auto starting = std::make_shared<StatusSnapshot>();
  starting->health.reasons.push_back("starting: not every selected event is attached yet");
  current_ = std::move(starting);
}

void StatusBoard::Publish(StatusSnapshot snapshot) {
  auto next = std::make_shared<const StatusSnapshot>(std::move(snapshot));
  std::lock_guard<std::mutex> lock(mu_);
  current_.swap(next);
  // `next` (the old snapshot) is released after the lock, by whoever holds it last.
}

std::shared_ptr<const StatusSnapshot> StatusBoard::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

}  // namespace vigil::engine

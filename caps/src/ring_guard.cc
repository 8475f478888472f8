#include "vigil/caps/ring_guard.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <utility>

#include "absl/strings/str_cat.h"
#include "string_views.h"
#include "vigil/caps/process_caps.h"

namespace vigil::caps {
namespace {

int64_t MonotonicNanos() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

absl::Status Prefixed(absl::string_view attempt, const absl::Status& status) {
  return {status.code(), absl::StrCat(attempt, ": ", status.message())};
}

}  // namespace

ScopedRing::ScopedRing(CapabilityEngine* engine, Ring previous_ring, CapSet previous_extra,
                       std::string label)
    : engine_(engine),
      previous_ring_(previous_ring),
      previous_extra_(previous_extra),
      label_(std::move(label)) {}

ScopedRing::ScopedRing(ScopedRing&& other) noexcept
    : engine_(std::exchange(other.engine_, nullptr)),
      previous_ring_(other.previous_ring_),
      previous_extra_(other.previous_extra_),
      label_(std::move(other.label_)) {}

ScopedRing::~ScopedRing() {
  if (engine_ == nullptr) return;
  if (absl::Status status = Leave(); !status.ok()) {
    // Running on with raised capabilities would break the promise of the rings.
    std::fprintf(stderr, "vigil: fatal: %s\n", std::string(status.message()).c_str());
    std::abort();
  }
}

absl::Status ScopedRing::Leave() {
  if (engine_ == nullptr) return absl::OkStatus();
  if (absl::Status status = engine_->CheckControlThread(absl::StrCat(
          "return to the ", AbslView(RingName(previous_ring_)), " ring after '", label_, "'"));
      !status.ok()) {
    return status;  // still armed: the destructor tries again, or aborts
  }
  CapabilityEngine* engine = std::exchange(engine_, nullptr);
  return engine->Transition(previous_ring_, previous_extra_, absl::StrCat("end: ", label_));
}

CapabilityEngine::CapabilityEngine(RingPlan plan, bool bypass)
    : plan_(plan), bypass_(bypass), control_thread_(gettid()) {}

absl::Status CapabilityEngine::CheckControlThread(std::string_view attempt) const {
  if (gettid() == control_thread_) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      AbslView(attempt), ": called on thread ", gettid(), ", but only the control thread ",
      control_thread_,
      " changes capabilities (they are per thread; a raise elsewhere would escape the plan)"));
}

absl::Status CapabilityEngine::Harden() {
  constexpr absl::string_view kAttempt = "harden the control thread at start";
  if (absl::Status status = CheckControlThread(StdView(kAttempt)); !status.ok()) return status;
  if (!bypass_) {
    if (absl::Status status = caps::Harden(plan_.permitted_needed, plan_.base,
                                           /*drop_bounding=*/true);
        !status.ok()) {
      return status;
    }
  }
  const CapSet effective = bypass_ ? effective_now() : plan_.base;
  absl::MutexLock lock(&mutex_);
  current_ring_ = Ring::kBase;
  current_extra_ = CapSet{};
  transitions_.push_back({Ring::kBase, "harden", effective, MonotonicNanos(), control_thread_});
  return absl::OkStatus();
}

absl::Status CapabilityEngine::FinishSetup() {
  constexpr absl::string_view kAttempt = "drop set-up capabilities from permitted";
  if (absl::Status status = CheckControlThread(StdView(kAttempt)); !status.ok()) return status;
  {
    absl::MutexLock lock(&mutex_);
    if (current_ring_ != Ring::kBase || !current_extra_.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat(kAttempt, ": the control thread is still in the ",
                       AbslView(RingName(current_ring_)), " ring (a raise has not ended)"));
    }
  }
  if (!bypass_) {
    if (absl::Status status = ShrinkPermitted(plan_.after_setup); !status.ok()) return status;
  }
  setup_finished_ = true;
  const CapSet effective = bypass_ ? effective_now() : plan_.base;
  absl::MutexLock lock(&mutex_);
  transitions_.push_back(
      {Ring::kBase, "finish set-up", effective, MonotonicNanos(), control_thread_});
  return absl::OkStatus();
}

absl::Status CapabilityEngine::Enter(Ring ring, CapSet extra, std::string_view label) {
  std::string name = label.empty() ? std::string(RingName(ring)) : std::string(label);
  if (absl::Status status = CheckControlThread(
          absl::StrCat("enter the ", AbslView(RingName(ring)), " ring for '", name, "'"));
      !status.ok()) {
    return status;
  }
  return Transition(ring, extra, std::move(name));
}

absl::StatusOr<ScopedRing> CapabilityEngine::Raise(Ring ring, std::string_view label,
                                                   CapSet extra) {
  if (absl::Status status = CheckControlThread(absl::StrCat("enter the ", AbslView(RingName(ring)),
                                                            " ring for '", AbslView(label), "'"));
      !status.ok()) {
    return status;
  }
  Ring previous_ring;
  CapSet previous_extra;
  {
    absl::MutexLock lock(&mutex_);
    previous_ring = current_ring_;
    previous_extra = current_extra_;
  }
  if (absl::Status status = Transition(ring, extra, std::string(label)); !status.ok()) {
    return status;
  }
  return ScopedRing(this, previous_ring, previous_extra, std::string(label));
}

absl::Status CapabilityEngine::Transition(Ring ring, CapSet extra, std::string label) {
  const std::string attempt =
      absl::StrCat("enter the ", AbslView(RingName(ring)), " ring for '", label, "'");
  if (!plan_.permitted_needed.Contains(extra)) {
    return absl::InvalidArgumentError(
        absl::StrCat(attempt, ": ", (extra - plan_.permitted_needed).ToString(),
                     " not in the capability plan (planned: ", DescribeCaps(plan_.permitted_needed),
                     "; dropped with --capabilities drop= or never requested)"));
  }
  const CapSet target =
      (ring == Ring::kSpecific && !extra.empty()) ? plan_.base | extra : plan_.For(ring) | extra;
  if (setup_finished_ && !plan_.after_setup.Contains(target)) {
    return absl::FailedPreconditionError(absl::StrCat(
        attempt, ": needs ", (target - plan_.after_setup).ToString(),
        ", which left permitted when set-up finished (permitted: ", DescribeCaps(plan_.after_setup),
        ")"));
  }
  if (!bypass_) {
    if (absl::Status status = SetThreadEffective(target); !status.ok()) {
      return Prefixed(attempt, status);
    }
  }
  const CapSet effective = bypass_ ? effective_now() : target;
  absl::MutexLock lock(&mutex_);
  current_ring_ = ring;
  current_extra_ = extra;
  transitions_.push_back({ring, std::move(label), effective, MonotonicNanos(), control_thread_});
  return absl::OkStatus();
}

CapSet CapabilityEngine::effective_now() const {
  absl::StatusOr<ThreadCaps> caps = ReadThreadCaps();
  if (caps.ok()) return caps->effective;
  // capget on the calling thread fails only on a broken libcap; the planned
  // set is the best remaining answer for error messages.
  absl::MutexLock lock(&mutex_);
  return plan_.For(current_ring_) | current_extra_;
}

Ring CapabilityEngine::current_ring() const {
  absl::MutexLock lock(&mutex_);
  return current_ring_;
}

std::vector<RingTransition> CapabilityEngine::transitions() const {
  absl::MutexLock lock(&mutex_);
  return transitions_;
}

}  // namespace vigil::caps

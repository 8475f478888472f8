#include "queued_output.h"

#include <signal.h>

#include <random>

#include "absl/strings/str_cat.h"
#include "outputs_internal.h"
#include "vigil/engine/log.h"

namespace vigil::engine {
namespace {

using Clock = std::chrono::steady_clock;

// A worker blocked in write() (a pipe nobody reads, a hung NFS file) is
// interrupted at the stop deadline by this signal, whose handler does nothing
// and is installed without SA_RESTART, so the call returns EINTR.
int InterruptSignal() {
  static const int sig = [] {
    int s = SIGRTMIN + 3;
    struct sigaction sa {};
    sa.sa_handler = [](int) {};
    sigemptyset(&sa.sa_mask);
    sigaction(s, &sa, nullptr);
    return s;
  }();
  return sig;
}

constexpr size_t kMaxSpares = 4096;
constexpr size_t kChunkBytes = 64 << 10;
constexpr auto kBackoffFirst = std::chrono::milliseconds(200);
constexpr auto kBackoffMax = std::chrono::milliseconds(30000);

}  // namespace

void RateLimitedLog::Warn(std::string_view message) {
  std::lock_guard<std::mutex> lock(mu_);
  auto now = Clock::now();
  if (last_ != Clock::time_point{} && now - last_ < std::chrono::seconds(1)) {
    ++suppressed_;
    return;
  }
  last_ = now;
  std::string line = absl::StrCat(prefix_, ": ", AV(message));
  if (suppressed_) absl::StrAppend(&line, " (", suppressed_, " similar messages suppressed)");
  suppressed_ = 0;
  LogWarn(line);
}

QueuedOutput::QueuedOutput(std::string name, OutputFilter filter, const OutputContext& context,
                           QueueLimits limits)
    : Output(name, std::move(filter), context), log_(absl::StrCat("output ", name)), limits_(limits) {
  InterruptSignal();
}

QueuedOutput::~QueuedOutput() {
  if (worker_.joinable()) Stop(Clock::now());
}

void QueuedOutput::Start() {
  if (worker_.joinable()) return;
  worker_ = std::thread([this] {
    worker_handle_ = pthread_self();
    pthread_setname_np(pthread_self(), "vigil-output");
    Run();
  });
}

void QueuedOutput::Write(const events::Event& e) {
  int severity;
  if (!Wanted(e, severity)) return;
  if (limits_.coalesce) {
    Render(e, severity, pending_.data);
    ++pending_.events;
    if (pending_.data.size() >= kChunkBytes) Stage(std::move(pending_));
  } else {
    Item item;
    if (!local_spares_.empty()) {
      item.data = std::move(local_spares_.back());
      local_spares_.pop_back();
      item.data.clear();
    }
    Render(e, severity, item.data);
    item.events = 1;
    Stage(std::move(item));
  }
}

void QueuedOutput::Stage(Item item) {
  staged_bytes_ += item.data.size();
  staged_.push_back(std::move(item));
  pending_ = Item{};
  // A long poll must not grow the staging area past a share of the queue.
  if (staged_bytes_ >= limits_.max_bytes / 4) Flush();
}

void QueuedOutput::Flush() {
  if (pending_.events) {
    staged_bytes_ += pending_.data.size();
    staged_.push_back(std::move(pending_));
    pending_ = Item{};
  }
  if (staged_.empty()) return;
  uint64_t queued = 0, dropped = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.empty()) oldest_ = Clock::now();
    for (Item& item : staged_) {
      if (queue_bytes_ + item.data.size() > limits_.max_bytes) {
        dropped += item.events;
        if (spares_.size() < kMaxSpares) spares_.push_back(std::move(item.data));
        continue;
      }
      queued += item.events;
      queue_bytes_ += item.data.size();
      queue_events_ += item.events;
      queue_.push_back(std::move(item));
    }
    while (!spares_.empty() && local_spares_.size() < 1024) {
      local_spares_.push_back(std::move(spares_.back()));
      spares_.pop_back();
    }
  }
  staged_.clear();
  staged_bytes_ = 0;
  counters_.queued += queued;
  if (dropped) {
    counters_.dropped += dropped;
    log_.Warn(absl::StrCat("queue full (", limits_.max_bytes >> 10, " KiB): dropped ", dropped,
                           " events; the destination is slower than the event rate or not taking events"));
  }
  cv_.notify_one();
}

void QueuedOutput::SignalWorker() {
  if (pthread_t t = worker_handle_.load(); t != pthread_t{}) pthread_kill(t, InterruptSignal());
}

void QueuedOutput::Run() {
  std::mt19937_64 rng{std::random_device{}()};
  std::vector<Item> batch;
  auto backoff = kBackoffFirst;
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    // Wait for a full batch, the batch interval of the oldest queued event, or stop.
    while (!stopping_ && queue_events_ < limits_.batch_events) {
      if (queue_.empty()) {
        cv_.wait(lock);
        continue;
      }
      const Clock::time_point due = oldest_ + limits_.batch_interval;
      if (Clock::now() >= due) break;
      cv_.wait_until(lock, due);
    }
    if (queue_.empty()) {
      if (stopping_) break;
      continue;
    }
    if (aborting()) break;
    uint64_t events = 0;
    while (!queue_.empty() && events < limits_.batch_events) {
      events += queue_.front().events;
      queue_bytes_ -= queue_.front().data.size();
      queue_events_ -= queue_.front().events;
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    oldest_ = Clock::now();
    in_flight_ = events;
    lock.unlock();

    while (!batch.empty()) {
      uint64_t before = 0, after = 0;
      for (const Item& i : batch) before += i.events;
      dropped_in_send_ = 0;
      SendResult r = Send(batch);
      for (const Item& i : batch) after += i.events;
      counters_.sent += before - after - dropped_in_send_;
      if (batch.empty()) {
        backoff = kBackoffFirst;
        break;
      }
      ++counters_.errors;
      if (r == SendResult::kRefused) {
        counters_.dropped += after;
        batch.clear();
        break;
      }
      if (aborting()) break;
      // Exponential backoff with jitter, cut short only by the stop deadline.
      auto wait = std::chrono::milliseconds(
          std::uniform_int_distribution<int64_t>(backoff.count() / 2, backoff.count())(rng));
      backoff = std::min(backoff * 2, kBackoffMax);
      {
        std::unique_lock<std::mutex> wait_lock(mu_);
        cv_.wait_for(wait_lock, wait, [&] { return aborting(); });
      }
      if (aborting()) break;
      ++counters_.retried;
    }
    lock.lock();
    uint64_t left = 0;
    for (Item& i : batch) {
      left += i.events;
      if (spares_.size() < kMaxSpares) spares_.push_back(std::move(i.data));
    }
    batch.clear();
    in_flight_ = left;
    if (left) break;  // aborting with a batch not sent
  }
  counters_.unsent = queue_events_ + in_flight_;
  done_ = true;
  cv_.notify_all();
}

void QueuedOutput::Stop(Clock::time_point deadline) {
  if (stopped_) return;
  stopped_ = true;
  Flush();
  if (!worker_.joinable()) {
    std::lock_guard<std::mutex> lock(mu_);
    counters_.unsent = queue_events_;
    return;
  }
  {
    std::unique_lock<std::mutex> lock(mu_);
    stopping_ = true;
    cv_.notify_all();
    cv_.wait_until(lock, deadline, [&] { return done_; });
    if (!done_) {
      aborting_ = true;
      cv_.notify_all();
    }
  }
  // Past the deadline the worker gives up at its next check; a blocked call is interrupted.
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_for(lock, std::chrono::milliseconds(20), [&] { return done_; })) break;
    }
    Interrupt();
    SignalWorker();
  }
  worker_.join();
}

}  // namespace vigil::engine

// The bounded queue and worker thread behind files, syslog and webhooks.
#pragma once

#include <pthread.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "vigil/engine/outputs/output.h"

namespace vigil::engine {

// Logs an output's failures at most once per second, counting the rest.
class RateLimitedLog {
 public:
  explicit RateLimitedLog(std::string prefix) : prefix_(std::move(prefix)) {}
  void Warn(std::string_view message);

 private:
  std::mutex mu_;
  std::string prefix_;
  std::chrono::steady_clock::time_point last_{};
  uint64_t suppressed_ = 0;
};

class QueuedOutput : public Output {
 public:
  ~QueuedOutput() override;
  void Write(const events::Event& e) final;
  void Flush() final;
  void Stop(std::chrono::steady_clock::time_point deadline) final;
  // Starts the worker thread (after set-up, so that it inherits no capability).
  void Start();

 protected:
  struct Item {
    std::string data;
    uint32_t events = 0;
  };
  enum class SendResult { kOk, kRetry, kRefused };
  struct QueueLimits {
    size_t max_bytes = 16u << 20;
    // Events a worker takes at once, and how long it waits to fill a batch.
    size_t batch_events = SIZE_MAX;
    std::chrono::milliseconds batch_interval{0};
    // Many events per item (files) or one item per event (messages).
    bool coalesce = false;
  };

  QueuedOutput(std::string name, OutputFilter filter, const OutputContext& context, QueueLimits limits);

  // Consumer thread: appends one rendered event to `out`.
  virtual void Render(const events::Event& e, int severity, std::string& out) = 0;
  // Worker thread: sends items from the front of `batch`, erasing what was
  // delivered; kRetry (try again after a backoff) or kRefused (drop the rest) on failure.
  virtual SendResult Send(std::vector<Item>& batch) = 0;
  // Called repeatedly once the stop deadline passed, until the worker exits:
  // unblock whatever Send() waits in.
  virtual void Interrupt() {}

  // True once the stop deadline has passed: Send() should give up now.
  bool aborting() const { return aborting_.load(std::memory_order_relaxed); }
  void SignalWorker();
  // Send(): `item` (about to be erased from the batch) is dropped, not sent.
  void DropInSend(const Item& item) {
    dropped_in_send_ += item.events;
    counters_.dropped += item.events;
  }  // interrupts a blocking system call in the worker (EINTR)
  RateLimitedLog log_;

 private:
  void Run();
  void Stage(Item item);

  QueueLimits limits_;
  // Consumer thread only.
  std::vector<Item> staged_;
  size_t staged_bytes_ = 0;
  Item pending_;  // coalescing outputs: the chunk being filled
  std::vector<std::string> local_spares_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  size_t queue_bytes_ = 0;
  uint64_t queue_events_ = 0;
  std::chrono::steady_clock::time_point oldest_{};
  std::vector<std::string> spares_;
  bool stopping_ = false;
  bool done_ = false;
  bool stopped_ = false;
  uint64_t dropped_in_send_ = 0;  // worker thread
  uint64_t in_flight_ = 0;
  std::atomic<bool> aborting_{false};
  std::thread worker_;
  std::atomic<pthread_t> worker_handle_{};
};

}  // namespace vigil::engine

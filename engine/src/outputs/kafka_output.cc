// -o kafka:BROKERS/TOPIC with librdkafka: an idempotent, compressing producer
// whose own bounded queue is this output's queue; key = hostName, so one
// host's events stay ordered within a partition.
#include <librdkafka/rdkafka.h>

#include <cstring>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "outputs_internal.h"
#include "queued_output.h"
#include "vigil/engine/json.h"
#include "vigil/engine/log.h"

namespace vigil::engine {
namespace {

using Clock = std::chrono::steady_clock;

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

class KafkaOutput : public Output {
 public:
  KafkaOutput(const OutputSpec& spec, const OutputContext& context, ConfPtr conf, std::string topic)
      : Output(absl::StrCat("kafka:", spec.target), spec.filter, context),
        log_(absl::StrCat("output ", name_)),
        conf_(std::move(conf)),
        topic_(std::move(topic)) {}
  ~KafkaOutput() override { Stop(Clock::now()); }

  void Start() override {
    if (rk_ != nullptr || stopped_) return;
    rd_kafka_conf_t* conf = rd_kafka_conf_dup(conf_.get());
    rd_kafka_conf_set_opaque(conf, this);
    char err[512];
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (rk_ == nullptr) {  // checked at open; only a resource failure gets here
      rd_kafka_conf_destroy(conf);
      log_.Warn(absl::StrCat("cannot create the producer: ", err));
      return;
    }
    rkt_ = rd_kafka_topic_new(rk_, topic_.c_str(), nullptr);
    poller_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "vigil-kafka");
      while (!stop_poll_.load()) rd_kafka_poll(rk_, 100);
    });
  }

  void Write(const events::Event& e) override {
    int severity;
    if (!Wanted(e, severity)) return;
    if (rk_ == nullptr) {
      ++counters_.dropped;
      return;
    }
    static const std::vector<std::string> kNoNames;
    value_.clear();
    AppendEventJson(value_, e, context_.policy_names ? *context_.policy_names : kNoNames);
    value_.pop_back();  // '\n'
    const std::string& key = e.host_name.empty() ? context_.host_name : e.host_name;
    rd_kafka_resp_err_t err =
        rd_kafka_producev(rk_, RD_KAFKA_V_RKT(rkt_), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_VALUE(value_.data(), value_.size()),
                          RD_KAFKA_V_KEY(key.data(), key.size()), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++counters_.queued;
      return;
    }
    ++counters_.dropped;
    log_.Warn(absl::StrCat("produce: ", rd_kafka_err2str(err),
                           err == RD_KAFKA_RESP_ERR__QUEUE_FULL
                               ? " (the brokers are slower than the event rate, "
                                 "or unreachable); events dropped"
                               : "; event dropped"));
  }

  void Stop(Clock::time_point deadline) override {
    if (stopped_) return;
    stopped_ = true;
    if (rk_ == nullptr) return;
    stop_poll_ = true;
    poller_.join();
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    rd_kafka_flush(rk_, static_cast<int>(std::max<int64_t>(left, 0)));
    counters_.unsent = static_cast<uint64_t>(rd_kafka_outq_len(rk_));
    stopping_ = true;  // purged messages are unsent, not failed
    rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT | RD_KAFKA_PURGE_F_NON_BLOCKING);
    rd_kafka_poll(rk_, 0);
    rd_kafka_topic_destroy(rkt_);
    rd_kafka_destroy(rk_);
    rk_ = nullptr;
  }

  // librdkafka callbacks (its threads, or the poller for delivery reports).
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<KafkaOutput*>(opaque);
    if (self == nullptr) return;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++self->counters_.sent;
      return;
    }
    if (self->stopping_ &&
        (m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT))
      return;
    ++self->counters_.dropped;
    self->log_.Warn(absl::StrCat("delivery failed: ", rd_kafka_err2str(m->err), "; event dropped"));
  }
  static void OnError(rd_kafka_t*, int err, const char* reason, void* opaque) {
    auto* self = static_cast<KafkaOutput*>(opaque);
    if (self == nullptr) return;
    ++self->counters_.errors;
    self->log_.Warn(absl::StrCat(rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)), ": ", reason,
                                 " (librdkafka retries)"));
  }
  static void OnLog(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
    auto* self = static_cast<KafkaOutput*>(rd_kafka_opaque(rk));
    if (level <= 4 && self)  // LOG_WARNING and worse
      self->log_.Warn(absl::StrCat(facility, ": ", message));
    else
      LogDebug(absl::StrCat("librdkafka ", facility, ": ", message));
  }
  // Retries are librdkafka's: the statistics carry each broker's txretries.
  static int OnStats(rd_kafka_t*, char* json, size_t len, void* opaque) {
    auto* self = static_cast<KafkaOutput*>(opaque);
    if (self == nullptr) return 0;
    std::string_view s(json, len);
    uint64_t total = 0;
    constexpr std::string_view kKey = "\"txretries\":";
    for (size_t at = s.find(kKey); at != std::string_view::npos; at = s.find(kKey, at + 1)) {
      size_t start = at + kKey.size(), end = start;
      while (end < s.size() && s[end] >= '0' && s[end] <= '9') ++end;
      uint64_t v;
      if (absl::SimpleAtoi(AV(s.substr(start, end - start)), &v)) total += v;
    }
    self->counters_.retried = total;
    return 0;
  }

 private:
  RateLimitedLog log_;
  ConfPtr conf_;
  const std::string topic_;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_topic_t* rkt_ = nullptr;
  std::thread poller_;
  std::atomic<bool> stop_poll_{false};
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;
  std::string value_;  // consumer thread scratch
};

}  // namespace

absl::StatusOr<std::unique_ptr<Output>> OpenKafkaOutput(const OutputSpec& spec, const OutputOptions& options,
                                                        const OutputContext& context) {
  const size_t slash = spec.target.rfind('/');
  const std::string brokers = spec.target.substr(0, slash), topic = spec.target.substr(slash + 1);
  ConfPtr conf(rd_kafka_conf_new());
  char err[512];
  auto set = [&](const std::string& key, const std::string& value,
                 const std::string& origin) -> absl::Status {
    if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK)
      return absl::InvalidArgumentError(absl::StrCat(origin, ": ", err));
    return absl::OkStatus();
  };
  const std::string queue_kb = absl::StrCat(std::max<size_t>(options.queue_bytes >> 10, 1));
  const std::pair<const char*, std::string> defaults[] = {
      {"bootstrap.servers", brokers},
      {"client.id", "vigil"},
      {"enable.idempotence", "true"},
      {"compression.codec", "lz4"},
      {"linger.ms", "50"},
      {"queue.buffering.max.kbytes", queue_kb},
      {"queue.buffering.max.messages", "1000000"},
      // A broker may be down for minutes; a message waits in the bounded queue meanwhile.
      {"message.timeout.ms", "300000"},
      {"statistics.interval.ms", "1000"},
  };
  for (const auto& [k, v] : defaults)
    if (absl::Status st = set(k, v, absl::StrCat("--output ", spec.text)); !st.ok()) return st;
  for (const std::string& kv : options.kafka_options) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      return absl::InvalidArgumentError(absl::StrCat("--kafka-opt ", kv,
                                                     ": expected KEY=VALUE (a librdkafka "
                                                     "setting, e.g. security.protocol=ssl)"));
    if (absl::Status st = set(kv.substr(0, eq), kv.substr(eq + 1), absl::StrCat("--kafka-opt ", kv));
        !st.ok())
      return st;
  }
  rd_kafka_conf_set_dr_msg_cb(conf.get(), KafkaOutput::OnDelivery);
  rd_kafka_conf_set_error_cb(conf.get(), KafkaOutput::OnError);
  rd_kafka_conf_set_log_cb(conf.get(), KafkaOutput::OnLog);
  rd_kafka_conf_set_stats_cb(conf.get(), KafkaOutput::OnStats);
  // Settings that only a client checks as a whole (e.g. idempotence with acks=1)
  // fail here, as a usage error; the producer that runs is created by Start().
  rd_kafka_conf_t* probe_conf = rd_kafka_conf_dup(conf.get());
  rd_kafka_conf_set_opaque(probe_conf, nullptr);
  rd_kafka_t* probe = rd_kafka_new(RD_KAFKA_PRODUCER, probe_conf, err, sizeof(err));
  if (probe == nullptr) {
    rd_kafka_conf_destroy(probe_conf);
    return absl::InvalidArgumentError(absl::StrCat("--output ", spec.text, ": ", err));
  }
  rd_kafka_destroy(probe);
  return std::unique_ptr<Output>(new KafkaOutput(spec, context, std::move(conf), topic));
}

}  // namespace vigil::engine

// -o webhook:URL: batched HTTP(S) POSTs with libcurl (JSON lines, or Falco's
// payload one detection per request, as falcosidekick takes them).
#include <curl/curl.h>
#include <unistd.h>

#include <mutex>

#include "absl/strings/str_cat.h"
#include "outputs_internal.h"
#include "queued_output.h"
#include "vigil/engine/json.h"
#include "vigil/engine/outputs/render.h"

namespace vigil::engine {
namespace {

size_t DiscardBody(char*, size_t size, size_t n, void*) { return size * n; }

class WebhookOutput : public QueuedOutput {
 public:
  WebhookOutput(const OutputSpec& spec, const OutputOptions& options, const OutputContext& context)
      : QueuedOutput(absl::StrCat("webhook:", spec.target), spec.filter, context,
                     QueueLimits{.max_bytes = options.queue_bytes,
                                 .batch_events = options.webhook_format == WebhookFormat::kFalco
                                                     ? 64
                                                     : options.webhook_batch_events,
                                 .batch_interval = options.webhook_format == WebhookFormat::kFalco
                                                       ? std::chrono::milliseconds(0)
                                                       : options.webhook_batch_interval}),
        url_(spec.target),
        format_(options.webhook_format),
        ca_file_(options.webhook_ca_file),
        timeout_(options.webhook_timeout) {}
  ~WebhookOutput() override {
    Stop(std::chrono::steady_clock::now());
    if (headers_) curl_slist_free_all(headers_);
    if (easy_) curl_easy_cleanup(easy_);
    if (multi_) curl_multi_cleanup(multi_);
  }

 private:
  void Render(const events::Event& e, int severity, std::string& out) override {
    static const std::vector<std::string> kNoNames;
    if (format_ == WebhookFormat::kFalco) {
      AppendFalcoPayload(out, e, severity, e.host_name.empty() ? context_.host_name : e.host_name,
                         RandomUuid());
      return;
    }
    AppendEventJson(out, e, context_.policy_names ? *context_.policy_names : kNoNames);
  }

  bool Init() {
    if (easy_) return true;
    multi_ = curl_multi_init();
    easy_ = curl_easy_init();
    if (!multi_ || !easy_) return false;
    headers_ =
        curl_slist_append(headers_, format_ == WebhookFormat::kFalco ? "Content-Type: application/json"
                                                                     : "Content-Type: application/x-ndjson");
    headers_ = curl_slist_append(headers_, "Expect:");
    curl_easy_setopt(easy_, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(easy_, CURLOPT_USERAGENT, "vigil/0.1.0");
    curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!ca_file_.empty()) curl_easy_setopt(easy_, CURLOPT_CAINFO, ca_file_.c_str());
    curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, DiscardBody);
    curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy_, CURLOPT_FOLLOWLOCATION, 0L);
    return true;
  }

  // One POST; the HTTP status, or 0 with `error` set when none was received.
  long Post(const std::string& body, std::string& error) {
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_multi_add_handle(multi_, easy_);
    int running = 1;
    bool aborted = false;
    while (true) {
      curl_multi_perform(multi_, &running);
      if (!running) break;
      if (aborting()) {
        aborted = true;
        break;
      }
      curl_multi_poll(multi_, nullptr, 0, 100, nullptr);
    }
    CURLcode code = CURLE_OK;
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi_, &left))
      if (m->msg == CURLMSG_DONE) code = m->data.result;
    curl_multi_remove_handle(multi_, easy_);
    if (aborted) {
      error = "stopped";
      return 0;
    }
    if (code != CURLE_OK) {
      error = curl_easy_strerror(code);
      return 0;
    }
    long status = 0;
    curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
    return status;
  }

  // 2xx: sent; 408, 429 and 5xx: retried; other statuses: refused.
  SendResult Classify(long status, const std::string& error) {
    if (status >= 200 && status < 300) return SendResult::kOk;
    if (status == 0) {
      log_.Warn(absl::StrCat("POST ", url_, ": ", error, "; retrying with backoff"));
      return SendResult::kRetry;
    }
    if (status == 408 || status == 429 || status >= 500) {
      log_.Warn(absl::StrCat("POST ", url_, ": HTTP ", status, "; retrying with backoff"));
      return SendResult::kRetry;
    }
    log_.Warn(absl::StrCat("POST ", url_, ": HTTP ", status, "; the server refused the events, not retried"));
    return SendResult::kRefused;
  }

  SendResult Send(std::vector<Item>& batch) override {
    if (!Init()) {
      log_.Warn("libcurl could not be initialised; retrying");
      return SendResult::kRetry;
    }
    std::string error;
    if (format_ == WebhookFormat::kFalco) {
      size_t done = 0;
      SendResult r = SendResult::kOk;
      for (Item& item : batch) {
        r = Classify(Post(item.data, error), error);
        if (r != SendResult::kOk) break;
        ++done;
      }
      batch.erase(batch.begin(), batch.begin() + static_cast<ptrdiff_t>(done));
      return r;
    }
    body_.clear();
    for (const Item& item : batch) body_ += item.data;
    SendResult r = Classify(Post(body_, error), error);
    if (r == SendResult::kOk) batch.clear();
    return r;
  }

  const std::string url_;
  const WebhookFormat format_;
  const std::string ca_file_;
  const std::chrono::milliseconds timeout_;
  // Worker thread.
  CURLM* multi_ = nullptr;
  CURL* easy_ = nullptr;
  curl_slist* headers_ = nullptr;
  std::string body_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Output>> OpenWebhookOutput(const OutputSpec& spec,
                                                          const OutputOptions& options,
                                                          const OutputContext& context) {
  static std::once_flag curl_init;
  std::call_once(curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (!options.webhook_ca_file.empty() && access(options.webhook_ca_file.c_str(), R_OK) != 0)
    return absl::InvalidArgumentError(
        absl::StrCat("--webhook-ca-file ", options.webhook_ca_file, ": ", strerror(errno)));
  return std::unique_ptr<Output>(new WebhookOutput(spec, options, context));
}

}  // namespace vigil::engine

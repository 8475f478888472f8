// -o syslog[:TARGET]: RFC 5424 over UDP or TCP (RFC 6587 octet counting), or
// the local syslog socket (/dev/log) in the format syslog(3) writes there.
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "outputs_internal.h"
#include "queued_output.h"
#include "vigil/engine/json.h"
#include "vigil/engine/outputs/render.h"

namespace vigil::engine {
namespace {

using Clock = std::chrono::steady_clock;

enum class Transport { kUnix, kUdp, kTcp };

class SyslogOutput : public QueuedOutput {
 public:
  SyslogOutput(const OutputSpec& spec, const OutputOptions& options, const OutputContext& context,
               Transport transport, std::string address)
      : QueuedOutput(absl::StrCat("syslog:", spec.target), spec.filter, context,
                     QueueLimits{.max_bytes = options.queue_bytes, .batch_events = 256}),
        transport_(transport),
        address_(std::move(address)),
        procid_(static_cast<uint32_t>(getpid())) {}
  ~SyslogOutput() override {
    Stop(Clock::now());
    CloseSocket();
  }

 private:
  void Render(const events::Event& e, int severity, std::string& out) override {
    static const std::vector<std::string> kNoNames;
    json_.clear();
    AppendEventJson(json_, e, context_.policy_names ? *context_.policy_names : kNoNames);
    const int syslog_severity = SyslogSeverity(severity);
    if (transport_ == Transport::kUnix) {
      AppendSyslogLocal(out, e, json_, syslog_severity, procid_);
      return;
    }
    message_.clear();
    AppendSyslog5424(message_, e, json_, syslog_severity,
                     e.host_name.empty() ? context_.host_name : e.host_name, procid_);
    if (transport_ == Transport::kTcp) absl::StrAppend(&out, message_.size(), " ");  // RFC 6587 §3.4.1
    out += message_;
  }

  void CloseSocket() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    front_offset_ = 0;
  }

  // Waits until fd is ready for `events`, up to `timeout`, giving up at the stop deadline.
  bool WaitFor(short events, std::chrono::milliseconds timeout) {
    const auto until = Clock::now() + timeout;
    while (!aborting() && Clock::now() < until) {
      pollfd p{.fd = fd_, .events = events, .revents = 0};
      int n = poll(&p, 1, 100);
      if (n > 0) return true;
      if (n < 0 && errno != EINTR) return false;
    }
    return false;
  }

  bool Connect() {
    if (fd_ >= 0) return true;
    if (transport_ == Transport::kUnix) {
      fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      sockaddr_un sa{};
      sa.sun_family = AF_UNIX;
      if (address_.size() >= sizeof(sa.sun_path)) {
        log_.Warn("socket path too long");
        CloseSocket();
        return false;
      }
      memcpy(sa.sun_path, address_.c_str(), address_.size() + 1);
      if (fd_ < 0 || connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
        log_.Warn(absl::StrCat("connect ", address_, ": ", strerror(errno),
                               " (is a syslog daemon running?); retrying"));
        CloseSocket();
        return false;
      }
      return true;
    }
    // "HOST:PORT" or "[V6]:PORT"
    std::string host = address_.substr(0, address_.rfind(':'));
    std::string port = address_.substr(address_.rfind(':') + 1);
    if (host.starts_with('[')) host = host.substr(1, host.size() - 2);
    addrinfo hints{};
    hints.ai_socktype = transport_ == Transport::kTcp ? SOCK_STREAM : SOCK_DGRAM;
    addrinfo* res = nullptr;
    if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
      log_.Warn(absl::StrCat("resolve ", address_, ": ", gai_strerror(rc), "; retrying"));
      return false;
    }
    std::string last_error = "no address";
    for (addrinfo* a = res; a != nullptr && fd_ < 0; a = a->ai_next) {
      fd_ = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
      if (fd_ < 0) continue;
      if (connect(fd_, a->ai_addr, a->ai_addrlen) == 0) break;
      if (errno == EINPROGRESS && WaitFor(POLLOUT, std::chrono::seconds(2))) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err == 0) break;
        errno = err;
      } else if (errno == EINPROGRESS) {
        errno = ETIMEDOUT;
      }
      last_error = strerror(errno);
      CloseSocket();
    }
    freeaddrinfo(res);
    if (fd_ < 0) {
      log_.Warn(absl::StrCat("connect ", address_, ": ", last_error, "; retrying"));
      return false;
    }
    return true;
  }

  SendResult Send(std::vector<Item>& batch) override {
    if (!Connect()) return SendResult::kRetry;
    size_t done_items = 0;
    SendResult result = SendResult::kOk;
    for (Item& item : batch) {
      if (transport_ != Transport::kTcp) {
        ssize_t n;
        while ((n = send(fd_, item.data.data(), item.data.size(), MSG_NOSIGNAL)) < 0 &&
               (errno == EAGAIN || errno == EINTR) && WaitFor(POLLOUT, std::chrono::seconds(1))) {
        }
        if (n < 0 && errno == EMSGSIZE) {
          log_.Warn(
              absl::StrCat("an event of ", item.data.size(), " bytes does not fit in a datagram; dropped"));
          DropInSend(item);
        } else if (n < 0) {
          log_.Warn(absl::StrCat("send to ", address_, ": ", strerror(errno), "; retrying"));
          CloseSocket();
          result = SendResult::kRetry;
          break;
        }
        ++done_items;
        continue;
      }
      // TCP: a frame cut by a broken connection is resent whole on the next one.
      while (front_offset_ < item.data.size()) {
        ssize_t n =
            send(fd_, item.data.data() + front_offset_, item.data.size() - front_offset_, MSG_NOSIGNAL);
        if (n > 0) {
          front_offset_ += static_cast<size_t>(n);
          continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR) && WaitFor(POLLOUT, std::chrono::seconds(5)))
          continue;
        log_.Warn(absl::StrCat("send to ", address_, ": ",
                               n < 0 && errno != EAGAIN ? strerror(errno) : "timed out", "; reconnecting"));
        CloseSocket();
        result = SendResult::kRetry;
        break;
      }
      if (result != SendResult::kOk) break;
      front_offset_ = 0;
      ++done_items;
    }
    batch.erase(batch.begin(), batch.begin() + static_cast<ptrdiff_t>(done_items));
    return result;
  }

  const Transport transport_;
  const std::string address_;
  const uint32_t procid_;
  std::string json_, message_;  // consumer thread scratch
  int fd_ = -1;                 // worker thread
  size_t front_offset_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Output>> OpenSyslogOutput(const OutputSpec& spec, const OutputOptions& options,
                                                         const OutputContext& context) {
  Transport transport;
  std::string address;
  if (spec.target.starts_with("unix:")) {
    transport = Transport::kUnix;
    address = spec.target.substr(5);
  } else {
    transport = spec.target.starts_with("tcp://") ? Transport::kTcp : Transport::kUdp;
    address = spec.target.substr(6);
  }
  return std::unique_ptr<Output>(new SyslogOutput(spec, options, context, transport, std::move(address)));
}

}  // namespace vigil::engine

#include "vigil/engine/http_server.h"

#include <httplib.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace vigil::engine {

absl::StatusOr<ListenAddress> ParseListenAddress(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen ", std::string(text), ": ", std::string(why),
                     "; expected ADDR:PORT such as 127.0.0.1:9090 or [::1]:9090"));
  };
  ListenAddress a;
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return bad("no address or port");
  std::string_view host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return bad("an IPv6 address goes in brackets");
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return bad("an IPv6 address goes in brackets");
  }
  int port;
  if (!absl::SimpleAtoi(std::string(text.substr(colon + 1)), &port) || port < 0 || port > 65535)
    return bad("the port is not a number from 0 to 65535");
  a.host = std::string(host);
  a.port = port;
  return a;
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const ListenAddress& address,
                                                              std::shared_ptr<const StatusBoard> board) {
  std::unique_ptr<HttpServer> s(new HttpServer());
  s->board_ = std::move(board);
  s->server_ = std::make_unique<httplib::Server>();
  httplib::Server& svr = *s->server_;
  // Two workers are plenty for a scraper and a health probe; a client that
  // stalls is dropped after a second, a request body is never read.
  svr.new_task_queue = [] { return new httplib::ThreadPool(2); };
  svr.set_read_timeout(1, 0);
  svr.set_write_timeout(1, 0);
  svr.set_keep_alive_timeout(2);
  svr.set_keep_alive_max_count(100);
  svr.set_payload_max_length(1024);
  const StatusBoard* b = s->board_.get();
  svr.Get("/healthz", [b](const httplib::Request&, httplib::Response& res) {
    std::shared_ptr<const StatusSnapshot> snap = b->Current();
    res.status = snap->health.ok() ? 200 : 503;
    res.set_content(snap->health.Json(), "application/json");
  });
  svr.Get("/metrics", [b](const httplib::Request&, httplib::Response& res) {
    std::shared_ptr<const StatusSnapshot> snap = b->Current();
    res.set_content(snap->metrics, "text/plain; version=0.0.4; charset=utf-8");
  });
  svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    res.status = 500;
    res.set_content("internal error\n", "text/plain");
  });
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which would let a
  // second sensor share the port silently instead of failing to bind.
  svr.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  if (address.host.find(':') != std::string::npos) svr.set_address_family(AF_INET6);
  if (address.port == 0) {
    s->port_ = svr.bind_to_any_port(address.host);
    if (s->port_ <= 0)
      return absl::UnavailableError(
          absl::StrCat("--listen ", address.host, ":0: cannot bind (", strerror(errno), ")"));
  } else {
    if (!svr.bind_to_port(address.host, address.port))
      return absl::UnavailableError(absl::StrCat("--listen ", address.host, ":", address.port,
                                                 ": cannot bind (", strerror(errno),
                                                 "); is another process listening there?"));
    s->port_ = address.port;
  }
  s->thread_ = std::thread([&svr] { svr.listen_after_bind(); });
  // httplib's stop() does nothing until the loop runs: wait for it, so that
  // the destructor can always stop it (and requests are served on return).
  for (int i = 0; i < 2000 && !svr.is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (!svr.is_running()) return absl::InternalError("--listen: the HTTP server did not start");
  return s;
}

HttpServer::~HttpServer() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace vigil::engine

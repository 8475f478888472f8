// --listen ADDR:PORT: GET /healthz and GET /metrics from the StatusBoard, on
// cpp-httplib's own threads (a small pool, short timeouts, tiny request
// limit), so bad requests and slow clients cost the event path nothing.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "vigil/engine/health.h"

namespace httplib {
class Server;
}

namespace vigil::engine {

struct ListenAddress {
  std::string host;  // "127.0.0.1", "::1", "0.0.0.0"
  int port = 0;      // 0: any free port (the bound one is logged)
};

// "127.0.0.1:9090", "[::1]:9090", "0.0.0.0:9090", "localhost:9090".
absl::StatusOr<ListenAddress> ParseListenAddress(std::string_view text);

class HttpServer {
 public:
  // Binds (a failure is returned: address in use, no permission) and serves
  // from a thread until destroyed.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const ListenAddress& address,
                                                           std::shared_ptr<const StatusBoard> board);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }

 private:
  HttpServer() = default;
  std::unique_ptr<httplib::Server> server_;
  std::shared_ptr<const StatusBoard> board_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace vigil::engine

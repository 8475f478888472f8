// HTTP/1.x message heads (request line or status line, then headers),
// recognised from the bytes themselves on any port. Only the head is read:
// the kernel captures up to the end of the headers, bounded.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vigil::net {

struct HttpHead {
  enum class Kind : uint8_t { kRequest, kResponse } kind = Kind::kRequest;
  std::string protocol;  // "HTTP/1.1"
  // Requests.
  std::string method;  // "GET"
  std::string path;    // the request target as sent: "/index.html?q=1"
  std::string host;    // the Host header
  std::string user_agent;
  // Responses.
  int status_code = 0;  // 200
  std::string status;   // "200 OK"
  // Both: -1 when absent or not a number.
  int64_t content_length = -1;
  std::vector<std::pair<std::string, std::string>> headers;  // in order, at most kHttpMaxHeaders
  // The head did not end (no empty line) within the bytes given.
  bool incomplete = false;
};

inline constexpr size_t kHttpMaxHeaders = 32;
inline constexpr size_t kHttpMaxLine = 4096;

// True when `payload` starts like an HTTP/1.x request ("GET / HTTP/1.1")
// or response ("HTTP/1.1 200"): a known method or the version, at byte 0.
bool LooksLikeHttp(std::span<const uint8_t> payload);

// The head of an HTTP/1.x message; nullopt when it is not one (the first
// line is not a request line or a status line, e.g. TLS or HTTP/2).
std::optional<HttpHead> ParseHttpHead(std::span<const uint8_t> payload);

}  // namespace vigil::net

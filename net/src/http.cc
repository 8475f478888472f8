#include "vigil/net/http.h"

#include <algorithm>
#include <charconv>

namespace vigil::net {
namespace {

// RFC 9110 methods and WebDAV's common ones.
constexpr std::string_view kMethods[] = {"GET",     "HEAD",    "POST",  "PUT",      "DELETE",
                                         "CONNECT", "OPTIONS", "TRACE", "PATCH",    "PROPFIND",
                                         "MKCOL",   "COPY",    "MOVE",  "PROPPATCH"};

// (Debian's Abseil has its own string_view, so these two are written here.)
std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return (x | 0x20) == (y | 0x20); });
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string_view AsView(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

bool IsVersion(std::string_view v) {
  return v.size() == 8 && v.starts_with("HTTP/1.") && (v[7] == '0' || v[7] == '1');
}

// Header values and paths keep printable bytes only (tabs become spaces):
// the output is read by people and matched by rules.
std::string Clean(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u == '\t')
      out += ' ';
    else if (u >= 0x20 && u != 0x7f)
      out += c;
  }
  return out;
}

bool ParseRequestLine(std::string_view line, HttpHead& h) {
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return false;
  std::string_view method = line.substr(0, sp1);
  bool known = false;
  for (std::string_view m : kMethods) known = known || m == method;
  if (!known) return false;
  size_t sp2 = line.rfind(' ');
  if (sp2 == sp1) return false;
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (target.empty() || !IsVersion(version)) return false;
  h.kind = HttpHead::Kind::kRequest;
  h.method = std::string(method);
  h.path = Clean(target);
  h.protocol = std::string(version);
  return true;
}

bool ParseStatusLine(std::string_view line, HttpHead& h) {
  if (line.size() < 12 || !IsVersion(line.substr(0, 8)) || line[8] != ' ') return false;
  std::string_view code = line.substr(9, 3);
  if (!IsDigit(code[0]) || !IsDigit(code[1]) || !IsDigit(code[2])) return false;
  if (line.size() > 12 && line[12] != ' ') return false;
  h.kind = HttpHead::Kind::kResponse;
  h.protocol = std::string(line.substr(0, 8));
  h.status_code = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
  h.status = Clean(Trim(line.substr(9)));
  return true;
}

}  // namespace

bool LooksLikeHttp(std::span<const uint8_t> payload) {
  std::string_view s = AsView(payload);
  if (s.starts_with("HTTP/1.")) return true;
  for (std::string_view m : kMethods)
    if (s.size() > m.size() && s.starts_with(m) && s[m.size()] == ' ') return true;
  return false;
}

std::optional<HttpHead> ParseHttpHead(std::span<const uint8_t> payload) {
  if (!LooksLikeHttp(payload)) return std::nullopt;
  std::string_view s = AsView(payload);
  HttpHead h;
  size_t pos = 0;
  bool first = true;
  for (;;) {
    size_t eol = s.find('\n', pos);
    if (eol == std::string_view::npos || eol - pos > kHttpMaxLine) {
      if (first) {  // a request line cut by the capture: keep what it says
        std::string_view line = s.substr(pos, std::min(s.size() - pos, kHttpMaxLine));
        if (!ParseRequestLine(line, h) && !ParseStatusLine(line, h)) return std::nullopt;
      }
      h.incomplete = true;
      return h;
    }
    std::string_view line = s.substr(pos, eol - pos);
    if (line.ends_with('\r')) line.remove_suffix(1);
    pos = eol + 1;
    if (first) {
      if (!ParseRequestLine(line, h) && !ParseStatusLine(line, h)) return std::nullopt;
      first = false;
      continue;
    }
    if (line.empty()) return h;  // the end of the head
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;  // malformed: skipped
    std::string_view name = Trim(line.substr(0, colon));
    std::string_view value = Trim(line.substr(colon + 1));
    if (EqualsIgnoreCase(name, "Host")) {
      h.host = Clean(value);
    } else if (EqualsIgnoreCase(name, "User-Agent")) {
      h.user_agent = Clean(value);
    } else if (EqualsIgnoreCase(name, "Content-Length")) {
      int64_t n = -1;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      h.content_length = (ec == std::errc() && end == value.data() + value.size() && n >= 0) ? n : -1;
    }
    if (h.headers.size() < kHttpMaxHeaders) h.headers.emplace_back(Clean(name), Clean(value));
  }
}

}  // namespace vigil::net

// engine/ JSON output: string escaping round-trips through a strict JSON
// parser (control characters, quotes, UTF-8 kept, invalid UTF-8 replaced by
// U+FFFD), and an event line carries every SPEC §2.1 field with its type.
#include "vigil/engine/json.h"

#include <fcntl.h>

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "vigil/events/event_ids.h"
#include "vigil/events/registry.h"

namespace vigil::engine {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// ------------------------------------------------------------ a strict JSON reader

// Just enough JSON (RFC 8259) to check what the sensor writes: strict about
// raw control characters, escapes and UTF-8, so that sloppy output fails.
struct Json {
  enum Type { kNull, kBool, kNumber, kString, kArray, kObject } type = kNull;
  bool boolean = false;
  std::string text;  // a number's literal text, or a string's decoded value
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> members;

  const Json* Get(std::string_view key) const {
    for (const auto& [k, v] : members)
      if (k == key) return &v;
    return nullptr;
  }
};

class JsonReader {
 public:
  explicit JsonReader(std::string_view text) : s_(text) {}

  // The whole input must be one value (plus surrounding whitespace).
  std::optional<Json> ParseDocument() {
    std::optional<Json> v = Value();
    SkipSpace();
    if (!v || pos_ != s_.size()) return std::nullopt;
    return v;
  }
  std::string error() const { return error_ + " at offset " + std::to_string(pos_); }

 private:
  std::optional<Json> Fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
    return std::nullopt;
  }
  void SkipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  bool Literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  std::optional<Json> Value() {
    SkipSpace();
    if (pos_ >= s_.size()) return Fail("unexpected end");
    char c = s_[pos_];
    Json v;
    if (c == '"') {
      std::optional<std::string> str = String();
      if (!str) return std::nullopt;
      v.type = Json::kString;
      v.text = std::move(*str);
      return v;
    }
    if (c == '{') return Object();
    if (c == '[') return Array();
    if (Literal("true")) {
      v.type = Json::kBool;
      v.boolean = true;
      return v;
    }
    if (Literal("false")) {
      v.type = Json::kBool;
      return v;
    }
    if (Literal("null")) return v;
    if (c == '-' || (c >= '0' && c <= '9')) return Number();
    return Fail(std::string("unexpected character '") + c + "'");
  }

  std::optional<Json> Number() {
    size_t start = pos_;
    auto digits = [&] {
      size_t d = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      return pos_ > d;
    };
    if (s_[pos_] == '-') ++pos_;
    if (pos_ < s_.size() && s_[pos_] == '0') {
      ++pos_;
    } else if (!digits()) {
      return Fail("bad number");
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (!digits()) return Fail("bad fraction");
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (!digits()) return Fail("bad exponent");
    }
    Json v;
    v.type = Json::kNumber;
    v.text = std::string(s_.substr(start, pos_ - start));
    return v;
  }

  std::optional<Json> Array() {
    ++pos_;  // [
    Json v;
    v.type = Json::kArray;
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return v;
    }
    while (true) {
      std::optional<Json> item = Value();
      if (!item) return std::nullopt;
      v.items.push_back(std::move(*item));
      SkipSpace();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == ']') {
        ++pos_;
        return v;
      }
      return Fail("expected , or ]");
    }
  }

  std::optional<Json> Object() {
    ++pos_;  // {
    Json v;
    v.type = Json::kObject;
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return v;
    }
    while (true) {
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != '"') return Fail("expected a key");
      std::optional<std::string> key = String();
      if (!key) return std::nullopt;
      for (const auto& m : v.members)
        if (m.first == *key) return Fail("duplicate key " + *key);
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != ':') return Fail("expected :");
      ++pos_;
      std::optional<Json> value = Value();
      if (!value) return std::nullopt;
      v.members.emplace_back(std::move(*key), std::move(*value));
      SkipSpace();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == '}') {
        ++pos_;
        return v;
      }
      return Fail("expected , or }");
    }
  }

  static void AppendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::optional<uint32_t> Hex4() {
    if (pos_ + 4 > s_.size()) return std::nullopt;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= c - '0';
      else if (c >= 'a' && c <= 'f')
        v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        v |= c - 'A' + 10;
      else
        return std::nullopt;
    }
    return v;
  }

  // A valid UTF-8 sequence (no overlongs, no surrogates) starting at pos_.
  size_t Utf8Length() const {
    auto b = [&](size_t k) { return static_cast<unsigned char>(s_[pos_ + k]); };
    unsigned char c = b(0);
    size_t len;
    uint32_t cp, min;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF)
      len = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0)
      len = 3, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
      len = 4, cp = c & 0x07, min = 0x10000;
    else
      return 0;
    if (pos_ + len > s_.size()) return 0;
    for (size_t k = 1; k < len; ++k) {
      if ((b(k) & 0xC0) != 0x80) return 0;
      cp = (cp << 6) | (b(k) & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
  }

  std::optional<std::string> String() {
    ++pos_;  // "
    std::string out;
    while (true) {
      if (pos_ >= s_.size()) {
        Fail("unterminated string");
        return std::nullopt;
      }
      auto c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) {
        Fail("raw control character in a string");
        return std::nullopt;
      }
      if (c == '\\') {
        if (++pos_ >= s_.size()) break;
        char e = s_[pos_++];
        switch (e) {
          case '"':
            out += '"';
            break;
          case '\\':
            out += '\\';
            break;
          case '/':
            out += '/';
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'n':
            out += '\n';
            break;
          case 'r':
            out += '\r';
            break;
          case 't':
            out += '\t';
            break;
          case 'u': {
            std::optional<uint32_t> cp = Hex4();
            if (!cp) break;
            if (*cp >= 0xD800 && *cp <= 0xDBFF) {  // a surrogate pair
              if (!Literal("\\u")) {
                Fail("lone high surrogate");
                return std::nullopt;
              }
              std::optional<uint32_t> lo = Hex4();
              if (!lo || *lo < 0xDC00 || *lo > 0xDFFF) {
                Fail("bad low surrogate");
                return std::nullopt;
              }
              *cp = 0x10000 + ((*cp - 0xD800) << 10) + (*lo - 0xDC00);
            } else if (*cp >= 0xDC00 && *cp <= 0xDFFF) {
              Fail("lone low surrogate");
              return std::nullopt;
            }
            AppendUtf8(out, *cp);
            continue;
          }
          default:
            Fail(std::string("bad escape \\") + e);
            return std::nullopt;
        }
        if (e == 'u') break;  // bad \u digits
        continue;
      }
      size_t len = Utf8Length();
      if (len == 0) {
        Fail("invalid UTF-8 in a string");
        return std::nullopt;
      }
      out.append(s_.substr(pos_, len));
      pos_ += len;
    }
    Fail("bad escape");
    return std::nullopt;
  }

  std::string_view s_;
  size_t pos_ = 0;
  std::string error_;
};

std::string Escape(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

// The escaped text parsed back, or a failure naming the escaped text.
std::string RoundTrip(std::string_view s) {
  std::string escaped = Escape(s);
  JsonReader reader(escaped);
  std::optional<Json> v = reader.ParseDocument();
  EXPECT_TRUE(v.has_value()) << "not valid JSON: " << escaped << " (" << reader.error() << ")";
  if (!v) return "<invalid>";
  EXPECT_EQ(v->type, Json::kString);
  return v->text;
}

const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Input made of `prefix`, then only U+FFFD (one or more), then `suffix`.
bool IsReplaced(const std::string& decoded, std::string_view prefix, std::string_view suffix) {
  if (!decoded.starts_with(prefix) || !decoded.ends_with(suffix)) return false;
  std::string_view middle(decoded);
  middle.remove_prefix(prefix.size());
  middle.remove_suffix(suffix.size());
  if (middle.empty()) return false;
  while (middle.starts_with(kReplacement)) middle.remove_prefix(kReplacement.size());
  return middle.empty();
}

// ------------------------------------------------------------ the reader itself

TEST(JsonReaderSelfTest, RejectsWhatIsNotJson) {
  for (std::string_view bad : {"\"a", "\"\x01\"", "\"\\x\"", "\"\xC0\x80\"", "\"\xED\xA0\x80\"", "{\"a\":1,}",
                               "[1,]", "01", "{\"a\":1,\"a\":2}", "\"\\ud800\""}) {
    EXPECT_FALSE(JsonReader(bad).ParseDocument().has_value()) << bad;
  }
  std::optional<Json> ok =
      JsonReader("{\"a\":[1,-2.5e3,true,null,\"\\u00e9\\ud834\\udd1e\"]}").ParseDocument();
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->Get("a")->items[4].text, "\xC3\xA9\xF0\x9D\x84\x9E");
}

// ------------------------------------------------------------ AppendJsonString

TEST(JsonString, PlainAsciiIsCopiedAndQuoted) {
  EXPECT_EQ(Escape("hello /etc/passwd"), "\"hello /etc/passwd\"");
  EXPECT_EQ(Escape(""), "\"\"");
}

TEST(JsonString, QuotesAndBackslashesAreEscaped) {
  EXPECT_EQ(Escape("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(RoundTrip("\"\\\"\\\\"), "\"\\\"\\\\");
  EXPECT_EQ(RoundTrip("C:\\dir\\\"x\""), "C:\\dir\\\"x\"");
}

TEST(JsonString, EveryControlCharacterIsEscapedAndRoundTrips) {
  for (int c = 0x00; c < 0x20; ++c) {
    std::string s = "a";
    s += static_cast<char>(c);
    s += "b";
    std::string escaped = Escape(s);
    for (char e : escaped) EXPECT_GE(static_cast<unsigned char>(e), 0x20) << "raw control byte " << c;
    EXPECT_EQ(RoundTrip(s), s) << "control character " << c;
  }
  std::string all;
  for (int c = 0x00; c < 0x20; ++c) all += static_cast<char>(c);
  EXPECT_EQ(RoundTrip(all), all);
  EXPECT_EQ(Escape(std::string("\n\t\r", 3)), "\"\\n\\t\\r\"");
  EXPECT_EQ(Escape(std::string("\0", 1)), "\"\\u0000\"");
  EXPECT_EQ(Escape("\x1f"), "\"\\u001f\"");
}

TEST(JsonString, DeleteAndSlashNeedNoEscapeButRoundTrip) { EXPECT_EQ(RoundTrip("\x7f/"), "\x7f/"); }

TEST(JsonString, ValidMultiByteUtf8IsKeptAsIs) {
  for (std::string_view s : {"\xC3\xA9t\xC3\xA9",  // é (2 bytes)
                             "\xE2\x82\xAC 5",     // € (3 bytes)
                             "\xF0\x9D\x84\x9E",   // U+1D11E (4 bytes)
                             "\xEF\xBF\xBF",       // U+FFFF
                             "\xF4\x8F\xBF\xBF",   // U+10FFFF, the last code point
                             "\xC2\x80",           // U+0080, the first 2-byte one
                             "\xE0\xA0\x80",       // U+0800, the first 3-byte one
                             "\xED\x9F\xBF",       // U+D7FF, just below the surrogates
                             "\xEE\x80\x80",       // U+E000, just above them
                             "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"}) {
    EXPECT_EQ(Escape(s), "\"" + std::string(s) + "\"") << "valid UTF-8 must not be altered";
    EXPECT_EQ(RoundTrip(s), s);
  }
}

TEST(JsonString, InvalidUtf8IsReplacedByUFFFD) {
  struct Case {
    const char* what;
    std::string bytes;
  };
  const Case cases[] = {
      {"lone continuation byte", "\x80"},
      {"continuation bytes", "\xBF\xBF"},
      {"overlong NUL (C0 80)", "\xC0\x80"},
      {"overlong slash (C1 AF)", "\xC1\xAF"},
      {"overlong 3-byte (E0 80 AF)", "\xE0\x80\xAF"},
      {"overlong 4-byte (F0 80 80 AF)", "\xF0\x80\x80\xAF"},
      {"high surrogate U+D800", "\xED\xA0\x80"},
      {"low surrogate U+DFFF", "\xED\xBF\xBF"},
      {"above U+10FFFF (F4 90 80 80)", "\xF4\x90\x80\x80"},
      {"F5 lead byte", "\xF5\x80\x80\x80"},
      {"FE byte", "\xFE"},
      {"FF byte", "\xFF"},
      {"2-byte sequence cut short", "\xC3"},
      {"3-byte sequence cut short", "\xE2\x82"},
      {"4-byte sequence cut short", "\xF0\x9D\x84"},
      {"lead byte followed by ASCII", "\xE2(A"},
  };
  for (const Case& c : cases) {
    std::string input = "a" + c.bytes + "z";
    std::string decoded = RoundTrip(input);
    // "lead byte followed by ASCII" keeps "(A" after the replacement.
    std::string_view suffix = std::string_view(c.what) == "lead byte followed by ASCII" ? "(Az" : "z";
    EXPECT_TRUE(IsReplaced(decoded, "a", suffix))
        << c.what << ": decoded as " << testing::PrintToString(decoded);
  }
  // A cut sequence at the very end of the string.
  EXPECT_TRUE(IsReplaced(RoundTrip("ab\xE2\x82"), "ab", ""));
  // Valid text around the bad byte survives.
  EXPECT_EQ(RoundTrip("\xC3\xA9\xFF\xC3\xA9"), "\xC3\xA9" + kReplacement + "\xC3\xA9");
}

TEST(JsonString, AnyByteStringGivesValidJsonAndValidUtf8RoundTrips) {
  uint32_t seed = 7;
  auto next = [&] {
    seed = seed * 1664525u + 1013904223u;
    return seed >> 24;
  };
  for (int round = 0; round < 3000; ++round) {
    std::string s;
    size_t len = next() % 24;
    for (size_t i = 0; i < len; ++i) s += static_cast<char>(next());
    std::string escaped = Escape(s);
    JsonReader reader(escaped);
    std::optional<Json> v = reader.ParseDocument();
    ASSERT_TRUE(v.has_value()) << testing::PrintToString(s) << " -> " << escaped << ": " << reader.error();
    // Bytes below 0x80 are valid UTF-8 on their own and must survive exactly.
    bool ascii = true;
    for (char c : s) ascii &= static_cast<unsigned char>(c) < 0x80;
    if (ascii) {
      EXPECT_EQ(v->text, s);
    }
  }
}

// ------------------------------------------------------------ AppendJsonValue

std::string ValueJson(const events::Value& v) {
  std::string out;
  AppendJsonValue(out, v);
  return out;
}

TEST(JsonValue, EveryAlternative) {
  EXPECT_EQ(ValueJson(events::Value()), "null");
  EXPECT_EQ(ValueJson(events::Value(true)), "true");
  EXPECT_EQ(ValueJson(events::Value(false)), "false");
  EXPECT_EQ(ValueJson(events::Value(int64_t{-100})), "-100");
  EXPECT_EQ(ValueJson(events::Value(std::numeric_limits<int64_t>::min())), "-9223372036854775808");
  EXPECT_EQ(ValueJson(events::Value(std::numeric_limits<uint64_t>::max())), "18446744073709551615");
  EXPECT_EQ(ValueJson(events::Value(std::string("O_RDONLY"))), "\"O_RDONLY\"");
  EXPECT_EQ(ValueJson(events::Value(std::vector<std::string>{"ls", "-l\n"})), "[\"ls\",\"-l\\n\"]");
  EXPECT_EQ(ValueJson(events::Value(std::vector<std::string>{})), "[]");
  EXPECT_EQ(ValueJson(events::Value(events::Fields{{"sa_family", "AF_INET"}, {"sin_port", "80"}})),
            "{\"sa_family\":\"AF_INET\",\"sin_port\":\"80\"}");
  EXPECT_EQ(ValueJson(events::Value(events::Fields{})), "{}");
}

// ------------------------------------------------------------ AppendEventJson

events::Event OpenatEvent() {
  const events::Registry& reg = events::Registry::Builtin();
  events::Event e;
  e.def = reg.Find("openat");
  e.timestamp_ns = 1764370000123456789ULL;
  e.processor_id = 1;
  e.pid = 42;
  e.tid = 43;
  e.ppid = 1;
  e.host_pid = 4242;
  e.host_tid = 4243;
  e.host_ppid = 4000;
  e.uid = 1000;
  e.gid = 1000;
  e.mnt_ns = 4026531841u;
  e.pid_ns = 4026531836u;
  e.uts_ns = 4026531838u;
  e.cgroup_id = 5678;
  e.comm = "cat";
  e.executable = "/usr/bin/cat";
  e.host_name = "web-1";
  e.container_id = "";
  e.retval = 3;
  e.syscall_nr = 257;
  e.policies = 0b101;
  const events::EventDef& d = *e.def;
  e.args.push_back({&d.args[0], int64_t{-100}});
  e.args.push_back({&d.args[1], std::string("/etc/passwd")});
  e.args.push_back({&d.args[2], uint64_t{O_RDONLY | O_CLOEXEC}});  // typed: the sink renders it
  e.args.push_back({&d.args[3], int64_t{0}});
  return e;
}

Json ParseLine(const std::string& line) {
  EXPECT_TRUE(line.ends_with("\n")) << "one event per line";
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "exactly one newline, at the end";
  JsonReader reader(line);
  std::optional<Json> v = reader.ParseDocument();
  EXPECT_TRUE(v.has_value()) << line << ": " << reader.error();
  return v.value_or(Json{});
}

// Member `key` of `obj`, which must be of `type`; a failure (and an empty
// value) when it is missing.
const Json& MemberOf(const Json& obj, const char* key, Json::Type type) {
  static const Json kMissing;
  const Json* v = obj.Get(key);
  if (v == nullptr) {
    ADD_FAILURE() << "missing field " << key;
    return kMissing;
  }
  EXPECT_EQ(v->type, type) << key << " is not of the expected type";
  return *v;
}

void ExpectNumber(const Json& obj, const char* key, const std::string& value) {
  EXPECT_EQ(MemberOf(obj, key, Json::kNumber).text, value) << key;
}

void ExpectString(const Json& obj, const char* key, const std::string& value) {
  EXPECT_EQ(MemberOf(obj, key, Json::kString).text, value) << key;
}

TEST(EventJson, HasEverySpecFieldWithItsNameAndType) {
  std::string line;
  AppendEventJson(line, OpenatEvent(), {"default", "unused", "sensitive"});
  Json j = ParseLine(line);
  ASSERT_EQ(j.type, Json::kObject);

  ExpectNumber(j, "timestamp", "1764370000123456789");
  ExpectNumber(j, "processorId", "1");
  ExpectNumber(j, "processId", "42");
  ExpectNumber(j, "threadId", "43");
  ExpectNumber(j, "parentProcessId", "1");
  ExpectNumber(j, "hostProcessId", "4242");
  ExpectNumber(j, "hostThreadId", "4243");
  ExpectNumber(j, "hostParentProcessId", "4000");
  ExpectNumber(j, "userId", "1000");
  ExpectNumber(j, "mountNamespace", "4026531841");
  ExpectNumber(j, "pidNamespace", "4026531836");
  ExpectString(j, "processName", "cat");
  ExpectString(MemberOf(j, "executable", Json::kObject), "path", "/usr/bin/cat");
  ExpectString(j, "hostName", "web-1");
  ExpectNumber(j, "cgroupId", "5678");
  ExpectString(MemberOf(j, "container", Json::kObject), "id", "");
  ExpectString(j, "eventId", "257");
  ExpectString(j, "eventName", "openat");
  const Json& policies = MemberOf(j, "matchedPolicies", Json::kArray);
  ASSERT_EQ(policies.items.size(), 2u) << "bits 0 and 2";
  EXPECT_EQ(policies.items[0].text, "default");
  EXPECT_EQ(policies.items[1].text, "sensitive");
  ExpectNumber(j, "argsNum", "4");
  ExpectNumber(j, "returnValue", "3");
  ExpectString(j, "syscall", "openat");

  const Json* args = &MemberOf(j, "args", Json::kArray);
  ASSERT_EQ(args->items.size(), 4u);
  const char* names[] = {"dirfd", "pathname", "flags", "mode"};
  const char* types[] = {"int", "const char*", "int", "mode_t"};
  for (size_t i = 0; i < 4; ++i) {
    const Json& a = args->items[i];
    ASSERT_EQ(a.type, Json::kObject);
    EXPECT_EQ(a.members.size(), 3u);
    ExpectString(a, "name", names[i]);
    ExpectString(a, "type", types[i]);
    ASSERT_NE(a.Get("value"), nullptr);
  }
  ExpectNumber(args->items[0], "value", "-100");
  ExpectString(args->items[1], "value", "/etc/passwd");
  ExpectString(args->items[2], "value", "O_RDONLY|O_CLOEXEC");
  ExpectNumber(args->items[3], "value", "0");
  EXPECT_EQ(j.Get("truncated"), nullptr) << "only present when something was cut";

  // Every field of the spec's example, nothing renamed.
  for (const char* key : {"timestamp",
                          "processorId",
                          "processId",
                          "threadId",
                          "parentProcessId",
                          "hostProcessId",
                          "hostThreadId",
                          "hostParentProcessId",
                          "userId",
                          "mountNamespace",
                          "pidNamespace",
                          "processName",
                          "executable",
                          "hostName",
                          "cgroupId",
                          "container",
                          "eventId",
                          "eventName",
                          "matchedPolicies",
                          "argsNum",
                          "returnValue",
                          "syscall",
                          "args"})
    EXPECT_NE(j.Get(key), nullptr) << key;
}

TEST(EventJson, NegativeReturnValueAndTruncatedFlag) {
  events::Event e = OpenatEvent();
  e.retval = -2;
  e.truncated = true;
  e.policies = 0;
  std::string line;
  AppendEventJson(line, e, {"default"});
  Json j = ParseLine(line);
  ExpectNumber(j, "returnValue", "-2");
  EXPECT_TRUE(MemberOf(j, "truncated", Json::kBool).boolean);
  ASSERT_NE(j.Get("matchedPolicies"), nullptr);
  EXPECT_TRUE(j.Get("matchedPolicies")->items.empty());
}

// SPEC §2.1: an io_uring operation carries "ioUring":true; others have no such field.
TEST(EventJson, IoUringOperationsAreMarked) {
  events::Event e = OpenatEvent();
  std::string plain;
  AppendEventJson(plain, e, {"default"});
  EXPECT_EQ(ParseLine(plain).Get("ioUring"), nullptr);
  e.io_uring = true;
  std::string line;
  AppendEventJson(line, e, {"default"});
  Json j = ParseLine(line);
  EXPECT_TRUE(MemberOf(j, "ioUring", Json::kBool).boolean);
}

TEST(EventJson, CompatEventCarriesTraceesContextFlags) {
  events::Event e = OpenatEvent();
  e.compat = true;
  std::string line;
  AppendEventJson(line, e, {"default"});
  Json j = ParseLine(line);
  EXPECT_TRUE(MemberOf(MemberOf(j, "contextFlags", Json::kObject), "isCompat", Json::kBool).boolean) << line;
  ExpectString(j, "eventName", "openat");  // the x86-64 twin's name
  ExpectString(j, "syscall", "openat");

  line.clear();
  AppendEventJson(line, OpenatEvent(), {"default"});
  EXPECT_EQ(ParseLine(line).Get("contextFlags"), nullptr) << "written only when a flag is set: " << line;
}

TEST(EventJson, HostileStringsStayOnOneValidLine) {
  events::Event e = OpenatEvent();
  e.comm = std::string("ev\nil\"\0\xff", 8);
  e.executable = "/tmp/a\"b\\c\n";
  e.args[1].value = std::string("/tmp/\x01\x1b[31m\xC0\x80\"}]\n{");
  std::string line;
  AppendEventJson(line, e, {"default"});
  Json j = ParseLine(line);
  ExpectString(j, "processName", std::string("ev\nil\"\0", 7) + kReplacement);
  ExpectString(*j.Get("executable"), "path", "/tmp/a\"b\\c\n");
  const std::string& path = j.Get("args")->items[1].Get("value")->text;
  EXPECT_TRUE(path.starts_with("/tmp/\x01\x1b[31m")) << path;
  EXPECT_TRUE(path.ends_with("\"}]\n{")) << path;
}

TEST(EventJson, LifecycleEventArgumentsOfEveryShape) {
  const events::Registry& reg = events::Registry::Builtin();
  events::Event e = OpenatEvent();
  e.def = reg.FindId(events::kSchedProcessExec);
  e.syscall_nr = -1;
  e.retval = 0;
  const events::EventDef& d = *e.def;
  e.args.clear();
  e.args.push_back({&d.args[1], std::string("/usr/bin/ls")});
  e.args.push_back({&d.args[3], uint64_t{18446744073709551615ULL}});
  e.args.push_back({&d.args[7], std::vector<std::string>{"ls", "-l"}});
  std::string line;
  AppendEventJson(line, e, {"default"});
  Json j = ParseLine(line);
  ExpectString(j, "eventId", "1003");
  ExpectString(j, "eventName", "sched_process_exec");
  ExpectNumber(j, "argsNum", "3");
  const Json& args = *j.Get("args");
  ExpectString(args.items[0], "type", "const char*");
  ExpectNumber(args.items[1], "value", "18446744073709551615");
  const Json* argv = args.items[2].Get("value");
  ASSERT_EQ(argv->type, Json::kArray);
  ASSERT_EQ(argv->items.size(), 2u);
  EXPECT_EQ(argv->items[0].text, "ls");
  EXPECT_EQ(argv->items[1].text, "-l");

  // A socket address is an object of strings.
  e.def = reg.Find("connect");
  e.args.clear();
  e.args.push_back({&e.def->args[1],
                    events::Fields{{"sa_family", "AF_INET"}, {"sin_addr", "127.0.0.1"}, {"sin_port", "8080"}}});
  line.clear();
  AppendEventJson(line, e, {"default"});
  j = ParseLine(line);
  const Json* addr = j.Get("args")->items[0].Get("value");
  ASSERT_EQ(addr->type, Json::kObject);
  ExpectString(*addr, "sa_family", "AF_INET");
  ExpectString(*addr, "sin_addr", "127.0.0.1");
  ExpectString(*addr, "sin_port", "8080");
}

}  // namespace
}  // namespace vigil::engine

namespace vigil::engine {
namespace {

TEST(EventJson, ParentProcessNameFromTheProcessTree) {
  events::Event e = OpenatEvent();
  e.parent_comm = "bash";
  std::string line;
  AppendEventJson(line, e, {"default"});
  ExpectString(ParseLine(line), "parentProcessName", "bash");
  e.parent_comm.clear();  // unknown parent: an empty string, never a missing field
  line.clear();
  AppendEventJson(line, e, {"default"});
  ExpectString(ParseLine(line), "parentProcessName", "");
}

}  // namespace
}  // namespace vigil::engine

// ------------------------------------------------------------ detections (SPEC §2.2)

namespace vigil::engine {
namespace {

TEST(DetectionJson, TriggerSummaryMetadataAndAncestors) {
  auto meta = std::make_shared<events::DetectionMeta>();
  meta->description = "A process used anti-debugging techniques to block a debugger.";
  meta->tags = {"linux", "container"};
  meta->signature_id = "TRC-102";
  meta->signature_name = "Anti-Debugging detected";
  meta->severity = 1;
  meta->category = "defense-evasion";
  meta->technique = "Debugger Evasion";
  meta->external_id = "T1622";
  events::EventDef def;
  def.id = 6000;
  def.name = "anti_debugging";
  def.sets = {"signatures"};
  def.detection = meta;
  const events::ArgDef output{.name = "output", .type = "string", .format = events::ArgFormat::kString};

  events::Event trigger = OpenatEvent();
  events::Event d = trigger;
  d.def = &def;
  d.retval = 0;
  d.args = {{&output, std::string("why")}};
  d.triggered_by = std::make_shared<events::Event>(trigger);
  d.ancestors = {{.pid = 4000, .comm = "bash", .executable = "/usr/bin/bash"},
                 {.pid = 1, .comm = "systemd", .executable = "/usr/lib/systemd/systemd"}};
  std::string line;
  AppendEventJson(line, d, {"default"});
  Json j = ParseLine(line);
  ExpectString(j, "eventId", "6000");
  ExpectString(j, "eventName", "anti_debugging");
  ExpectNumber(j, "argsNum", "2");
  ExpectNumber(j, "returnValue", "0");
  EXPECT_EQ(j.Get("syscall"), nullptr);
  const Json* args = j.Get("args");
  ASSERT_NE(args, nullptr);
  ASSERT_EQ(args->items.size(), 2u);
  ExpectString(args->items[0], "name", "triggeredBy");
  ExpectString(args->items[0], "type", "unknown");
  const Json* by = args->items[0].Get("value");
  ASSERT_NE(by, nullptr);
  ExpectNumber(*by, "id", "257");
  ExpectString(*by, "name", "openat");
  ExpectNumber(*by, "returnValue", "3");
  ASSERT_NE(by->Get("args"), nullptr);
  ASSERT_EQ(by->Get("args")->items.size(), 4u);
  ExpectString(by->Get("args")->items[1], "value", "/etc/passwd");
  ExpectString(args->items[1], "name", "output");
  ExpectString(args->items[1], "value", "why");
  const Json* m = j.Get("metadata");
  ASSERT_NE(m, nullptr);
  ExpectString(*m, "Version", "1");
  ExpectString(*m, "Description", meta->description);
  ASSERT_EQ(m->Get("Tags")->items.size(), 2u);
  const Json* p = m->Get("Properties");
  ASSERT_NE(p, nullptr);
  ExpectString(*p, "signatureID", "TRC-102");
  ExpectString(*p, "signatureName", "Anti-Debugging detected");
  ExpectNumber(*p, "Severity", "1");
  ExpectString(*p, "Category", "defense-evasion");
  ExpectString(*p, "Technique", "Debugger Evasion");
  ExpectString(*p, "external_id", "T1622");
  const Json* anc = j.Get("ancestors");
  ASSERT_NE(anc, nullptr);
  ASSERT_EQ(anc->items.size(), 2u);
  ExpectNumber(anc->items[0], "pid", "4000");
  ExpectString(anc->items[0], "comm", "bash");
  ExpectString(anc->items[1], "executable", "/usr/lib/systemd/systemd");
}

TEST(DetectionJson, PlainEventsCarryNoDetectionFields) {
  std::string line;
  AppendEventJson(line, OpenatEvent(), {"default"});
  Json j = ParseLine(line);
  EXPECT_EQ(j.Get("metadata"), nullptr);
  EXPECT_EQ(j.Get("ancestors"), nullptr);
}

}  // namespace
}  // namespace vigil::engine

// libFuzzer target for the record decoder and the writers after it (JSON and
// the table line): any bytes, taken as a raw ring-buffer record or as a
// recipe for a well-formed one of a registered event, end in an event or an
// error that says why, never in a crash. A decoded event must render to one
// line of valid JSON and to a table line with no terminal control bytes.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "record_builder.h"
#include "vigil/engine/json.h"
#include "vigil/engine/outputs/render.h"
#include "vigil/events/decoder.h"
#include "vigil/events/event.h"
#include "vigil/events/registry.h"

namespace {

// A strict JSON syntax check (RFC 8259) of exactly one value.
class JsonChecker {
 public:
  explicit JsonChecker(std::string_view s) : s_(s) {}
  bool Valid() {
    if (!Value(0)) return false;
    Space();
    return i_ == s_.size();
  }

 private:
  bool Value(int depth) {
    if (depth > 64) return false;
    Space();
    if (i_ >= s_.size()) return false;
    char c = s_[i_];
    if (c == '{') return Object(depth);
    if (c == '[') return Array(depth);
    if (c == '"') return String();
    if (c == '-' || (c >= '0' && c <= '9')) return Number();
    return Literal("true") || Literal("false") || Literal("null");
  }
  bool Object(int depth) {
    ++i_;
    Space();
    if (Peek('}')) return ++i_, true;
    for (;;) {
      Space();
      if (!String()) return false;
      Space();
      if (!Peek(':')) return false;
      ++i_;
      if (!Value(depth + 1)) return false;
      Space();
      if (Peek('}')) return ++i_, true;
      if (!Peek(',')) return false;
      ++i_;
    }
  }
  bool Array(int depth) {
    ++i_;
    Space();
    if (Peek(']')) return ++i_, true;
    for (;;) {
      if (!Value(depth + 1)) return false;
      Space();
      if (Peek(']')) return ++i_, true;
      if (!Peek(',')) return false;
      ++i_;
    }
  }
  bool String() {
    if (!Peek('"')) return false;
    for (++i_; i_ < s_.size(); ++i_) {
      auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') return ++i_, true;
      if (c < 0x20) return false;
      if (c == '\\') {
        if (++i_ >= s_.size()) return false;
        char e = s_[i_];
        if (e == 'u') {
          for (int k = 0; k < 4; ++k)
            if (++i_ >= s_.size() || !IsHex(s_[i_])) return false;
        } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
          return false;
        }
      } else if (c >= 0x80) {
        uint32_t cp = 0;
        size_t n = vigil::engine::DecodeUtf8(s_, i_, cp);
        if (n == 0) return false;  // the writer must never emit invalid UTF-8
        i_ += n - 1;
      }
    }
    return false;
  }
  bool Number() {
    size_t start = i_;
    if (Peek('-')) ++i_;
    if (Peek('0')) {
      ++i_;
    } else {
      if (!Digits()) return false;
    }
    if (Peek('.')) {
      ++i_;
      if (!Digits()) return false;
    }
    if (Peek('e') || Peek('E')) {
      ++i_;
      if (Peek('+') || Peek('-')) ++i_;
      if (!Digits()) return false;
    }
    return i_ > start;
  }
  bool Digits() {
    size_t start = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    return i_ > start;
  }
  bool Literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }
  void Space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  bool Peek(char c) const { return i_ < s_.size() && s_[i_] == c; }
  static bool IsHex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }

  std::string_view s_;
  size_t i_ = 0;
};

// Reads the fuzzer's bytes front to back; past the end it yields zeros.
class Bytes {
 public:
  explicit Bytes(std::span<const uint8_t> d) : d_(d) {}
  bool empty() const { return i_ >= d_.size(); }
  uint8_t U8() { return i_ < d_.size() ? d_[i_++] : 0; }
  uint16_t U16() { return static_cast<uint16_t>(U8() | U8() << 8); }
  uint64_t U64() {
    uint64_t v = 0;
    for (int k = 0; k < 8; ++k) v |= static_cast<uint64_t>(U8()) << (8 * k);
    return v;
  }
  std::string Str(size_t max) {
    size_t n = std::min<size_t>(U16() % (max + 1), d_.size() - std::min(i_, d_.size()));
    std::string s(reinterpret_cast<const char*>(d_.data() + i_), n);
    i_ += n;
    return s;
  }
  std::span<const uint8_t> Rest() { return d_.subspan(std::min(i_, d_.size())); }

 private:
  std::span<const uint8_t> d_;
  size_t i_ = 0;
};

// A record of a registered event built from the recipe: header fields, then
// arguments of any kind at any index, mostly well formed, sometimes cut.
std::vector<uint8_t> BuildRecord(Bytes& in, const vigil::events::Registry& registry) {
  const auto& all = registry.all();
  const vigil::events::EventDef& def = all[in.U16() % all.size()];
  vigil::test_support::RecordBuilder b(def.id, def.syscall_nr);
  vg_event_header& h = b.header();
  h.policies = in.U64();
  h.retval = static_cast<int64_t>(in.U64());
  h.flags = in.U8();
  h.uid = static_cast<uint32_t>(in.U64());
  for (char& c : h.comm) c = static_cast<char>(in.U8());
  int argc = in.U8() % 12;
  for (int a = 0; a < argc && !in.empty(); ++a) {
    uint8_t pick = in.U8();
    // Mostly the event's own argument indexes, sometimes any index.
    uint8_t index = def.args.empty() || pick & 0x80 ? in.U8() : static_cast<uint8_t>(pick % def.args.size());
    switch (in.U8() % 6) {
      case 0:
      case 1:
        b.U64(index, in.U64());
        break;
      case 2:
        b.Str(index, in.Str(300));
        break;
      case 3:
        b.Str(index, in.Str(300), VG_KIND_BYTES);
        break;
      case 4: {
        std::vector<std::string> items(in.U8() % 8);
        for (auto& s : items) s = in.Str(64);
        b.StrArr(index, items);
        break;
      }
      case 5:
        b.Str(index, in.Str(128), VG_KIND_SOCKADDR);
        break;
    }
  }
  std::vector<uint8_t> record = b.Build();
  if (uint8_t cut = in.U8(); cut & 1) record.resize(record.size() - std::min<size_t>(cut >> 1, record.size()));
  return record;
}

void CheckRendered(const vigil::events::Event& e) {
  static const std::vector<std::string> policy_names = [] {
    std::vector<std::string> names;
    for (int i = 0; i < 64; ++i) names.push_back("policy-" + std::to_string(i));
    return names;
  }();
  std::string json;
  vigil::engine::AppendEventJson(json, e, policy_names);
  if (json.empty() || json.back() != '\n') __builtin_trap();
  std::string_view line(json.data(), json.size() - 1);
  if (line.find('\n') != std::string_view::npos) __builtin_trap();  // one event, one line
  if (!JsonChecker(line).Valid()) __builtin_trap();

  std::string table;
  vigil::engine::AppendTableLine(table, e);
  for (size_t i = 0; i < table.size(); ++i) {
    auto c = static_cast<unsigned char>(table[i]);
    bool last_newline = c == '\n' && i + 1 == table.size();
    if ((c < 0x20 && !last_newline) || c == 0x7f) __builtin_trap();  // would reach the terminal
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const vigil::events::Registry& registry = vigil::events::Registry::Builtin();
  static const vigil::events::Decoder decoder(registry, 1'700'000'000'000'000'000);
  static vigil::events::Event event;  // reused, as the sensor does
  Bytes in(std::span<const uint8_t>(data, size));
  std::vector<uint8_t> record;
  std::span<const uint8_t> bytes;
  if (in.U8() & 1) {
    record = BuildRecord(in, registry);
    bytes = record;
  } else {
    bytes = in.Rest();  // the bytes as they are: a raw record
  }
  absl::Status st = decoder.Decode(bytes, event);
  if (!st.ok()) {
    if (st.message().empty()) __builtin_trap();  // every refusal says why
    return 0;
  }
  if (!event.def) __builtin_trap();
  CheckRendered(event);
  return 0;
}

// Builds ring-buffer records by hand, in the layout the kernel side writes
// (bpf/vigil_event.h): a vg_event_header, then arguments encoded as the BPF
// programs encode them. Shared by the decoder unit tests and
// bench/decode_bench.cc; header-only, no privileges.
#ifndef VIGIL_TESTS_SUPPORT_RECORD_BUILDER_H_
#define VIGIL_TESTS_SUPPORT_RECORD_BUILDER_H_

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "vigil_event.h"

namespace vigil::test_support {

class RecordBuilder {
 public:
  // A record of `event_id` from a typical process (a `cat`, pid 4242 on the
  // host, 10 in its namespace, uid 1000), selected by policies 0 and 2.
  explicit RecordBuilder(uint32_t event_id, int32_t syscall_nr = -1) {
    h_.ts_boot_ns = 5'000'000'123;
    h_.cgroup_id = 0x1234'5678'9abcULL;
    h_.policies = 0b101;
    h_.retval = 3;
    h_.event_id = event_id;
    h_.syscall_nr = syscall_nr;
    h_.cpu = 1;
    h_.host_tid = 4243;
    h_.host_pid = 4242;
    h_.host_ppid = 1;
    h_.tid = 11;
    h_.pid = 10;
    h_.ppid = 0;
    h_.uid = 1000;
    h_.gid = 1001;
    h_.mnt_ns = 4026531841;
    h_.pid_ns = 4026531836;
    h_.uts_ns = 4026531838;
    h_.start_time_ns = 987654321;
    std::memcpy(h_.comm, "cat", 4);
  }
  // A record with exactly this header (args_size and argc are still filled
  // in by Build()).
  explicit RecordBuilder(const vg_event_header& header) : h_(header) {}

  vg_event_header& header() { return h_; }

  RecordBuilder& U64(uint8_t index, uint64_t v) {
    Begin(index, VG_KIND_U64);
    Put(&v, sizeof(v));
    return *this;
  }
  // A length-prefixed argument: a string, raw bytes or a sockaddr by `kind`.
  RecordBuilder& Str(uint8_t index, std::string_view s, uint8_t kind = VG_KIND_STR) {
    Begin(index, kind);
    uint16_t len = static_cast<uint16_t>(s.size());
    Put(&len, sizeof(len));
    Put(s.data(), s.size());
    return *this;
  }
  RecordBuilder& Bytes(uint8_t index, const void* data, size_t n, uint8_t kind = VG_KIND_BYTES) {
    return Str(index, std::string_view(static_cast<const char*>(data), n), kind);
  }
  RecordBuilder& StrArr(uint8_t index, const std::vector<std::string>& items) {
    Begin(index, VG_KIND_STRARR);
    uint8_t count = static_cast<uint8_t>(items.size());
    Put(&count, 1);
    for (const std::string& s : items) {
      uint16_t len = static_cast<uint16_t>(s.size());
      Put(&len, sizeof(len));
      Put(s.data(), s.size());
    }
    return *this;
  }
  // Raw bytes in the argument area, for malformed records.
  RecordBuilder& Raw(std::initializer_list<uint8_t> bytes) {
    args_.insert(args_.end(), bytes.begin(), bytes.end());
    return *this;
  }

  // Overrides what Build() would compute, for malformed records.
  RecordBuilder& ArgsSize(uint32_t n) {
    h_.args_size = n;
    args_size_set_ = true;
    return *this;
  }
  RecordBuilder& Argc(uint8_t n) {
    h_.argc = n;
    argc_set_ = true;
    return *this;
  }

  // The record with args_size and argc filled from what was added (unless
  // set with ArgsSize/Argc).
  std::vector<uint8_t> Build() const {
    vg_event_header h = h_;
    if (!args_size_set_) h.args_size = static_cast<uint32_t>(args_.size());
    if (!argc_set_) h.argc = argc_;
    std::vector<uint8_t> out(sizeof(h) + args_.size());
    std::memcpy(out.data(), &h, sizeof(h));
    if (!args_.empty()) std::memcpy(out.data() + sizeof(h), args_.data(), args_.size());
    return out;
  }

 private:
  void Begin(uint8_t index, uint8_t kind) {
    args_.push_back(index);
    args_.push_back(kind);
    ++argc_;
  }
  void Put(const void* p, size_t n) {
    auto* b = static_cast<const uint8_t*>(p);
    args_.insert(args_.end(), b, b + n);
  }

  vg_event_header h_{};
  std::vector<uint8_t> args_;
  uint8_t argc_ = 0;
  bool args_size_set_ = false;
  bool argc_set_ = false;
};

}  // namespace vigil::test_support

#endif  // VIGIL_TESTS_SUPPORT_RECORD_BUILDER_H_

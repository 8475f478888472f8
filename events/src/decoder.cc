#include "vigil/events/decoder.h"

#include <time.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "vigil/events/format.h"
#include "vigil_event.h"

namespace vigil::events {
namespace {

// Bounds-checked reader over one record's argument area.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> data) : data_(data) {}
  bool Has(size_t n) const { return data_.size() - pos_ >= n; }
  template <typename T>
  bool Read(T& out) {
    if (!Has(sizeof(T))) return false;
    std::memcpy(&out, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool Bytes(size_t n, std::span<const uint8_t>& out) {
    if (!Has(n)) return false;
    out = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  bool AtEnd() const { return pos_ == data_.size(); }

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
};

std::string AsString(std::span<const uint8_t> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

std::string HexBytes(std::span<const uint8_t> b) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(b.size() * 2);
  for (uint8_t c : b) {
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
  }
  return out;
}

// The argument area of a process: NUL-separated strings.
std::vector<std::string> SplitArgv(std::span<const uint8_t> b) {
  std::vector<std::string> out;
  std::string_view all(reinterpret_cast<const char*>(b.data()), b.size());
  while (!all.empty()) {
    size_t nul = all.find('\0');
    out.emplace_back(all.substr(0, nul));
    if (nul == std::string_view::npos) break;
    all.remove_prefix(nul + 1);
  }
  return out;
}

absl::Status Malformed(const EventDef& def, std::string_view what) {
  return absl::DataLossError(absl::StrCat("malformed ", def.name, " record: ", std::string(what)));
}

}  // namespace

int64_t Decoder::BootToEpochOffsetNow() {
  timespec real{}, boot{};
  clock_gettime(CLOCK_REALTIME, &real);
  clock_gettime(CLOCK_BOOTTIME, &boot);
  return (real.tv_sec - boot.tv_sec) * 1000000000LL + (real.tv_nsec - boot.tv_nsec);
}

absl::Status Decoder::Decode(std::span<const uint8_t> record, Event& out) const {
  vg_event_header h;
  if (record.size() < sizeof(h))
    return absl::DataLossError(
        absl::StrCat("record of ", record.size(), " bytes is shorter than its header (", sizeof(h), ")"));
  std::memcpy(&h, record.data(), sizeof(h));
  const EventDef* def = registry_.FindId(h.event_id);
  if (def == nullptr) return absl::DataLossError(absl::StrCat("record names unknown event id ", h.event_id));
  if (h.args_size > record.size() - sizeof(h)) return Malformed(*def, "argument area overruns the record");

  out.def = def;
  out.timestamp_ns = h.ts_boot_ns + boot_to_epoch_ns_;
  out.processor_id = h.cpu;
  out.pid = h.pid;
  out.tid = h.tid;
  out.ppid = h.ppid;
  out.host_pid = h.host_pid;
  out.host_tid = h.host_tid;
  out.host_ppid = h.host_ppid;
  out.uid = h.uid;
  out.gid = h.gid;
  out.mnt_ns = h.mnt_ns;
  out.pid_ns = h.pid_ns;
  out.uts_ns = h.uts_ns;
  out.cgroup_id = h.cgroup_id;
  out.start_time_ns = h.start_time_ns;
  out.comm.assign(h.comm, strnlen(h.comm, sizeof(h.comm)));
  out.retval = h.retval;
  out.syscall_nr = h.syscall_nr;
  out.truncated = h.flags & VG_HDR_TRUNCATED;
  out.io_uring = h.flags & VG_HDR_IO_URING;
  out.compat = h.flags & VG_HDR_COMPAT;
  out.policies = h.policies;
  out.executable.clear();
  out.parent_comm.clear();
  out.host_name.clear();
  out.container_id.clear();
  // Each argument at its definition's index (the kernel may write them out
  // of order, argv last); absent ones stay empty.
  out.args.clear();
  out.args.resize(def->args.size());

  Reader r(record.subspan(sizeof(h), h.args_size));
  for (int i = 0; i < h.argc; ++i) {
    uint8_t index = 0, kind = 0;
    if (!r.Read(index) || !r.Read(kind)) return Malformed(*def, "argument header cut short");
    if (index >= def->args.size())
      return Malformed(*def, absl::StrCat("argument index ", index, " out of range"));
    const ArgDef& ad = def->args[index];
    Arg& arg = out.args[index];
    arg.def = &ad;
    arg.rendered_ready = false;
    switch (kind) {
      case VG_KIND_U64: {
        uint64_t v;
        if (!r.Read(v)) return Malformed(*def, absl::StrCat(ad.name, ": value cut short"));
        // A compat syscall's registers are 32-bit: its longs are signed 32-bit values.
        if (out.compat && ad.type == "long") v = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(v)));
        arg.value = TypedInteger(ad, v);  // rendered by the sinks (Rendered)
        break;
      }
      case VG_KIND_STR:
      case VG_KIND_BYTES:
      case VG_KIND_SOCKADDR: {
        uint16_t len = 0;
        std::span<const uint8_t> b;
        if (!r.Read(len) || !r.Bytes(len, b))
          return Malformed(*def, absl::StrCat(ad.name, ": ", len, " bytes overrun the record"));
        if (kind == VG_KIND_SOCKADDR || ad.format == ArgFormat::kSockaddr)
          arg.value = FormatSockaddr(b);
        else if (ad.format == ArgFormat::kBytes)
          arg.value = HexBytes(b);  // raw memory: every byte survives JSON
        else if (ad.format == ArgFormat::kArgvBlob || ad.format == ArgFormat::kStringArray)
          arg.value = SplitArgv(b);  // an argument area (NUL-separated), as exec copied it
        else
          arg.value = AsString(b);
        break;
      }
      case VG_KIND_STRARR: {
        uint8_t count;
        if (!r.Read(count)) return Malformed(*def, absl::StrCat(ad.name, ": count cut short"));
        std::vector<std::string> items;
        items.reserve(count);
        for (int k = 0; k < count; ++k) {
          uint16_t len;
          std::span<const uint8_t> b;
          if (!r.Read(len) || !r.Bytes(len, b))
            return Malformed(*def, absl::StrCat(ad.name, "[", k, "] overruns the record"));
          items.push_back(AsString(b));
        }
        arg.value = std::move(items);
        break;
      }
      default:
        return Malformed(*def, absl::StrCat(ad.name, ": unknown argument kind ", kind));
    }
  }
  return absl::OkStatus();
}

}  // namespace vigil::events

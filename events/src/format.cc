#include "vigil/events/format.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstddef>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "vigil/caps/cap_set.h"
#include "absl/strings/ascii.h"

namespace vigil::events {
namespace {

struct FlagName {
  uint64_t bit;
  const char* name;
};

std::string JoinFlags(uint64_t value, std::span<const FlagName> names, std::string base) {
  std::string out = std::move(base);
  for (const FlagName& f : names) {
    if ((value & f.bit) == f.bit && f.bit != 0) {
      if (!out.empty()) out += '|';
      out += f.name;
      value &= ~f.bit;
    }
  }
  if (value != 0) {
    if (!out.empty()) out += '|';
    absl::StrAppend(&out, absl::StrFormat("0x%x", value));
  }
  return out;
}

constexpr FlagName kOpenFlags[] = {
    {O_CREAT, "O_CREAT"},     {O_EXCL, "O_EXCL"},         {O_NOCTTY, "O_NOCTTY"},
    {O_TRUNC, "O_TRUNC"},     {O_APPEND, "O_APPEND"},     {O_NONBLOCK, "O_NONBLOCK"},
    {O_DSYNC, "O_DSYNC"},     {O_ASYNC, "O_ASYNC"},       {O_DIRECT, "O_DIRECT"},
    {0100000, "O_LARGEFILE"}  /* the kernel's value; glibc defines O_LARGEFILE as 0 on x86-64 */, {O_DIRECTORY, "O_DIRECTORY"}, {O_NOFOLLOW, "O_NOFOLLOW"},
    {O_NOATIME, "O_NOATIME"}, {O_CLOEXEC, "O_CLOEXEC"},   {(O_SYNC & ~O_DSYNC), "O_SYNC"},
    {O_PATH, "O_PATH"},       {__O_TMPFILE, "O_TMPFILE"},
};

constexpr FlagName kProt[] = {{PROT_READ, "PROT_READ"},
                              {PROT_WRITE, "PROT_WRITE"},
                              {PROT_EXEC, "PROT_EXEC"},
                              {PROT_GROWSDOWN, "PROT_GROWSDOWN"},
                              {PROT_GROWSUP, "PROT_GROWSUP"}};

constexpr FlagName kClone[] = {
    {CLONE_VM, "CLONE_VM"},          {CLONE_FS, "CLONE_FS"},
    {CLONE_FILES, "CLONE_FILES"},    {CLONE_SIGHAND, "CLONE_SIGHAND"},
    {CLONE_PIDFD, "CLONE_PIDFD"},    {CLONE_PTRACE, "CLONE_PTRACE"},
    {CLONE_VFORK, "CLONE_VFORK"},    {CLONE_PARENT, "CLONE_PARENT"},
    {CLONE_THREAD, "CLONE_THREAD"},  {CLONE_NEWNS, "CLONE_NEWNS"},
    {CLONE_SYSVSEM, "CLONE_SYSVSEM"}, {CLONE_SETTLS, "CLONE_SETTLS"},
    {CLONE_PARENT_SETTID, "CLONE_PARENT_SETTID"}, {CLONE_CHILD_CLEARTID, "CLONE_CHILD_CLEARTID"},
    {CLONE_DETACHED, "CLONE_DETACHED"}, {CLONE_UNTRACED, "CLONE_UNTRACED"},
    {CLONE_CHILD_SETTID, "CLONE_CHILD_SETTID"}, {CLONE_NEWCGROUP, "CLONE_NEWCGROUP"},
    {CLONE_NEWUTS, "CLONE_NEWUTS"},  {CLONE_NEWIPC, "CLONE_NEWIPC"},
    {CLONE_NEWUSER, "CLONE_NEWUSER"}, {CLONE_NEWPID, "CLONE_NEWPID"},
    {CLONE_NEWNET, "CLONE_NEWNET"},  {CLONE_IO, "CLONE_IO"},
};

constexpr FlagName kAccess[] = {{R_OK, "R_OK"}, {W_OK, "W_OK"}, {X_OK, "X_OK"}};

}  // namespace

std::string FormatOpenFlags(uint64_t flags) {
  const char* access = "O_RDONLY";
  switch (flags & O_ACCMODE) {
    case O_WRONLY: access = "O_WRONLY"; break;
    case O_RDWR: access = "O_RDWR"; break;
    case O_ACCMODE: access = "O_ACCMODE"; break;
  }
  uint64_t rest = flags & ~static_cast<uint64_t>(O_ACCMODE);
  // O_TMPFILE includes O_DIRECTORY; O_SYNC includes O_DSYNC.
  std::string out = access;
  if ((rest & (__O_TMPFILE | O_DIRECTORY)) == (__O_TMPFILE | O_DIRECTORY)) {
    rest &= ~static_cast<uint64_t>(__O_TMPFILE | O_DIRECTORY);
    out += "|O_TMPFILE";
  }
  if ((rest & ((O_SYNC & ~O_DSYNC) | O_DSYNC)) == ((O_SYNC & ~O_DSYNC) | O_DSYNC)) {
    rest &= ~static_cast<uint64_t>((O_SYNC & ~O_DSYNC) | O_DSYNC);
    out += "|O_SYNC";
  }
  return JoinFlags(rest, kOpenFlags, out);
}

std::string FormatMode(uint64_t mode) {
  const char* type = nullptr;
  switch (mode & S_IFMT) {
    case S_IFREG: type = "S_IFREG"; break;
    case S_IFDIR: type = "S_IFDIR"; break;
    case S_IFLNK: type = "S_IFLNK"; break;
    case S_IFCHR: type = "S_IFCHR"; break;
    case S_IFBLK: type = "S_IFBLK"; break;
    case S_IFIFO: type = "S_IFIFO"; break;
    case S_IFSOCK: type = "S_IFSOCK"; break;
  }
  std::string perm = absl::StrFormat("%04o", mode & 07777);
  return type ? absl::StrCat(type, "|", perm) : perm;
}

std::string FormatSignal(int64_t sig) {
  if (sig == 0) return "0";
  if (sig > 0 && sig < 65) {
    if (const char* abbrev = sigabbrev_np(static_cast<int>(sig))) return absl::StrCat("SIG", abbrev);
    if (sig >= SIGRTMIN && sig <= SIGRTMAX) return absl::StrCat("SIGRTMIN+", sig - SIGRTMIN);
  }
  return absl::StrCat(sig);
}

std::string FormatCapability(int64_t cap) {
  return absl::AsciiStrToUpper(caps::CapName(static_cast<int>(cap)));
}

std::string FormatProt(uint64_t prot) {
  if (prot == 0) return "PROT_NONE";
  return JoinFlags(prot, kProt, "");
}

std::string FormatCloneFlags(uint64_t flags) {
  uint64_t sig = flags & 0xff;
  std::string out = JoinFlags(flags & ~0xffULL, kClone, "");
  if (sig != 0) {
    if (!out.empty()) out += '|';
    out += FormatSignal(static_cast<int64_t>(sig));
  }
  return out.empty() ? "0" : out;
}

std::string FormatAccessMode(uint64_t mode) {
  if (mode == 0) return "F_OK";
  return JoinFlags(mode, kAccess, "");
}

std::string FormatHex(uint64_t value) { return absl::StrFormat("0x%x", value); }

Fields FormatSockaddr(std::span<const uint8_t> raw) {
  Fields f;
  if (raw.size() < sizeof(sa_family_t)) return f;
  sa_family_t family;
  std::memcpy(&family, raw.data(), sizeof(family));
  char buf[INET6_ADDRSTRLEN] = {};
  switch (family) {
    // Only fields whose bytes were captured in full are shown.
    case AF_INET: {
      sockaddr_in in{};
      std::memcpy(&in, raw.data(), std::min(raw.size(), sizeof(in)));
      f.emplace_back("sa_family", "AF_INET");
      if (raw.size() >= offsetof(sockaddr_in, sin_port) + sizeof(in.sin_port))
        f.emplace_back("sin_port", absl::StrCat(ntohs(in.sin_port)));
      if (raw.size() >= offsetof(sockaddr_in, sin_addr) + sizeof(in.sin_addr)) {
        inet_ntop(AF_INET, &in.sin_addr, buf, sizeof(buf));
        f.emplace(f.begin() + 1, "sin_addr", buf);
      }
      break;
    }
    case AF_INET6: {
      sockaddr_in6 in6{};
      std::memcpy(&in6, raw.data(), std::min(raw.size(), sizeof(in6)));
      f.emplace_back("sa_family", "AF_INET6");
      if (raw.size() >= offsetof(sockaddr_in6, sin6_addr) + sizeof(in6.sin6_addr)) {
        inet_ntop(AF_INET6, &in6.sin6_addr, buf, sizeof(buf));
        f.emplace_back("sin6_addr", buf);
      }
      if (raw.size() >= offsetof(sockaddr_in6, sin6_port) + sizeof(in6.sin6_port))
        f.emplace_back("sin6_port", absl::StrCat(ntohs(in6.sin6_port)));
      if (raw.size() >= offsetof(sockaddr_in6, sin6_flowinfo) + sizeof(in6.sin6_flowinfo))
        f.emplace_back("sin6_flowinfo", absl::StrCat(ntohl(in6.sin6_flowinfo)));
      if (raw.size() >= offsetof(sockaddr_in6, sin6_scope_id) + sizeof(in6.sin6_scope_id))
        f.emplace_back("sin6_scopeid", absl::StrCat(in6.sin6_scope_id));
      break;
    }
    case AF_UNIX: {
      f.emplace_back("sa_family", "AF_UNIX");
      std::string_view path(reinterpret_cast<const char*>(raw.data()) + sizeof(sa_family_t),
                            raw.size() - sizeof(sa_family_t));
      // Abstract sockets start with a NUL; shown with a leading '@' as ss(8) does.
      if (!path.empty() && path[0] == '\0') {
        std::string abstract = "@" + std::string(path.substr(1));
        while (!abstract.empty() && abstract.back() == '\0') abstract.pop_back();
        f.emplace_back("sun_path", abstract);
      } else {
        f.emplace_back("sun_path", std::string(path.substr(0, path.find('\0'))));
      }
      break;
    }
    default:
      f.emplace_back("sa_family", absl::StrCat(family));
  }
  return f;
}

Value RenderInteger(const ArgDef& def, uint64_t raw) {
  switch (def.format) {
    case ArgFormat::kUint: return raw;
    case ArgFormat::kHex: return FormatHex(raw);
    case ArgFormat::kBool: return raw != 0;
    case ArgFormat::kOpenFlags: return FormatOpenFlags(raw);
    // A zero mode means "none given" (open without O_CREAT): kept as the number 0.
    case ArgFormat::kMode: return raw == 0 ? Value(int64_t{0}) : Value(FormatMode(raw));
    case ArgFormat::kSignal: return FormatSignal(static_cast<int32_t>(raw));
    case ArgFormat::kCapability: return FormatCapability(static_cast<int32_t>(raw));
    case ArgFormat::kProt: return FormatProt(raw);
    case ArgFormat::kCloneFlags: return FormatCloneFlags(raw);
    case ArgFormat::kAccessMode: return FormatAccessMode(raw);
    case ArgFormat::kDirfd:
    case ArgFormat::kInt:
    default:
      // Syscall registers hold ints sign-extended or not; show 32-bit types as such.
      if (def.type == "int" || def.type == "pid_t" || def.type == "long" || def.type.empty())
        return def.type == "long" ? static_cast<int64_t>(raw)
                                  : static_cast<int64_t>(static_cast<int32_t>(raw));
      return static_cast<int64_t>(raw);
  }
}

}  // namespace vigil::events

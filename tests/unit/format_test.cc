// events/ formatting: raw kernel values rendered the way a user reads them
// (SPEC §2.1): open flags, modes, signals, capabilities, prot, clone flags,
// socket addresses.
#include "vigil/events/format.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstddef>
#include <cstring>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "unit_matchers.h"
#include "vigil/events/registry.h"

namespace vigil::events {
namespace {

// The kernel's values (asm-generic/fcntl.h); glibc defines O_LARGEFILE as 0
// on x86-64, but the kernel ABI bit exists and programs can pass it.
constexpr uint64_t kKernelOLargefile = 0100000;

// "A|B|C" -> the first item and the set of the others: the order of the
// flags after the access mode (or of clone flags) is not part of the contract.
std::pair<std::string, std::set<std::string>> Split(const std::string& flags) {
  std::vector<std::string> items = absl::StrSplit(flags, '|');
  std::string first = items.front();
  return {first, std::set<std::string>(items.begin() + 1, items.end())};
}
std::set<std::string> All(const std::string& flags) {
  std::vector<std::string> items = absl::StrSplit(flags, '|');
  return {items.begin(), items.end()};
}
using Flags = std::pair<std::string, std::set<std::string>>;

TEST(FormatOpenFlags, AccessModeAlwaysComesFirst) {
  EXPECT_EQ(FormatOpenFlags(O_RDONLY), "O_RDONLY");
  EXPECT_EQ(FormatOpenFlags(O_WRONLY), "O_WRONLY");
  EXPECT_EQ(FormatOpenFlags(O_RDWR), "O_RDWR");
  EXPECT_EQ(FormatOpenFlags(O_RDONLY | O_CLOEXEC), "O_RDONLY|O_CLOEXEC");
  EXPECT_EQ(FormatOpenFlags(O_WRONLY | O_CREAT | O_CLOEXEC), "O_WRONLY|O_CREAT|O_CLOEXEC");
  EXPECT_EQ(Split(FormatOpenFlags(O_RDWR | O_CREAT | O_EXCL | O_TRUNC)),
            Flags("O_RDWR", {"O_CREAT", "O_EXCL", "O_TRUNC"}));
  EXPECT_EQ(Split(FormatOpenFlags(O_WRONLY | O_APPEND | O_NONBLOCK)),
            Flags("O_WRONLY", {"O_APPEND", "O_NONBLOCK"}));
  EXPECT_EQ(Split(FormatOpenFlags(O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)),
            Flags("O_RDONLY", {"O_DIRECTORY", "O_NOFOLLOW", "O_CLOEXEC"}));
  EXPECT_EQ(Split(FormatOpenFlags(O_PATH | O_CLOEXEC)), Flags("O_RDONLY", {"O_PATH", "O_CLOEXEC"}));
  EXPECT_EQ(Split(FormatOpenFlags(O_RDONLY | O_NOCTTY | O_NOATIME | O_DIRECT | O_ASYNC)),
            Flags("O_RDONLY", {"O_NOCTTY", "O_NOATIME", "O_DIRECT", "O_ASYNC"}));
}

TEST(FormatOpenFlags, CompoundFlagsAreNamedOnce) {
  // O_SYNC includes O_DSYNC's bit, O_TMPFILE includes O_DIRECTORY's.
  EXPECT_EQ(FormatOpenFlags(O_WRONLY | O_SYNC), "O_WRONLY|O_SYNC");
  EXPECT_EQ(FormatOpenFlags(O_WRONLY | O_DSYNC), "O_WRONLY|O_DSYNC");
  EXPECT_EQ(FormatOpenFlags(O_RDWR | O_TMPFILE), "O_RDWR|O_TMPFILE");
  EXPECT_EQ(FormatOpenFlags(O_RDONLY | O_DIRECTORY), "O_RDONLY|O_DIRECTORY");
}

TEST(FormatOpenFlags, KernelLargefileBitIsNamed) {
  EXPECT_EQ(FormatOpenFlags(O_RDONLY | kKernelOLargefile), "O_RDONLY|O_LARGEFILE");
}

TEST(FormatOpenFlags, UnknownBitsAreKeptInHex) {
  EXPECT_EQ(FormatOpenFlags(O_RDONLY | 0x40000000), "O_RDONLY|0x40000000");
  EXPECT_EQ(Split(FormatOpenFlags(O_WRONLY | O_CREAT | 0x80000000ULL)),
            Flags("O_WRONLY", {"O_CREAT", "0x80000000"}));
}

TEST(FormatMode, PermissionsAndFileType) {
  EXPECT_EQ(FormatMode(0644), "0644");
  EXPECT_EQ(FormatMode(0600), "0600");
  EXPECT_EQ(FormatMode(0), "0000");
  EXPECT_EQ(FormatMode(04755), "4755");
  EXPECT_EQ(FormatMode(S_IFREG | 0755), "S_IFREG|0755");
  EXPECT_EQ(FormatMode(S_IFDIR | 01777), "S_IFDIR|1777");
  EXPECT_EQ(FormatMode(S_IFLNK | 0777), "S_IFLNK|0777");
  EXPECT_EQ(FormatMode(S_IFCHR | 0620), "S_IFCHR|0620");
  EXPECT_EQ(FormatMode(S_IFBLK | 0660), "S_IFBLK|0660");
  EXPECT_EQ(FormatMode(S_IFIFO | 0600), "S_IFIFO|0600");
  EXPECT_EQ(FormatMode(S_IFSOCK | 0755), "S_IFSOCK|0755");
}

TEST(FormatSignal, NamesAndNumbers) {
  EXPECT_EQ(FormatSignal(SIGKILL), "SIGKILL");
  EXPECT_EQ(FormatSignal(SIGTERM), "SIGTERM");
  EXPECT_EQ(FormatSignal(SIGHUP), "SIGHUP");
  EXPECT_EQ(FormatSignal(SIGSEGV), "SIGSEGV");
  EXPECT_EQ(FormatSignal(SIGCHLD), "SIGCHLD");
  EXPECT_EQ(FormatSignal(SIGSYS), "SIGSYS");
  EXPECT_EQ(FormatSignal(0), "0");
  EXPECT_THAT(FormatSignal(SIGRTMIN + 1), StartsWith("SIGRT"));
  EXPECT_THAT(FormatSignal(64), StartsWith("SIGRT"));
  EXPECT_EQ(FormatSignal(65), "65");
  EXPECT_EQ(FormatSignal(-1), "-1");
}

TEST(FormatCapability, UpperCaseKernelNames) {
  EXPECT_EQ(FormatCapability(0), "CAP_CHOWN");
  EXPECT_EQ(FormatCapability(12), "CAP_NET_ADMIN");
  EXPECT_EQ(FormatCapability(21), "CAP_SYS_ADMIN");
  EXPECT_EQ(FormatCapability(38), "CAP_PERFMON");
  EXPECT_EQ(FormatCapability(39), "CAP_BPF");
  EXPECT_EQ(FormatCapability(40), "CAP_CHECKPOINT_RESTORE");
  EXPECT_EQ(FormatCapability(63), "CAP_63") << "unknown numbers stay readable";
}

TEST(FormatProt, Flags) {
  EXPECT_EQ(FormatProt(PROT_NONE), "PROT_NONE");
  EXPECT_EQ(FormatProt(PROT_READ), "PROT_READ");
  EXPECT_EQ(FormatProt(PROT_READ | PROT_EXEC), "PROT_READ|PROT_EXEC");
  EXPECT_EQ(All(FormatProt(PROT_READ | PROT_WRITE | PROT_EXEC)), All("PROT_READ|PROT_WRITE|PROT_EXEC"));
  EXPECT_EQ(FormatProt(PROT_READ | 0x100), "PROT_READ|0x100");
}

TEST(FormatCloneFlags, FlagsAndExitSignal) {
  EXPECT_EQ(FormatCloneFlags(CLONE_VM | CLONE_FS | SIGCHLD), "CLONE_VM|CLONE_FS|SIGCHLD");
  // What glibc's fork() passes.
  EXPECT_EQ(All(FormatCloneFlags(CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD)),
            All("CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD"));
  // What pthread_create() passes.
  EXPECT_EQ(All(FormatCloneFlags(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                                 CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID)),
            All("CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|"
                "CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID"));
  EXPECT_EQ(All(FormatCloneFlags(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | SIGCHLD)),
            All("CLONE_NEWNS|CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWNET|SIGCHLD"));
  EXPECT_THAT(FormatCloneFlags(CLONE_VM | SIGCHLD), testing::EndsWith("|SIGCHLD"))
      << "the exit signal (low byte) is named last";
  EXPECT_EQ(FormatCloneFlags(SIGCHLD), "SIGCHLD");
  EXPECT_EQ(FormatCloneFlags(0), "0");
}

TEST(FormatAccessMode, Flags) {
  EXPECT_EQ(FormatAccessMode(F_OK), "F_OK");
  EXPECT_EQ(FormatAccessMode(R_OK), "R_OK");
  EXPECT_EQ(FormatAccessMode(R_OK | W_OK | X_OK), "R_OK|W_OK|X_OK");
}

TEST(FormatHex, LowerCaseWithPrefix) {
  EXPECT_EQ(FormatHex(0), "0x0");
  EXPECT_EQ(FormatHex(0x7ffd1234), "0x7ffd1234");
  EXPECT_EQ(FormatHex(~0ULL), "0xffffffffffffffff");
}

// ------------------------------------------------------------ socket addresses

template <typename T>
Fields Sockaddr(const T& addr, size_t len = sizeof(T)) {
  return FormatSockaddr(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&addr), len));
}

TEST(FormatSockaddr, Inet) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(8080);
  inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
  EXPECT_THAT(Sockaddr(in), ElementsAre(Pair("sa_family", "AF_INET"), Pair("sin_addr", "127.0.0.1"),
                                        Pair("sin_port", "8080")));
  in.sin_port = htons(65535);
  inet_pton(AF_INET, "203.0.113.254", &in.sin_addr);
  EXPECT_THAT(Sockaddr(in), ElementsAre(Pair("sa_family", "AF_INET"), Pair("sin_addr", "203.0.113.254"),
                                        Pair("sin_port", "65535")));
}

TEST(FormatSockaddr, Inet6) {
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(443);
  in6.sin6_flowinfo = htonl(7);
  in6.sin6_scope_id = 2;
  inet_pton(AF_INET6, "2001:db8::1", &in6.sin6_addr);
  EXPECT_THAT(Sockaddr(in6),
              ElementsAre(Pair("sa_family", "AF_INET6"), Pair("sin6_addr", "2001:db8::1"),
                          Pair("sin6_port", "443"), Pair("sin6_flowinfo", "7"), Pair("sin6_scopeid", "2")));
  inet_pton(AF_INET6, "::ffff:10.0.0.1", &in6.sin6_addr);
  EXPECT_THAT(Sockaddr(in6), testing::Contains(Pair("sin6_addr", "::ffff:10.0.0.1")));
}

TEST(FormatSockaddr, UnixPath) {
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::strcpy(un.sun_path, "/run/vigil.sock");
  // Kernels pass the full structure or just up to the NUL; both read the same.
  EXPECT_THAT(Sockaddr(un), ElementsAre(Pair("sa_family", "AF_UNIX"), Pair("sun_path", "/run/vigil.sock")));
  size_t exact = offsetof(sockaddr_un, sun_path) + std::strlen(un.sun_path);
  EXPECT_THAT(Sockaddr(un, exact),
              ElementsAre(Pair("sa_family", "AF_UNIX"), Pair("sun_path", "/run/vigil.sock")));
  // Bytes after the terminating NUL are not part of the path.
  std::memcpy(un.sun_path + std::strlen(un.sun_path) + 1, "junk", 4);
  EXPECT_THAT(Sockaddr(un), ElementsAre(Pair("sa_family", "AF_UNIX"), Pair("sun_path", "/run/vigil.sock")));
  // A path that fills sun_path without a NUL.
  sockaddr_un full{};
  full.sun_family = AF_UNIX;
  std::memset(full.sun_path, 'p', sizeof(full.sun_path));
  EXPECT_THAT(Sockaddr(full), ElementsAre(Pair("sa_family", "AF_UNIX"),
                                          Pair("sun_path", std::string(sizeof(full.sun_path), 'p'))));
}

TEST(FormatSockaddr, UnixAbstractShownWithAt) {
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::memcpy(un.sun_path, "\0vigil-test", 11);
  size_t len = offsetof(sockaddr_un, sun_path) + 11;
  EXPECT_THAT(Sockaddr(un, len), ElementsAre(Pair("sa_family", "AF_UNIX"), Pair("sun_path", "@vigil-test")));
}

TEST(FormatSockaddr, UnixUnnamed) {
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  EXPECT_THAT(Sockaddr(un, sizeof(sa_family_t)),
              ElementsAre(Pair("sa_family", "AF_UNIX"), Pair("sun_path", "")));
}

TEST(FormatSockaddr, ShortOrEmptyInputGivesNothing) {
  EXPECT_THAT(FormatSockaddr({}), IsEmpty());
  uint8_t one = AF_INET;
  EXPECT_THAT(FormatSockaddr(std::span<const uint8_t>(&one, 1)), IsEmpty());
}

TEST(FormatSockaddr, TruncatedInetDoesNotInventAnAddress) {
  // Family and port only: there is no address to show, and 0.0.0.0 would be a lie.
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(80);
  inet_pton(AF_INET, "10.1.2.3", &in.sin_addr);
  Fields f = Sockaddr(in, offsetof(sockaddr_in, sin_addr));
  for (const auto& [key, value] : f)
    EXPECT_NE(key, "sin_addr") << "sin_addr=" << value << " was not in the input";

  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(80);
  inet_pton(AF_INET6, "2001:db8::1", &in6.sin6_addr);
  f = Sockaddr(in6, offsetof(sockaddr_in6, sin6_addr) + 4);
  for (const auto& [key, value] : f)
    EXPECT_NE(key, "sin6_addr") << "sin6_addr=" << value << " was not in the input";
}

TEST(FormatSockaddr, UnknownFamilyKeepsItsNumber) {
  sockaddr sa{};
  sa.sa_family = 250;
  EXPECT_THAT(Sockaddr(sa), ElementsAre(Pair("sa_family", "250")));
}

// ------------------------------------------------------------ RenderInteger

TEST(RenderInteger, ByArgumentFormat) {
  auto render = [](ArgFormat format, std::string type, uint64_t raw) {
    ArgDef def{.name = "x", .type = std::move(type), .format = format};
    return RenderInteger(def, raw);
  };
  EXPECT_EQ(std::get<int64_t>(render(ArgFormat::kInt, "int", 0xffffffffULL)), -1);
  EXPECT_EQ(std::get<int64_t>(render(ArgFormat::kInt, "int", ~0ULL)), -1);
  EXPECT_EQ(std::get<int64_t>(render(ArgFormat::kInt, "long", ~0ULL)), -1);
  EXPECT_EQ(std::get<int64_t>(render(ArgFormat::kDirfd, "int", 0xffffff9cULL)), -100);
  EXPECT_EQ(std::get<uint64_t>(render(ArgFormat::kUint, "size_t", ~0ULL)), ~0ULL);
  EXPECT_EQ(std::get<std::string>(render(ArgFormat::kHex, "void*", 0x1000)), "0x1000");
  EXPECT_EQ(std::get<bool>(render(ArgFormat::kBool, "bool", 2)), true);
  EXPECT_EQ(std::get<std::string>(render(ArgFormat::kOpenFlags, "int", O_RDWR)), "O_RDWR");
  EXPECT_EQ(std::get<int64_t>(render(ArgFormat::kMode, "mode_t", 0)), 0);
  EXPECT_EQ(std::get<std::string>(render(ArgFormat::kMode, "mode_t", 0600)), "0600");
  EXPECT_EQ(std::get<std::string>(render(ArgFormat::kSignal, "int", SIGKILL)), "SIGKILL");
  EXPECT_EQ(std::get<std::string>(render(ArgFormat::kCapability, "int", 21)), "CAP_SYS_ADMIN");
  EXPECT_EQ(std::get<std::string>(render(ArgFormat::kProt, "unsigned long", 3)), "PROT_READ|PROT_WRITE");
  EXPECT_EQ(std::get<std::string>(render(ArgFormat::kAccessMode, "int", 0)), "F_OK");
}

TEST(RenderInteger, BuiltinArgumentsUseTheirFormats) {
  const Registry& reg = Registry::Builtin();
  auto arg = [&](const char* event, const char* name) -> const ArgDef& {
    const ArgDef* a = reg.Find(event)->FindArg(name);
    EXPECT_NE(a, nullptr) << event << "." << name;
    return *a;
  };
  EXPECT_EQ(std::get<std::string>(RenderInteger(arg("openat", "flags"), O_RDONLY | O_CLOEXEC)),
            "O_RDONLY|O_CLOEXEC");
  EXPECT_EQ(std::get<std::string>(RenderInteger(arg("kill", "sig"), SIGTERM)), "SIGTERM");
  EXPECT_EQ(std::get<std::string>(RenderInteger(arg("mmap", "prot"), PROT_READ | PROT_EXEC)),
            "PROT_READ|PROT_EXEC");
  EXPECT_EQ(std::get<std::string>(RenderInteger(arg("mprotect", "prot"), PROT_NONE)), "PROT_NONE");
  EXPECT_EQ(std::get<std::string>(RenderInteger(arg("clone", "clone_flags"), CLONE_VM | SIGCHLD)),
            "CLONE_VM|SIGCHLD");
  EXPECT_EQ(std::get<std::string>(RenderInteger(arg("mkdir", "mode"), 0755)), "0755");
  EXPECT_EQ(std::get<std::string>(RenderInteger(arg("chmod", "mode"), 04711)), "4711");
}

TEST(FormatMmapFlags, TypeAndFlags) {
  EXPECT_EQ(FormatMmapFlags(MAP_PRIVATE | MAP_ANONYMOUS), "MAP_PRIVATE|MAP_ANONYMOUS");
  EXPECT_EQ(FormatMmapFlags(MAP_SHARED | MAP_FIXED | MAP_POPULATE), "MAP_SHARED|MAP_FIXED|MAP_POPULATE");
  EXPECT_EQ(FormatMmapFlags(MAP_SHARED_VALIDATE | MAP_SYNC), "MAP_SHARED_VALIDATE|MAP_SYNC");
  EXPECT_EQ(FormatMmapFlags(MAP_PRIVATE | MAP_FIXED_NOREPLACE | MAP_STACK),
            "MAP_PRIVATE|MAP_STACK|MAP_FIXED_NOREPLACE");
  EXPECT_EQ(FormatMmapFlags(MAP_PRIVATE | 0x80000000ULL), "MAP_PRIVATE|0x80000000") << "unknown bits stay";
  EXPECT_EQ(FormatMmapFlags(0), "0");
}

}  // namespace
}  // namespace vigil::events

#include "vigil/engine/user_switch.h"

#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace vigil::engine {

std::optional<ServiceUser> FindServiceUser() {
  for (const char* name : {"vigil", "nobody"}) {
    struct passwd pw {};
    struct passwd* found = nullptr;
    char buf[4096];
    if (getpwnam_r(name, &pw, buf, sizeof(buf), &found) == 0 && found != nullptr && found->pw_uid != 0)
      return ServiceUser{name, found->pw_uid, found->pw_gid};
  }
  return std::nullopt;
}

std::string FirstUnwritableDirectory(const ServiceUser& user, const std::vector<std::string>& paths) {
  for (const std::string& path : paths) {
    if (path.empty()) continue;
    // A device or FIFO output is reopened in place, never created.
    struct stat existing {};
    if (stat(path.c_str(), &existing) == 0 && !S_ISREG(existing.st_mode)) continue;
    std::string dir = std::filesystem::path(path).parent_path().string();
    if (dir.empty()) dir = ".";
    struct stat st {};
    if (stat(dir.c_str(), &st) != 0) return path;
    const mode_t need = st.st_uid == user.uid   ? (S_IWUSR | S_IXUSR)
                        : st.st_gid == user.gid ? (S_IWGRP | S_IXGRP)
                                                : (S_IWOTH | S_IXOTH);
    if ((st.st_mode & need) != need) return path;
  }
  return "";
}

absl::Status SwitchToUser(const ServiceUser& user) {
  auto failed = [&](const char* what) {
    return absl::PermissionDeniedError(
        absl::StrCat("switch to user ", user.name, " (uid ", user.uid, "): ", what, ": ", strerror(errno)));
  };
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return failed("prctl(PR_SET_KEEPCAPS)");
  if (setgroups(0, nullptr) != 0) return failed("setgroups");
  if (setresgid(user.gid, user.gid, user.gid) != 0) return failed("setresgid");
  if (setresuid(user.uid, user.uid, user.uid) != 0) return failed("setresuid");
  prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  return absl::OkStatus();
}

}  // namespace vigil::engine

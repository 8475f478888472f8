// json and table outputs to stdout or a file, and the file-safety helpers.
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "outputs_internal.h"
#include "queued_output.h"
#include "vigil/engine/json.h"
#include "vigil/engine/log.h"
#include "vigil/engine/outputs/render.h"

namespace vigil::engine {
namespace {

std::string DescribeFileType(mode_t mode) {
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISBLK(mode)) return "a block device";
  return "not a regular file";
}

absl::Status Refuse(const std::string& path, std::string_view why) {
  return absl::FailedPreconditionError(absl::StrCat("output file ", path, ": ", AV(why)));
}

class Fd {
 public:
  explicit Fd(int fd, bool owned) : fd_(fd), owned_(owned) {}
  ~Fd() {
    if (owned_ && fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
  bool owned_;
};

class FileOutput : public QueuedOutput {
 public:
  FileOutput(const OutputSpec& spec, const OutputOptions& options, const OutputContext& context, int fd,
             bool owned)
      : QueuedOutput(
            absl::StrCat(AV(OutputKindName(spec.kind)), ":", spec.target.empty() ? "stdout" : spec.target),
            spec.filter, context, QueueLimits{.max_bytes = options.queue_bytes, .coalesce = true}),
        kind_(spec.kind),
        path_(spec.target),
        fd_(std::make_shared<Fd>(fd, owned)) {}
  ~FileOutput() override { Stop(std::chrono::steady_clock::now()); }

  absl::Status Reopen() override {
    if (path_.empty()) return absl::OkStatus();
    absl::StatusOr<int> fd = OpenEventsFile(path_);
    if (!fd.ok()) return fd.status();
    std::lock_guard<std::mutex> lock(fd_mu_);
    fd_ = std::make_shared<Fd>(*fd, true);
    closed_ = false;
    return absl::OkStatus();
  }

 private:
  void Render(const events::Event& e, int, std::string& out) override {
    static const std::vector<std::string> kNoNames;
    if (kind_ == OutputKind::kJson) {
      AppendEventJson(out, e, context_.policy_names ? *context_.policy_names : kNoNames);
      return;
    }
    if (!header_done_) {
      AppendTableHeader(out);
      header_done_ = true;
    }
    AppendTableLine(out, e);
  }

  SendResult Send(std::vector<Item>& batch) override {
    std::shared_ptr<Fd> fd;
    {
      std::lock_guard<std::mutex> lock(fd_mu_);
      fd = fd_;
      // The reader went away (`vigil -o json | head -1`): nothing more can be written.
      if (closed_) return SendResult::kRefused;
    }
    size_t sent_items = 0;
    SendResult result = SendResult::kOk;
    for (Item& item : batch) {
      size_t done = 0;
      while (done < item.data.size()) {
        ssize_t n = write(fd->get(), item.data.data() + done, item.data.size() - done);
        if (n >= 0) {
          done += static_cast<size_t>(n);
          continue;
        }
        if (errno == EINTR && !aborting()) continue;
        if (errno == EINTR) {
          result = SendResult::kRetry;  // the stop deadline passed: give up
        } else {
          int err = errno;
          result = SendResult::kRefused;
          if (err == EPIPE) {
            std::lock_guard<std::mutex> lock(fd_mu_);
            if (fd == fd_) closed_ = true;
            log_.Warn("the reader closed the pipe (EPIPE); this output's events are dropped from now on");
          } else {
            log_.Warn(absl::StrCat("write: ", strerror(err), "; events dropped"));
          }
        }
        break;
      }
      if (done < item.data.size()) break;
      ++sent_items;
    }
    batch.erase(batch.begin(), batch.begin() + static_cast<ptrdiff_t>(sent_items));
    return result;
  }

  const OutputKind kind_;
  const std::string path_;
  bool header_done_ = false;  // consumer thread
  std::mutex fd_mu_;
  std::shared_ptr<Fd> fd_;
  bool closed_ = false;
};

}  // namespace

absl::StatusOr<int> OpenEventsFile(const std::string& path, bool* created) {
  constexpr int kFlags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  for (int attempt = 0; attempt < 3; ++attempt) {
    int fd = open(path.c_str(), kFlags | O_CREAT | O_EXCL, 0600);
    if (fd >= 0) {
      if (created) *created = true;
      // Blocking writes in the worker thread; a regular file ignores the flag anyway.
      fcntl(fd, F_SETFL, O_WRONLY | O_APPEND);
      return fd;
    }
    if (errno != EEXIST) return Refuse(path, strerror(errno));
    // It exists: append to it only if it is safe to (O_NONBLOCK: a FIFO without
    // a reader fails at once instead of blocking start-up).
    fd = open(path.c_str(), kFlags);
    if (fd < 0) {
      int err = errno;
      if (err == ENOENT) continue;  // removed in between: create it
      struct stat lst {};
      if (lstat(path.c_str(), &lst) == 0 && !S_ISREG(lst.st_mode) && !S_ISCHR(lst.st_mode))
        return Refuse(path, absl::StrCat("is ", DescribeFileType(lst.st_mode),
                                         "; events are written only to a regular file or a character device "
                                         "(remove it, or name another path)"));
      return Refuse(path, strerror(err));
    }
    struct stat st {};
    if (fstat(fd, &st) != 0) {
      int err = errno;
      close(fd);
      return Refuse(path, strerror(err));
    }
    if (S_ISCHR(st.st_mode)) {  // /dev/null, a tty: used as is, never chmod'ed
      fcntl(fd, F_SETFL, O_WRONLY | O_APPEND);
      if (created) *created = false;
      return fd;
    }
    if (!S_ISREG(st.st_mode)) {
      close(fd);
      return Refuse(path, absl::StrCat("is ", DescribeFileType(st.st_mode),
                                       "; events are written only to a regular file or a character device "
                                       "(remove it, or name another path)"));
    }
    if (st.st_uid != geteuid() && st.st_uid != 0) {
      close(fd);
      return Refuse(path,
                    absl::StrCat("is owned by uid ", st.st_uid, ", not by this process (uid ", geteuid(),
                                 ") or root; another user could read or forge the events written "
                                 "there (remove it, or chown it)"));
    }
    if (st.st_mode & 077)
      LogWarn(
          absl::StrCat("output file ", path, " is accessible to other users (mode ",
                       absl::StrFormat("%04o", st.st_mode & 0777),
                       "); events may be sensitive, "
                       "consider chmod 600 (vigil does not change the mode of a file it did not create)"));
    fcntl(fd, F_SETFL, O_WRONLY | O_APPEND);
    if (created) *created = false;
    return fd;
  }
  return Refuse(path, "it keeps appearing and disappearing; refusing to race for it");
}

absl::Status WriteFileAtomically(const std::string& path, std::string_view body, unsigned mode) {
  uint64_t rnd = 0;
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 8 && fd < 0; ++attempt) {
    if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
      rnd ^= static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) *
             0x9E3779B97F4A7C15ull;
    tmp = absl::StrCat(path, ".tmp.", absl::Hex(rnd, absl::kZeroPad16));
    fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0)
    return absl::InvalidArgumentError(absl::StrCat("write ", path, ": create ", tmp, ": ", strerror(errno)));
  size_t done = 0;
  int err = 0;
  while (done < body.size()) {
    ssize_t n = write(fd, body.data() + done, body.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : EIO;
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (close(fd) != 0 && err == 0) err = errno;
  if (err == 0 && rename(tmp.c_str(), path.c_str()) != 0) err = errno;
  if (err != 0) {
    unlink(tmp.c_str());
    return absl::InvalidArgumentError(absl::StrCat("write ", path, ": ", strerror(err)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Output>> OpenFileOutput(const OutputSpec& spec, const OutputOptions& options,
                                                       const OutputContext& context) {
  if (spec.target.empty() || spec.target == "-" || spec.target == "stdout") {
    OutputSpec s = spec;
    s.target.clear();
    return std::unique_ptr<Output>(new FileOutput(s, options, context, STDOUT_FILENO, false));
  }
  absl::StatusOr<int> fd = OpenEventsFile(spec.target);
  if (!fd.ok()) return fd.status();
  return std::unique_ptr<Output>(new FileOutput(spec, options, context, *fd, true));
}

}  // namespace vigil::engine

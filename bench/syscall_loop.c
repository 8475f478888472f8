/* Loops of syscalls that no sensor configuration here selects, to measure
 * what selecting openat costs everything else. Prints the loop time in
 * seconds.  syscall_loop getppid|read [N]
 *   getppid: the cheapest syscall (~0.1 us): the worst case
 *   read:    pread of 4 KiB from a cached file: a typical I/O syscall */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "getppid";
  long n = argc > 2 ? atol(argv[2]) : 2000000;
  static char buf[4096];
  int fd = open("/proc/self/exe", O_RDONLY);
  if (fd < 0) return 1;
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  if (strcmp(mode, "read") == 0)
    for (long i = 0; i < n; i++) pread(fd, buf, sizeof(buf), 0);
  else
    for (long i = 0; i < n; i++) syscall(SYS_getppid);
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%.6f\n", (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
  return 0;
}

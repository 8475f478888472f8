/* io_uring operations for the e2e tests, through a raw ring (iouring_raw.h):
 *   iouring_ops open PATH         IORING_OP_OPENAT (O_RDONLY) of PATH
 *   iouring_ops connect PORT      IORING_OP_CONNECT to 127.0.0.1:PORT
 *   iouring_ops link OLD NEW      IORING_OP_LINKAT of OLD to NEW (an op no event reports)
 * Prints the CQE's result; exits 0 when the operation succeeded. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iouring_raw.h"

int main(int argc, char **argv) {
  if (argc != 3 && !(argc == 4 && strcmp(argv[1], "link") == 0)) {
    fprintf(stderr, "usage: %s open PATH | connect PORT | link OLD NEW\n", argv[0]);
    return 2;
  }
  struct vg_iou r;
  if (vg_iou_init(&r) != 0) {
    perror("io_uring_setup");
    return 1;
  }
  int res;
  if (strcmp(argv[1], "open") == 0) {
    res = vg_iou_openat(&r, AT_FDCWD, argv[2], O_RDONLY | O_CLOEXEC, 0);
  } else if (strcmp(argv[1], "connect") == 0) {
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)atoi(argv[2]));
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int sock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    res = vg_iou_connect(&r, sock, (struct sockaddr *)&sin, sizeof(sin));
  } else if (strcmp(argv[1], "link") == 0) {
    res = vg_iou_linkat(&r, AT_FDCWD, argv[2], AT_FDCWD, argv[3]);
  } else {
    fprintf(stderr, "unknown operation %s\n", argv[1]);
    return 2;
  }
  printf("%d\n", res);
  return res < 0 ? 1 : 0;
}

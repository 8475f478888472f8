// Network workloads for bench/net.sh, each with its own local server thread:
//   net_loop dns N       N DNS queries over UDP to 127.0.0.1:53 and their answers
//   net_loop connect N   N TCP connects (and closes) to a listener on 127.0.0.1
//   net_loop http N      N HTTP/1.1 requests and their responses on one
//                        keep-alive connection to a server on 127.0.0.1 (a random port)
// Prints the elapsed time per operation in nanoseconds.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int server_fd;

static void *dns_server(void *arg) {
  (void)arg;
  unsigned char buf[512];
  for (;;) {
    struct sockaddr_in peer;
    socklen_t len = sizeof(peer);
    ssize_t n = recvfrom(server_fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &len);
    if (n < 12) continue;
    buf[2] = 0x81, buf[3] = 0x80, buf[7] = 1; /* a response with one answer */
    static const unsigned char answer[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 1, 0x2c, 0, 4, 192, 0, 2, 1};
    memcpy(buf + n, answer, sizeof(answer));
    sendto(server_fd, buf, n + sizeof(answer), 0, (struct sockaddr *)&peer, len);
  }
  return NULL;
}

static void *tcp_server(void *arg) {
  (void)arg;
  for (;;) {
    int c = accept(server_fd, NULL, NULL);
    if (c >= 0) close(c);
  }
  return NULL;
}

static const char http_request[] =
    "GET /bench HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: vigil-bench/1\r\nAccept: */*\r\n\r\n";
static const char http_response[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nServer: net_loop\r\n\r\nok";

/* Reads until `want` bytes arrived (one request or response: fixed sizes). */
static int read_exactly(int fd, char *buf, size_t want) {
  size_t got = 0;
  while (got < want) {
    ssize_t n = recv(fd, buf + got, want - got, 0);
    if (n <= 0) return -1;
    got += (size_t)n;
  }
  return 0;
}

static void *http_server(void *arg) {
  (void)arg;
  int c = accept(server_fd, NULL, NULL);
  char buf[sizeof(http_request)];
  while (c >= 0 && read_exactly(c, buf, sizeof(http_request) - 1) == 0)
    if (send(c, http_response, sizeof(http_response) - 1, 0) < 0) break;
  return NULL;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s dns|connect|http N\n", argv[0]);
    return 2;
  }
  long n = atol(argv[2]);
  int dns = strcmp(argv[1], "dns") == 0;
  int http = strcmp(argv[1], "http") == 0;
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(dns ? 53 : 0)};
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  server_fd = socket(AF_INET, dns ? SOCK_DGRAM : SOCK_STREAM, 0);
  int one = 1;
  setsockopt(server_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  socklen_t alen = sizeof(addr);
  if (bind(server_fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
      getsockname(server_fd, (struct sockaddr *)&addr, &alen) != 0 || (!dns && listen(server_fd, 512) != 0)) {
    perror("server");
    return 1;
  }
  pthread_t t;
  pthread_create(&t, NULL, dns ? dns_server : http ? http_server : tcp_server, NULL);
  static const unsigned char query[] = {0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 5, 'b', 'e', 'n', 'c', 'h',
                                        7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1};
  int udp = socket(AF_INET, SOCK_DGRAM, 0);
  int conn = -1;
  if (http) {
    conn = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(conn, (struct sockaddr *)&addr, sizeof(addr)) != 0) return 1;
  }
  double start = now();
  for (long i = 0; i < n; i++) {
    if (http) {
      char reply[sizeof(http_response)];
      if (send(conn, http_request, sizeof(http_request) - 1, 0) < 0) return 1;
      if (read_exactly(conn, reply, sizeof(http_response) - 1) != 0) return 1;
    } else if (dns) {
      unsigned char reply[512];
      sendto(udp, query, sizeof(query), 0, (struct sockaddr *)&addr, sizeof(addr));
      if (recv(udp, reply, sizeof(reply), 0) < 12) return 1;
    } else {
      int c = socket(AF_INET, SOCK_STREAM, 0);
      if (connect(c, (struct sockaddr *)&addr, sizeof(addr)) != 0) return 1;
      close(c);
    }
  }
  printf("%.0f\n", (now() - start) / n);
  return 0;
}

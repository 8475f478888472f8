// A Kafka cluster for the tests: librdkafka's mock cluster, run as its own
// process. Prints its bootstrap address on the first line of stdout, then
// reads commands from stdin, one per line:
//   down | up    take broker 1 down (connections closed, new ones refused) / back up
//   quit         (or end of input) shut the cluster down and exit
//
//   kafka_mock TOPIC [PARTITIONS]
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: kafka_mock TOPIC [PARTITIONS]\n");
    return 2;
  }
  int partitions = argc > 2 ? atoi(argv[2]) : 1;
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));  // this client never connects: no warning
  // The mock cluster needs a client instance to live in; it serves real clients over TCP on loopback.
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (!rk) {
    fprintf(stderr, "kafka_mock: %s\n", err);
    return 1;
  }
  rd_kafka_mock_cluster_t* mc = rd_kafka_mock_cluster_new(rk, 1);
  if (!mc) {
    fprintf(stderr, "kafka_mock: cannot create the mock cluster\n");
    return 1;
  }
  if (rd_kafka_mock_topic_create(mc, argv[1], partitions, 1) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    fprintf(stderr, "kafka_mock: cannot create topic %s\n", argv[1]);
    return 1;
  }
  printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);
  char line[128];
  while (fgets(line, sizeof(line), stdin)) {
    line[strcspn(line, "\r\n")] = 0;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (strcmp(line, "down") == 0)
      e = rd_kafka_mock_broker_set_down(mc, 1);
    else if (strcmp(line, "up") == 0)
      e = rd_kafka_mock_broker_set_up(mc, 1);
    else if (strcmp(line, "quit") == 0)
      break;
    else
      fprintf(stderr, "kafka_mock: unknown command '%s' (down, up, quit)\n", line);
    if (e) fprintf(stderr, "kafka_mock: %s: %s\n", line, rd_kafka_err2str(e));
    fprintf(stderr, "kafka_mock: %s done\n", line);
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}

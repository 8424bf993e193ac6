/*
 * soar lab miner stand-in. NOT mining software: it computes nothing. It only shows a responder
 * what a running miner looks like from outside: a process started from a systemd unit with
 * --config=PATH, holding a TCP connection to the pool that the config's "url" names, sending
 * a short login line, then a small keepalive line every few seconds, reconnecting if dropped.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
  KEEPALIVE_MS = 5000,
  RECONNECT_S = 3,
  CONNECT_TIMEOUT_MS = 5000,
  /* A pool that stops acknowledging (an isolated host) counts as gone after this long. */
  USER_TIMEOUT_MS = 20000,
  CONFIG_MAX = 65536,
};

struct pool {
  char host[256];
  char port[16];
};

/* The first "url" string of an xmrig-shaped config: "stratum+tcp://HOST:PORT". */
static int read_pool(const char *config_path, struct pool *pool) {
  static char text[CONFIG_MAX + 1];
  FILE *file = fopen(config_path, "r");
  if (file == NULL) {
    fprintf(stderr, "cannot open config %s: %s\n", config_path, strerror(errno));
    return -1;
  }
  size_t length = fread(text, 1, CONFIG_MAX, file);
  fclose(file);
  text[length] = '\0';

  const char *cursor = strstr(text, "\"url\"");
  if (cursor == NULL) {
    fprintf(stderr, "config %s names no pool \"url\"\n", config_path);
    return -1;
  }
  cursor += strlen("\"url\"");
  cursor += strspn(cursor, " \t\r\n");
  if (*cursor++ != ':') return -1;
  cursor += strspn(cursor, " \t\r\n");
  if (*cursor++ != '"') return -1;
  const char *end = strchr(cursor, '"');
  if (end == NULL) return -1;

  const char *scheme_end = strstr(cursor, "://");
  if (scheme_end != NULL && scheme_end < end) cursor = scheme_end + 3;
  const char *colon = memrchr(cursor, ':', (size_t)(end - cursor));
  if (colon == NULL || (size_t)(colon - cursor) >= sizeof pool->host || (size_t)(end - colon - 1) >= sizeof pool->port ||
      colon == cursor || end == colon + 1) {
    fprintf(stderr, "config %s: pool url is not host:port\n", config_path);
    return -1;
  }
  memcpy(pool->host, cursor, (size_t)(colon - cursor));
  pool->host[colon - cursor] = '\0';
  memcpy(pool->port, colon + 1, (size_t)(end - colon - 1));
  pool->port[end - colon - 1] = '\0';
  return 0;
}

/* The lab's pool is an address: no resolver, so the static binary needs no NSS at run time. */
static int connect_pool(const struct pool *pool) {
  struct sockaddr_storage address = {0};
  socklen_t size;
  char *end;
  unsigned long port = strtoul(pool->port, &end, 10);
  if (*end != '\0' || port == 0 || port > 65535) return -1;
  struct sockaddr_in *v4 = (struct sockaddr_in *)&address;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&address;
  if (inet_pton(AF_INET, pool->host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    size = sizeof *v4;
  } else if (inet_pton(AF_INET6, pool->host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    size = sizeof *v6;
  } else {
    return -1;
  }

  int fd = socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  int rc = connect(fd, (struct sockaddr *)&address, size);
  if (rc < 0 && errno == EINPROGRESS) {
    /* Bounded, so a host whose SYNs are dropped keeps retrying instead of hanging for minutes. */
    struct pollfd wait = {.fd = fd, .events = POLLOUT};
    int error = ETIMEDOUT;
    socklen_t size = sizeof error;
    if (poll(&wait, 1, CONNECT_TIMEOUT_MS) == 1) getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size);
    rc = error == 0 ? 0 : -1;
  }
  if (rc < 0) {
    close(fd);
    return -1;
  }
  int timeout = USER_TIMEOUT_MS;
  setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout, sizeof timeout);
  return fd;
}

static int send_line(int fd, const char *line) {
  size_t length = strlen(line);
  return send(fd, line, length, MSG_NOSIGNAL) == (ssize_t)length ? 0 : -1;
}

/* Holds one connection until the pool closes it or stops answering. */
static void stay_connected(int fd) {
  char line[160];
  unsigned long id = 1;
  snprintf(line, sizeof line, "{\"id\":%lu,\"jsonrpc\":\"2.0\",\"method\":\"login\",\"params\":{\"agent\":\"soar-lab-standin\"}}\n", id);
  if (send_line(fd, line) < 0) return;
  for (;;) {
    struct pollfd wait = {.fd = fd, .events = POLLIN};
    int ready = poll(&wait, 1, KEEPALIVE_MS);
    if (ready < 0 && errno != EINTR) return;
    if (ready > 0) {
      char discard[512];
      ssize_t got = recv(fd, discard, sizeof discard, 0);
      if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) return;
      continue;
    }
    if (ready == 0) {
      snprintf(line, sizeof line, "{\"id\":%lu,\"jsonrpc\":\"2.0\",\"method\":\"keepalived\"}\n", ++id);
      if (send_line(fd, line) < 0) return;
    }
  }
}

/* --config=PATH, --config PATH or -c PATH; xmrig's default is config.json beside the binary. */
static const char *config_path(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], "--config=", 9) == 0) return argv[i] + 9;
    if ((strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0) && i + 1 < argc) return argv[i + 1];
  }
  static char beside[4096];
  ssize_t length = readlink("/proc/self/exe", beside, sizeof beside - 16);
  char *slash = length > 0 ? memrchr(beside, '/', (size_t)length) : NULL;
  if (slash == NULL) return "config.json";
  strcpy(slash, "/config.json");
  return beside;
}

int main(int argc, char **argv) {
  setvbuf(stderr, NULL, _IOLBF, 0);
  struct pool pool;
  const char *path = config_path(argc, argv);
  if (read_pool(path, &pool) < 0) return 1;
  fprintf(stderr, "soar lab stand-in (not a miner): pool %s:%s from %s\n", pool.host, pool.port, path);
  for (;;) {
    int fd = connect_pool(&pool);
    if (fd >= 0) {
      fprintf(stderr, "connected to pool %s:%s\n", pool.host, pool.port);
      stay_connected(fd);
      close(fd);
      fprintf(stderr, "pool connection lost, reconnecting in %ds\n", RECONNECT_S);
    }
    sleep(RECONNECT_S);
  }
}

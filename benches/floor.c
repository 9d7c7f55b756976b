/* The floor for a lone check on this machine: one fresh-connection GET every PERIOD ms to
 * 127.0.0.1:PORT/health with blocking calls and nothing else (no runtime, no parsing beyond the
 * status line, no log). Prints the CPU it took per request, to set `canary run`'s CPU per run
 * beside. Usage: floor PORT PERIOD_MS COUNT */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double cpu_ms(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 +
           (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: floor PORT PERIOD_MS COUNT\n");
        return 2;
    }
    int port = atoi(argv[1]), period = atoi(argv[2]), count = atoi(argv[3]), ok = 0;
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    const char *req = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    char buf[4096];
    double start = cpu_ms();
    for (int i = 0; i < count; i++) {
        struct timespec wait = {period / 1000, (period % 1000) * 1000000L};
        nanosleep(&wait, NULL);
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s >= 0 && connect(s, (struct sockaddr *)&addr, sizeof addr) == 0 &&
            write(s, req, strlen(req)) > 0) {
            ssize_t n, got = 0;
            char head[12] = {0};
            while ((n = read(s, buf, sizeof buf)) > 0) {
                if (got == 0) memcpy(head, buf, n < 12 ? n : 12);
                got += n;
            }
            ok += memcmp(head, "HTTP/1.1 200", 12) == 0;
        }
        if (s >= 0) close(s);
    }
    printf("%.3f ms, %d of %d answered 200\n", (cpu_ms() - start) / count, ok, count);
    return ok == count ? 0 : 1;
}

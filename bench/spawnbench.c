// Times N runs of a command with posix_spawn + waitpid and prints the median, p90 and
// mean in microseconds as one JSON object. Used for every whole-process line of scripts/bench.
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

extern char **environ;

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: spawnbench N CMD [ARG...]\n");
        return 2;
    }
    int n = atoi(argv[1]);
    if (n <= 0) return 2;
    double *t = malloc(sizeof(double) * n);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    int failures = 0;
    for (int i = 0; i < n; i++) {
        double start = now_us();
        pid_t pid;
        if (posix_spawn(&pid, argv[2], &actions, NULL, argv + 2, environ) != 0) {
            perror("posix_spawn");
            return 1;
        }
        int status;
        waitpid(pid, &status, 0);
        t[i] = now_us() - start;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failures++;
    }
    qsort(t, n, sizeof(double), cmp);
    double sum = 0;
    for (int i = 0; i < n; i++) sum += t[i];
    printf("{\"runs\": %d, \"medianUs\": %.1f, \"p90Us\": %.1f, \"meanUs\": %.1f, \"failures\": %d}\n",
           n, t[n / 2], t[(n * 9) / 10], sum / n, failures);
    return failures ? 1 : 0;
}

// Attack: a fork bomb. Every process forks as fast as it can (children fork too) for two seconds,
// retrying after failures; no process ever exits. A hard cap keeps an unconfined run finite.
// argv[1] = LIMIT (processes the profile allows), argv[2] = marker (only to appear in the command
// line), argv[3] = "cleanup" to kill the children before exiting (for unconfined runs).
// Exit 42 if more than LIMIT processes existed at once, 100 + errno of the first failed fork
// otherwise (0 if no fork failed).
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MAX_CHILDREN 1024

struct Shared {
    int reserved;
    int created;
    int failures;
    int firstError;
    pid_t pids[MAX_CHILDREN];
};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: fork_bomb LIMIT MARKER [cleanup]\n");
        return 2;
    }
    int limit = atoi(argv[1]);
    int cap = limit * 4 + 16;
    if (cap > MAX_CHILDREN) {
        cap = MAX_CHILDREN;
    }
    int cleanup = argc > 3 && strcmp(argv[3], "cleanup") == 0;
    struct Shared *shared = mmap(NULL, sizeof(struct Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) {
        perror("mmap");
        return 2;
    }
    pid_t main_pid = getpid();
    double deadline = now() + 2.0;
    struct timespec pause_10ms = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
    fprintf(stderr, "fork bomb: limit %d, cap %d\n", limit, cap);

    while (now() < deadline) {
        int slot = __atomic_fetch_add(&shared->reserved, 1, __ATOMIC_SEQ_CST);
        if (slot >= cap) {
            __atomic_fetch_sub(&shared->reserved, 1, __ATOMIC_SEQ_CST);
            nanosleep(&pause_10ms, NULL);
            continue;
        }
        pid_t pid = fork();
        if (pid == 0) {
            continue;
        }
        if (pid > 0) {
            shared->pids[slot] = pid;
            __atomic_fetch_add(&shared->created, 1, __ATOMIC_SEQ_CST);
            continue;
        }
        int err = errno;
        shared->pids[slot] = 0;
        __atomic_fetch_sub(&shared->reserved, 1, __ATOMIC_SEQ_CST);
        if (__atomic_fetch_add(&shared->failures, 1, __ATOMIC_SEQ_CST) == 0) {
            shared->firstError = err;
        }
        nanosleep(&pause_10ms, NULL);
    }
    if (getpid() != main_pid) {
        for (;;) {
            pause();
        }
    }
    struct timespec settle = {.tv_sec = 0, .tv_nsec = 500 * 1000 * 1000};
    nanosleep(&settle, NULL);
    int created = __atomic_load_n(&shared->created, __ATOMIC_SEQ_CST);
    int failures = __atomic_load_n(&shared->failures, __ATOMIC_SEQ_CST);
    printf("created %d processes besides the first (limit %d), %d failed forks, first errno %d (%s)\n",
           created, limit, failures, shared->firstError, strerror(shared->firstError));
    fflush(stdout);
    if (cleanup) {
        for (int i = 0; i < cap; i++) {
            if (shared->pids[i] > 0) {
                kill(shared->pids[i], SIGKILL);
            }
        }
    }
    if (created + 1 > limit) {
        printf("ESCAPED: %d processes alive at once\n", created + 1);
        return 42;
    }
    return failures > 0 ? 100 + shared->firstError : 0;
}

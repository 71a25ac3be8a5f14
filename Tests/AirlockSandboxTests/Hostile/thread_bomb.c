// Attack: create threads (small stacks, each blocked forever) until creation fails, then keep
// trying every 10 ms for two seconds. A hard cap keeps an unconfined run finite.
// argv[1] = LIMIT (processes + threads the profile allows).
// Exit 42 if more than LIMIT threads existed at once, 100 + the first pthread_create error otherwise.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void *block(void *unused) {
    (void)unused;
    for (;;) {
        pause();
    }
    return NULL;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: thread_bomb LIMIT\n");
        return 2;
    }
    int limit = atoi(argv[1]);
    int cap = limit * 4 + 16;
    int created = 0, failures = 0, firstError = 0;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    struct timespec pause_10ms = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
    double deadline = now() + 2.0;
    while (now() < deadline && created < cap) {
        pthread_t thread;
        int err = pthread_create(&thread, &attr, block, NULL);
        if (err == 0) {
            created++;
        } else {
            if (failures++ == 0) {
                firstError = err;
            }
            nanosleep(&pause_10ms, NULL);
        }
    }
    printf("created %d threads besides the main one (limit %d), %d failures, first error %d (%s)\n",
           created, limit, failures, firstError, strerror(firstError));
    fflush(stdout);
    if (created + 1 > limit) {
        printf("ESCAPED: %d threads alive at once\n", created + 1);
        return 42;
    }
    return failures > 0 ? 100 + firstError : 0;
}

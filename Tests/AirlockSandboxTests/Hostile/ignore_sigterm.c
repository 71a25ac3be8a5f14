// Attack: ignore every catchable termination signal and sleep. Exit 42 after argv[1] seconds
// (default 30).
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv) {
    int seconds = argc > 1 ? atoi(argv[1]) : 30;
    const int signals[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGXCPU, SIGALRM, SIGPIPE};
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        signal(signals[i], SIG_IGN);
    }
    fprintf(stderr, "ignoring SIGTERM and friends\n");
    struct timespec left = {.tv_sec = seconds, .tv_nsec = 0};
    while (nanosleep(&left, &left) != 0) {
    }
    printf("ESCAPED: slept %d seconds ignoring SIGTERM\n", seconds);
    return 42;
}

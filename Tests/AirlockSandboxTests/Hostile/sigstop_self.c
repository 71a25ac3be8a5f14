// Attack: stop itself with SIGSTOP (a host that waits for exit alone would hang), then, if ever
// resumed, sleep. Exit 42 after argv[1] seconds (default 30) past the stop.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv) {
    int seconds = argc > 1 ? atoi(argv[1]) : 30;
    fprintf(stderr, "raising SIGSTOP\n");
    raise(SIGSTOP);
    fprintf(stderr, "resumed\n");
    struct timespec left = {.tv_sec = seconds, .tv_nsec = 0};
    while (nanosleep(&left, &left) != 0) {
    }
    printf("ESCAPED: still running %d seconds after SIGSTOP\n", seconds);
    return 42;
}

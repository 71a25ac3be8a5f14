// Attack: outlive the wall-clock limit by sleeping. Exit 42 after argv[1] seconds (default 30).
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv) {
    int seconds = argc > 1 ? atoi(argv[1]) : 30;
    struct timespec left = {.tv_sec = seconds, .tv_nsec = 0};
    while (nanosleep(&left, &left) != 0) {
    }
    printf("ESCAPED: slept %d seconds\n", seconds);
    return 42;
}

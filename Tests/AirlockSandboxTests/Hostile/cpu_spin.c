// Attack: spin on the CPU. Exit 42 after using argv[1] seconds of CPU time (default 5).
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

static double cpuSeconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 + (double)usage.ru_stime.tv_sec +
           (double)usage.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv) {
    double budget = argc > 1 ? atof(argv[1]) : 5.0;
    volatile unsigned long counter = 0;
    while (cpuSeconds() < budget) {
        for (int i = 0; i < 1000000; i++) {
            counter++;
        }
    }
    printf("ESCAPED: spun for %.1f CPU seconds\n", budget);
    return 42;
}

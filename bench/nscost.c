// Cost of creating and tearing down each kind of namespace: the median of 100 clones of a
// child that exits at once, per clone flag. With an argument, a child that has a new mount
// namespace also makes its mounts private and mounts /proc, as Airlock's child does.
// Run as root:  cc -O2 -o nscost bench/nscost.c && ./nscost && ./nscost mount
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    const unsigned long all = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET;
    const unsigned long flags[] = {0, CLONE_NEWPID, CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET, CLONE_NEWUSER, all};
    const char *names[] = {"none", "pid", "mount", "ipc", "uts", "net", "user", "pid+mount+ipc+uts+net"};
    (void)argv;
    int with_mounts = argc > 1;
    for (int f = 0; f < 8; f++) {
        enum { N = 100 };
        double t[N];
        for (int i = 0; i < N; i++) {
            double start = now_us();
            long pid = syscall(SYS_clone, flags[f] | SIGCHLD, 0, 0, 0, 0);
            if (pid < 0) {
                perror(names[f]);
                break;
            }
            if (pid == 0) {
                if (with_mounts && (flags[f] & CLONE_NEWNS)) {
                    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
                    if (flags[f] & CLONE_NEWPID) mount("proc", "/proc", "proc", 0, NULL);
                }
                _exit(0);
            }
            int status;
            waitpid((pid_t)pid, &status, 0);
            t[i] = now_us() - start;
        }
        qsort(t, N, sizeof t[0], cmp);
        printf("%-24s median %6.0f us\n", names[f], t[N / 2]);
    }
    return 0;
}

// How long moving a process into a cgroup takes, warm (back to back) and cold (after a pause).
// cgroup migration takes a per-CPU rw-semaphore for writing, which waits for an RCU grace
// period unless another migration happened just before.
//   cc -O2 -o cgmigrate bench/cgmigrate.c
//   ./cgmigrate /sys/fs/cgroup/memory/<your cgroup> 0      # back to back
//   ./cgmigrate /sys/fs/cgroup/memory/<your cgroup> 200    # 200 ms apart
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: cgmigrate CGROUP_PARENT_DIR GAP_MS\n");
        return 2;
    }
    char dir[512], procs[600];
    snprintf(dir, sizeof dir, "%s/airlock-cgmigrate-%d", argv[1], getpid());
    snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
    if (mkdir(dir, 0755) != 0) {
        perror(dir);
        return 1;
    }
    int gap_ms = atoi(argv[2]);
    for (int i = 0; i < 6; i++) {
        usleep((useconds_t)gap_ms * 1000);
        int fd = open(procs, O_WRONLY | O_CLOEXEC);
        pid_t pid = fork();
        if (pid == 0) {
            double start = now_us();
            if (write(fd, "0", 1) != 1) _exit(1);
            fprintf(stderr, "move into cgroup: %.0f us\n", now_us() - start);
            _exit(0);
        }
        close(fd);
        waitpid(pid, NULL, 0);
    }
    rmdir(dir);
    return 0;
}

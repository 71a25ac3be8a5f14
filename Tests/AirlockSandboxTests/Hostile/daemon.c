// Attack: leave a process behind. Double-forks a daemon (setsid, fork twice) that ignores SIGHUP
// and SIGTERM, writes DIR/daemon-started, tells the first process it is up, and sleeps for
// argv[4] seconds (default 120). The first process exits 0 as soon as the daemon is up.
// argv[1] = marker (only to appear in the command line, so the host can look for survivors),
// argv[2] = DIR, argv[3] = "open" (the daemon keeps stdout/stderr open) or "close" (it closes them).
// Exit 0 once the daemon is up, 2 if it could not be started.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: daemon MARKER DIR open|close [SECONDS]\n");
        return 2;
    }
    int seconds = argc > 4 ? atoi(argv[4]) : 120;
    int ready[2];
    if (pipe(ready) != 0) {
        perror("pipe");
        return 2;
    }
    pid_t first = fork();
    if (first < 0) {
        fprintf(stderr, "fork: errno %d (%s)\n", errno, strerror(errno));
        return 2;
    }
    if (first == 0) {
        close(ready[0]);
        setsid();
        pid_t second = fork();
        if (second != 0) {
            _exit(second < 0 ? 2 : 0);
        }
        signal(SIGHUP, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        char path[4096];
        snprintf(path, sizeof path, "%s/daemon-started", argv[2]);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) {
            fprintf(stderr, "daemon: cannot write %s: errno %d (%s)\n", path, errno, strerror(errno));
            _exit(2);
        }
        dprintf(fd, "%d\n", (int)getpid());
        close(fd);
        if (strcmp(argv[3], "close") == 0) {
            int null = open("/dev/null", O_RDWR);
            for (int i = 0; i <= 2; i++) {
                if (null >= 0) {
                    dup2(null, i);
                } else {
                    close(i);
                }
            }
        }
        if (write(ready[1], "u", 1) != 1) {
            _exit(2);
        }
        close(ready[1]);
        struct timespec left = {.tv_sec = seconds, .tv_nsec = 0};
        while (nanosleep(&left, &left) != 0) {
        }
        _exit(42);
    }
    close(ready[1]);
    waitpid(first, NULL, 0);
    char byte = 0;
    if (read(ready[0], &byte, 1) != 1) {
        fprintf(stderr, "daemon did not start\n");
        return 2;
    }
    fprintf(stderr, "daemon is up; first process exits\n");
    return 0;
}

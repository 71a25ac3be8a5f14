// Leaves a daemon behind and never finishes. argv[1] = a marker, only there to appear in both
// processes' command lines. The first process forks; that child calls setsid() and forks again,
// then exits; the grandchild renames itself (PR_SET_NAME), ignores SIGHUP and SIGTERM and sleeps
// forever. Once the grandchild is up, the first process prints "up" and sleeps forever too,
// ignoring SIGTERM. Exit 2 if anything fails.
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void sleep_forever(void) {
    for (;;) {
        pause();
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: daemon MARKER\n");
        return 2;
    }
    int ready[2];
    if (pipe(ready) != 0) return 2;
    pid_t first = fork();
    if (first < 0) return 2;
    if (first == 0) {
        close(ready[0]);
        setsid();
        pid_t second = fork();
        if (second != 0) _exit(second < 0 ? 2 : 0);
        prctl(PR_SET_NAME, "airlock-daemon", 0, 0, 0);
        signal(SIGHUP, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        if (write(ready[1], "u", 1) != 1) _exit(2);
        close(ready[1]);
        sleep_forever();
    }
    close(ready[1]);
    signal(SIGTERM, SIG_IGN);
    waitpid(first, NULL, 0);
    char byte = 0;
    if (read(ready[0], &byte, 1) != 1) {
        fprintf(stderr, "daemon did not start\n");
        return 2;
    }
    printf("up\n");
    fflush(stdout);
    sleep_forever();
}

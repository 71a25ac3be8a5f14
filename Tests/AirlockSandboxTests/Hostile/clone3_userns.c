// Attack: clone3 (raw syscall 435) with CLONE_NEWUSER | CLONE_NEWNS, which a filter on clone's
// flags cannot see. Exit 42 if the child was created, 100 + errno if refused (ENOSYS expected).
#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_clone3
#define SYS_clone3 435
#endif

int main(void) {
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_NEWUSER | CLONE_NEWNS;
    args.exit_signal = SIGCHLD;
    fprintf(stderr, "trying syscall(435 /* clone3 */, {CLONE_NEWUSER|CLONE_NEWNS})\n");
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) {
        _exit(0);
    }
    if (pid > 0) {
        waitpid((pid_t)pid, NULL, 0);
        printf("ESCAPED: clone3 created pid %ld in new namespaces\n", pid);
        return 42;
    }
    int err = errno;
    fprintf(stderr, "refused: errno %d (%s)\n", err, strerror(err));
    return 100 + err;
}

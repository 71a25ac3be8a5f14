// Attack: ptrace(PTRACE_ATTACH) of the parent (argv[1] = "parent", the default) or of pid 1
// (argv[1] = "init"). Exit 42 if the attach worked (it detaches at once), 100 + errno if refused.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    pid_t target = getppid();
    if (argc > 1 && strcmp(argv[1], "init") == 0) {
        target = 1;
    }
    fprintf(stderr, "trying ptrace(PTRACE_ATTACH, %d)\n", (int)target);
    if (ptrace(PTRACE_ATTACH, target, NULL, NULL) == 0) {
        int status = 0;
        waitpid(target, &status, __WALL);
        ptrace(PTRACE_DETACH, target, NULL, NULL);
        printf("ESCAPED: attached to pid %d\n", (int)target);
        return 42;
    }
    int err = errno;
    fprintf(stderr, "refused: errno %d (%s)\n", err, strerror(err));
    return 100 + err;
}

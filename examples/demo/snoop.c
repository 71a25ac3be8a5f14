// Tries to read another process's memory: ptrace-attaches to its parent.
#include <stdio.h>
#include <sys/ptrace.h>
#include <unistd.h>

int main(void) {
    printf("attaching to pid %d\n", getppid());
    fflush(stdout);
    if (ptrace(PTRACE_ATTACH, getppid(), 0, 0) == 0) {
        printf("attached: the sandbox let ptrace through\n");
        return 42;
    }
    perror("ptrace");
    return 3;
}

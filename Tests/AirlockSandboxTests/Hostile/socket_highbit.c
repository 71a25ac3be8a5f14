// Attack: socket(AF_INET | 1 << 32) through the raw syscall. The kernel truncates the domain to
// an int, so a filter comparing all 64 bits lets it through. Exit 42 if it worked, 100 + errno if refused.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    long domain = (long)AF_INET | (1L << 32);
    long type = (long)SOCK_STREAM | (1L << 32);
    fprintf(stderr, "trying syscall(SYS_socket, 0x%lx, 0x%lx, 0)\n", domain, type);
    long fd = syscall(SYS_socket, domain, type, 0L);
    if (fd >= 0) {
        printf("ESCAPED: AF_INET socket (high bits set) fd %ld\n", fd);
        return 42;
    }
    int err = errno;
    fprintf(stderr, "refused: errno %d (%s)\n", err, strerror(err));
    return 100 + err;
}

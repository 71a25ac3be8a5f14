// Attack: open an AF_VSOCK socket (talk to the hypervisor). Exit 42 if it worked, 100 + errno if refused.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

int main(void) {
    fprintf(stderr, "trying socket(AF_VSOCK, SOCK_STREAM, 0)\n");
    int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
    if (fd >= 0) {
        printf("ESCAPED: AF_VSOCK socket fd %d\n", fd);
        return 42;
    }
    int err = errno;
    fprintf(stderr, "refused: errno %d (%s)\n", err, strerror(err));
    return 100 + err;
}

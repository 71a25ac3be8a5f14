// Attack: socketpair(AF_UNIX) (a socket where the profile allows none). Exit 42 if it worked,
// 100 + errno if refused. Allowed under `default`, an escape under `strict`.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int main(void) {
    int fds[2];
    fprintf(stderr, "trying socketpair(AF_UNIX, SOCK_STREAM, 0)\n");
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0) {
        printf("ESCAPED: socketpair fds %d %d\n", fds[0], fds[1]);
        return 42;
    }
    int err = errno;
    fprintf(stderr, "refused: errno %d (%s)\n", err, strerror(err));
    return 100 + err;
}

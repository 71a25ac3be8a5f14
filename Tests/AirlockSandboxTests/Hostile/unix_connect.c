// Connects to a host AF_UNIX socket at the path in argv[1] (Landlock does not govern connect()
// to a path-bound socket, so only the absence of socket() stops this under network none).
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (s < 0) {
        fprintf(stderr, "socket(AF_UNIX): %s\n", strerror(errno));
        return 100 + errno;
    }
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    strncpy(addr.sun_path, argv[1], sizeof addr.sun_path - 1);
    if (connect(s, (struct sockaddr *)&addr, sizeof addr) < 0) {
        fprintf(stderr, "connect(%s): %s\n", argv[1], strerror(errno));
        return 100 + errno;
    }
    printf("connected to the host's socket\n");
    return 42;
}

// Attack: open an AF_NETLINK (NETLINK_ROUTE) socket. Exit 42 if it worked, 100 + errno if refused.
#include <errno.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int main(void) {
    fprintf(stderr, "trying socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)\n");
    int fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    if (fd >= 0) {
        printf("ESCAPED: AF_NETLINK socket fd %d\n", fd);
        return 42;
    }
    int err = errno;
    fprintf(stderr, "refused: errno %d (%s)\n", err, strerror(err));
    return 100 + err;
}

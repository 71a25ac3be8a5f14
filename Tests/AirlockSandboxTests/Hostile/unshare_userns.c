// Attack: unshare(CLONE_NEWUSER) (a new user namespace, the door to most kernel attack surface).
// Exit 42 if it worked, 100 + errno if refused.
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    fprintf(stderr, "trying unshare(CLONE_NEWUSER)\n");
    if (unshare(CLONE_NEWUSER) == 0) {
        printf("ESCAPED: new user namespace\n");
        return 42;
    }
    int err = errno;
    fprintf(stderr, "refused: errno %d (%s)\n", err, strerror(err));
    return 100 + err;
}

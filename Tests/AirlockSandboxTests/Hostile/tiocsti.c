// Attack: TIOCSTI (push characters into a terminal's input, i.e. type commands into the user's
// shell) on fd 0, on fd 3 when the test passes a terminal there, and on /dev/tty. Each terminal is
// first made the controlling terminal, so only the sandbox stands in the way.
// argv[1] = "plain" (ioctl) or "highbit" (raw syscall with cmd | 1 << 32, which the kernel
// truncates back to TIOCSTI). Exit 42 if a character was injected, 100 + errno if refused.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int injected = 0;
static int lastError = ENOTTY;

static void attack(int fd, const char *what, int highbit) {
    char c = '#';
    setsid();
    ioctl(fd, TIOCSCTTY, 0);
    long result;
    if (highbit) {
        fprintf(stderr, "trying syscall(SYS_ioctl, %s, TIOCSTI | 1 << 32)\n", what);
        result = syscall(SYS_ioctl, (long)fd, (long)TIOCSTI | (1L << 32), &c);
    } else {
        fprintf(stderr, "trying ioctl(%s, TIOCSTI)\n", what);
        result = ioctl(fd, TIOCSTI, &c);
    }
    if (result == 0) {
        printf("ESCAPED: injected a character into %s\n", what);
        injected = 1;
    } else {
        lastError = errno;
        fprintf(stderr, "refused on %s: errno %d (%s)\n", what, lastError, strerror(lastError));
    }
}

int main(int argc, char **argv) {
    int highbit = argc > 1 && strcmp(argv[1], "highbit") == 0;
    attack(0, "fd 0", highbit);
    if (fcntl(3, F_GETFD) != -1) {
        attack(3, "fd 3", highbit);
    }
    int tty = open("/dev/tty", O_RDWR | O_NOCTTY);
    if (tty >= 0) {
        attack(tty, "/dev/tty", highbit);
    } else {
        fprintf(stderr, "open /dev/tty: errno %d (%s)\n", errno, strerror(errno));
    }
    if (injected) {
        return 42;
    }
    return 100 + lastError;
}

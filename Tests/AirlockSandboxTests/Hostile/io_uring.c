// Attack: io_uring_setup through the raw syscall (io_uring bypasses seccomp for the operations it
// performs). Exit 42 if a ring was created, 100 + errno if refused (ENOSYS expected).
#include <errno.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    fprintf(stderr, "trying syscall(SYS_io_uring_setup, 8, &params)\n");
    long fd = syscall(SYS_io_uring_setup, 8L, &params);
    if (fd >= 0) {
        printf("ESCAPED: io_uring fd %ld\n", fd);
        return 42;
    }
    int err = errno;
    fprintf(stderr, "refused: errno %d (%s)\n", err, strerror(err));
    return 100 + err;
}

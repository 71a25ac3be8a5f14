// Host-side helpers the Swift Glibc module does not expose. Each returns 0 or an errno.
#include "airlock_spawn.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/random.h>

int airlock_memfd(const char *name, int *fd_out) {
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0) return errno;
    *fd_out = fd;
    return 0;
}

int airlock_random(void *buf, size_t len) {
    size_t done = 0;
    while (done < len) {
        ssize_t n = getrandom((char *)buf + done, len - done, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        done += (size_t)n;
    }
    return 0;
}

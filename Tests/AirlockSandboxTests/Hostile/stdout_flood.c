// Attack: write 1 GiB to stdout. Exit 42 if all of it was accepted, 100 + errno if a write failed.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char buffer[1 << 20];

int main(void) {
    memset(buffer, 'A', sizeof buffer);
    unsigned long long total = 0;
    const unsigned long long goal = 1ULL << 30;
    while (total < goal) {
        ssize_t n = write(1, buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            int err = errno;
            fprintf(stderr, "refused after %llu bytes: errno %d (%s)\n", total, err, strerror(err));
            return 100 + err;
        }
        total += (unsigned long long)n;
    }
    fprintf(stderr, "ESCAPED: wrote %llu bytes\n", total);
    return 42;
}

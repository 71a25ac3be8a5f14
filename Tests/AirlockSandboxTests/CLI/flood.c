// Writes argv[1] bytes (default 1000000) of 'x' to stdout, then exits 0.
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long total = argc > 1 ? atol(argv[1]) : 1000000;
    char buffer[8192];
    memset(buffer, 'x', sizeof buffer);
    while (total > 0) {
        size_t chunk = total < (long)sizeof buffer ? (size_t)total : sizeof buffer;
        ssize_t n = write(1, buffer, chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return 3;
        total -= n;
    }
    return 0;
}

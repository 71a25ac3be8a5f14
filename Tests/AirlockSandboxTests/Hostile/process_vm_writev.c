// Attack: process_vm_writev into the parent's memory. Finds a writable mapping of the parent in
// /proc/PPID/maps and writes back the bytes read from /proc/PPID/mem, so an unconfined run does not
// corrupt the parent; where those are unreadable it writes to a guessed address (the call itself
// is what must be stopped). Exit 42 if bytes were written, 100 + errno if refused.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static char guess[16] = "airlock";

int main(void) {
    pid_t parent = getppid();
    unsigned long address = (unsigned long)guess;
    char bytes[16];
    memcpy(bytes, guess, sizeof bytes);

    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)parent);
    FILE *maps = fopen(path, "r");
    if (maps != NULL) {
        char line[512];
        while (fgets(line, sizeof line, maps) != NULL) {
            unsigned long start = 0, end = 0;
            char perms[8] = "";
            if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) == 3 && perms[0] == 'r' && perms[1] == 'w') {
                address = start;
                break;
            }
        }
        fclose(maps);
        snprintf(path, sizeof path, "/proc/%d/mem", (int)parent);
        int mem = open(path, O_RDONLY);
        if (mem >= 0) {
            if (pread(mem, bytes, sizeof bytes, (off_t)address) != (ssize_t)sizeof bytes) {
                memcpy(bytes, guess, sizeof bytes);
            }
            close(mem);
        }
    }

    struct iovec local = {.iov_base = bytes, .iov_len = sizeof bytes};
    struct iovec remote = {.iov_base = (void *)address, .iov_len = sizeof bytes};
    fprintf(stderr, "trying process_vm_writev(%d, 0x%lx, %zu bytes)\n", (int)parent, address, sizeof bytes);
    ssize_t written = process_vm_writev(parent, &local, 1, &remote, 1, 0);
    if (written > 0) {
        printf("ESCAPED: wrote %zd bytes into pid %d\n", written, (int)parent);
        return 42;
    }
    int err = errno;
    fprintf(stderr, "refused: errno %d (%s)\n", err, strerror(err));
    return 100 + err;
}

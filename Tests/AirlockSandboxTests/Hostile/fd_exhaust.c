// Attack: raise RLIMIT_NOFILE (soft to hard, then hard beyond), then open descriptors (/dev/null,
// or dup(2) where /dev/null cannot be opened) until EMFILE. Prints `nofile soft=S hard=H` and
// `highest fd F`. argv[1] = LIMIT (openFiles of the profile).
// Exit 42 if the hard limit could be raised or a descriptor >= LIMIT was obtained, 0 when EMFILE
// stopped it, 100 + errno for any other failure.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: fd_exhaust LIMIT\n");
        return 2;
    }
    long limit = atol(argv[1]);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        perror("getrlimit");
        return 2;
    }
    printf("nofile soft=%llu hard=%llu\n", (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
    struct rlimit raised = {.rlim_cur = rl.rlim_max, .rlim_max = rl.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &raised) != 0) {
        fprintf(stderr, "raising soft to hard: errno %d (%s)\n", errno, strerror(errno));
    }
    int escaped = 0;
    struct rlimit beyond = {.rlim_cur = rl.rlim_max + 1024, .rlim_max = rl.rlim_max + 1024};
    if (setrlimit(RLIMIT_NOFILE, &beyond) == 0) {
        printf("ESCAPED: raised the hard limit to %llu\n", (unsigned long long)beyond.rlim_max);
        escaped = 1;
    } else {
        fprintf(stderr, "raising hard: refused, errno %d (%s)\n", errno, strerror(errno));
    }
    int useDup = 0;
    int highest = 2;
    long opened = 0;
    int err = 0;
    for (;;) {
        int fd = useDup ? dup(2) : open("/dev/null", O_RDONLY);
        if (fd < 0) {
            err = errno;
            if (!useDup && err != EMFILE) {
                fprintf(stderr, "open /dev/null: errno %d (%s); using dup(2)\n", err, strerror(err));
                useDup = 1;
                continue;
            }
            break;
        }
        opened++;
        if (fd > highest) {
            highest = fd;
        }
        if (opened > 2000000) {
            break;
        }
    }
    printf("opened %ld descriptors, highest fd %d, stopped by errno %d (%s)\n", opened, highest, err, strerror(err));
    if (highest >= limit) {
        printf("ESCAPED: descriptor %d is beyond the limit %ld\n", highest, limit);
        escaped = 1;
    }
    if (escaped) {
        return 42;
    }
    return err == EMFILE ? 0 : 100 + err;
}

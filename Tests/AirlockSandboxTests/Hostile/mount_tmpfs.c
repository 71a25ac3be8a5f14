// Attack: mount a tmpfs on a directory made in the working directory. Exit 42 if the mount worked
// (it is unmounted again), 100 + errno if refused.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

int main(void) {
    const char *target = "airlock-mnt";
    mkdir(target, 0755);
    fprintf(stderr, "trying mount(\"none\", \"%s\", \"tmpfs\")\n", target);
    if (mount("none", target, "tmpfs", 0, "size=1m") == 0) {
        umount2(target, MNT_DETACH);
        printf("ESCAPED: mounted tmpfs on %s\n", target);
        return 42;
    }
    int err = errno;
    fprintf(stderr, "refused: errno %d (%s)\n", err, strerror(err));
    return 100 + err;
}

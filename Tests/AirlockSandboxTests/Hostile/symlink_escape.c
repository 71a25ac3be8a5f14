// Attack: leave the scratch directory through links made inside it. argv[1] = a host directory
// outside the profile holding a world-writable file `victim`. Tries: a symlink to /etc, then
// creating a file through it; a symlink to argv[1], then creating a file through it; a symlink to
// argv[1]/victim, then truncating and writing it; a hard link to argv[1]/victim, then writing it.
// Exit 42 if any write landed, 100 + errno (of the last refusal) otherwise.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int escaped = 0;
static int lastError = 0;

static void refused(const char *what) {
    lastError = errno;
    fprintf(stderr, "refused (%s): errno %d (%s)\n", what, lastError, strerror(lastError));
}

static void writeThrough(const char *path, int flags) {
    fprintf(stderr, "trying to write through %s\n", path);
    int fd = open(path, flags, 0666);
    if (fd < 0) {
        refused(path);
        return;
    }
    if (write(fd, "escaped\n", 8) == 8) {
        printf("ESCAPED: wrote through %s\n", path);
        escaped = 1;
    } else {
        refused(path);
    }
    close(fd);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: symlink_escape HOSTDIR\n");
        return 2;
    }
    char target[4096];

    if (symlink("/etc", "etc-link") != 0) {
        refused("symlink etc-link -> /etc");
    }
    writeThrough("etc-link/airlock-escape", O_WRONLY | O_CREAT | O_EXCL);

    if (symlink(argv[1], "host-link") != 0) {
        refused("symlink host-link");
    }
    writeThrough("host-link/airlock-created", O_WRONLY | O_CREAT | O_EXCL);

    snprintf(target, sizeof target, "%s/victim", argv[1]);
    if (symlink(target, "victim-link") != 0) {
        refused("symlink victim-link");
    }
    writeThrough("victim-link", O_WRONLY | O_TRUNC);

    fprintf(stderr, "trying link(%s, victim-hardlink)\n", target);
    if (link(target, "victim-hardlink") == 0) {
        writeThrough("victim-hardlink", O_WRONLY | O_TRUNC);
    } else {
        refused("link victim-hardlink");
    }
    return escaped ? 42 : 100 + lastError;
}

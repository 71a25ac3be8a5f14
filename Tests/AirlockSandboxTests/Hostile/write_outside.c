// Attack: create files outside the writable roots: /etc/airlock-escape-TOKEN,
// /tmp/airlock-escape-TOKEN, $HOME/../airlock-escape-TOKEN, and DIR/airlock-escape-TOKEN for each
// further argument DIR. argv[1] = TOKEN. Files that get created are left for the host to see.
// Exit 42 if any file was created, 100 + errno (of the last refusal) otherwise.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int escaped = 0;
static int lastError = 0;

static void attack(const char *dir, const char *token) {
    char path[4096];
    snprintf(path, sizeof path, "%s/airlock-escape-%s", dir, token);
    fprintf(stderr, "trying to create %s\n", path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd >= 0) {
        if (write(fd, "escaped\n", 8) != 8) {
            fprintf(stderr, "short write to %s\n", path);
        }
        close(fd);
        printf("ESCAPED: created %s\n", path);
        escaped = 1;
        return;
    }
    lastError = errno;
    fprintf(stderr, "refused: errno %d (%s)\n", lastError, strerror(lastError));
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: write_outside TOKEN [DIR...]\n");
        return 2;
    }
    const char *token = argv[1];
    attack("/etc", token);
    attack("/tmp", token);
    const char *home = getenv("HOME");
    if (home != NULL) {
        char parent[4096];
        snprintf(parent, sizeof parent, "%s/..", home);
        attack(parent, token);
    } else {
        fprintf(stderr, "HOME is not set\n");
    }
    for (int i = 2; i < argc; i++) {
        attack(argv[i], token);
    }
    return escaped ? 42 : 100 + lastError;
}

// Tries to write outside its directory: /etc, the host's /tmp, and the parent of $HOME.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int try_write(const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) { printf("write %s: %s\n", path, strerror(errno)); return 0; }
    fputs("escaped\n", f);
    fclose(f);
    printf("write %s: succeeded\n", path);
    return 1;
}

int main(void) {
    int escaped = try_write("/etc/airlock-demo-escape");
    escaped |= try_write("/tmp/airlock-demo-escape");
    char path[4096];
    snprintf(path, sizeof path, "%s/../airlock-demo-escape", getenv("HOME") ? getenv("HOME") : "/");
    escaped |= try_write(path);
    return escaped ? 42 : 3;
}

// Attack: read host files through /proc/PID/root. argv[1] = a world-readable host file outside
// the profile. Tries argv[1] itself, /proc/1/root and /proc/PPID/root + argv[1], and
// /proc/1/root/etc/shadow and /proc/PPID/root/etc/shadow; lists /proc/1/root for the record.
// Exit 42 if any of those files could be read, 100 + errno (of the last refusal) otherwise.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int escaped = 0;
static int lastError = 0;

static void attack(const char *path) {
    char buffer[256];
    fprintf(stderr, "trying to read %s\n", path);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        lastError = errno;
        fprintf(stderr, "refused: errno %d (%s)\n", lastError, strerror(lastError));
        return;
    }
    ssize_t n = read(fd, buffer, sizeof buffer);
    close(fd);
    if (n >= 0) {
        printf("ESCAPED: read %zd bytes of %s\n", n, path);
        escaped = 1;
    } else {
        lastError = errno;
        fprintf(stderr, "refused: errno %d (%s)\n", lastError, strerror(lastError));
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: proc_root HOSTFILE\n");
        return 2;
    }
    char path[4096];
    int parent = (int)getppid();
    attack(argv[1]);
    snprintf(path, sizeof path, "/proc/1/root%s", argv[1]);
    attack(path);
    snprintf(path, sizeof path, "/proc/%d/root%s", parent, argv[1]);
    attack(path);
    attack("/proc/1/root/etc/shadow");
    snprintf(path, sizeof path, "/proc/%d/root/etc/shadow", parent);
    attack(path);

    DIR *dir = opendir("/proc/1/root");
    if (dir != NULL) {
        int entries = 0;
        while (readdir(dir) != NULL) {
            entries++;
        }
        closedir(dir);
        fprintf(stderr, "note: listed /proc/1/root (%d entries)\n", entries);
    } else {
        fprintf(stderr, "opendir /proc/1/root: errno %d (%s)\n", errno, strerror(errno));
    }
    return escaped ? 42 : 100 + lastError;
}

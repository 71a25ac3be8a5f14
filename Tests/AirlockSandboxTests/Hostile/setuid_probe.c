// Probe, installed setuid root by the test: prints `NoNewPrivs: N`, `uid: N`, `euid: N` (from
// prctl and getuid/geteuid, then the lines of /proc/self/status when readable).
// Exit 42 if it runs with euid 0 (the setuid bit took effect), 43 if no_new_privs is off, else 0.
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(void) {
    int nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
    uid_t uid = getuid();
    uid_t euid = geteuid();
    printf("NoNewPrivs: %d\nuid: %u\neuid: %u\n", nnp, (unsigned)uid, (unsigned)euid);
    FILE *status = fopen("/proc/self/status", "r");
    if (status != NULL) {
        char line[256];
        while (fgets(line, sizeof line, status) != NULL) {
            if (strncmp(line, "NoNewPrivs:", 11) == 0 || strncmp(line, "Uid:", 4) == 0) {
                printf("status %s", line);
            }
        }
        fclose(status);
    } else {
        fprintf(stderr, "/proc/self/status is not readable\n");
    }
    if (euid == 0) {
        printf("ESCAPED: running as root\n");
        return 42;
    }
    return nnp == 1 ? 0 : 43;
}

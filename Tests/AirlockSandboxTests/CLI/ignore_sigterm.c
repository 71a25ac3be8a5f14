// Ignores SIGTERM, SIGINT, SIGHUP and SIGQUIT, prints "up" and sleeps forever. argv[1] = a
// marker, only there to appear in the command line.
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    printf("up\n");
    fflush(stdout);
    for (;;) {
        pause();
    }
}

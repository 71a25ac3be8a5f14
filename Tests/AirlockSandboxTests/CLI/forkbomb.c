// Forks forever, ignoring failures: only the pids limit and the wall clock stop it.
#include <unistd.h>

int main(void) {
    for (;;) fork();
}

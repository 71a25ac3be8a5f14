// Stand-in for a per-call C launcher: a static binary that only execs its arguments, to
// measure what one extra execve per call costs (BENCHMARKS.md, "Choosing the spawn design").
//   cc -O2 -static -o launcher bench/launcher.c
//   spawnbench 300 ./noop; spawnbench 300 ./launcher ./noop
#include <unistd.h>

int main(int argc, char **argv) {
    (void)argc;
    execv(argv[1], argv + 1);
    return 127;
}

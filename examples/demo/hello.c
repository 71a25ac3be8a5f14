// A well-behaved tool: reads its input, writes a file in its scratch directory, answers.
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void) {
    FILE *f = fopen("note.txt", "w");
    if (!f) { perror("fopen note.txt"); return 1; }
    fprintf(f, "written inside the sandbox\n");
    fclose(f);
    char cwd[256];
    if (!getcwd(cwd, sizeof cwd)) cwd[0] = 0;
    printf("hello from pid %d (uid %d) in %s\n", getpid(), getuid(), cwd);
    return 0;
}

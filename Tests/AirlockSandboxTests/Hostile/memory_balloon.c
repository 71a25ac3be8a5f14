// Attack: allocate and touch 2 GiB in 64 MiB chunks. Exit 42 if all of it was obtained,
// 100 + ENOMEM when an allocation fails.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    const size_t chunk = 64UL << 20;
    const size_t total = 2UL << 30;
    size_t have = 0;
    while (have < total) {
        char *p = malloc(chunk);
        if (p == NULL) {
            fprintf(stderr, "refused: malloc failed after %zu MiB\n", have >> 20);
            return 100 + ENOMEM;
        }
        memset(p, 0x5a, chunk);
        have += chunk;
        fprintf(stderr, "holding %zu MiB\n", have >> 20);
    }
    printf("ESCAPED: holding %zu MiB\n", have >> 20);
    return 42;
}

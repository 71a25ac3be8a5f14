// Attack: bpf(BPF_MAP_CREATE) through the raw syscall. Exit 42 if a map was created,
// 100 + errno if refused.
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.map_type = BPF_MAP_TYPE_ARRAY;
    attr.key_size = 4;
    attr.value_size = 8;
    attr.max_entries = 1;
    fprintf(stderr, "trying syscall(SYS_bpf, BPF_MAP_CREATE, array map)\n");
    long fd = syscall(SYS_bpf, (long)BPF_MAP_CREATE, &attr, (long)sizeof attr);
    if (fd >= 0) {
        printf("ESCAPED: bpf map fd %ld\n", fd);
        return 42;
    }
    int err = errno;
    fprintf(stderr, "refused: errno %d (%s)\n", err, strerror(err));
    return 100 + err;
}

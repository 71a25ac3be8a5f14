// Attack: perf_event_open through the raw syscall (a software CPU clock counter on this process).
// Exit 42 if a counter was opened, 100 + errno if refused.
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_CPU_CLOCK;
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
    fprintf(stderr, "trying syscall(SYS_perf_event_open, PERF_COUNT_SW_CPU_CLOCK, pid 0, cpu -1)\n");
    long fd = syscall(SYS_perf_event_open, &attr, 0L, -1L, -1L, 0L);
    if (fd >= 0) {
        printf("ESCAPED: perf event fd %ld\n", fd);
        return 42;
    }
    int err = errno;
    fprintf(stderr, "refused: errno %d (%s)\n", err, strerror(err));
    return 100 + err;
}

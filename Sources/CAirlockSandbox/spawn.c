// The fork-to-exec path. Everything the child runs is here, and it is restricted to raw
// system calls: no allocation, no locks, no stdio, no glibc wrapper (they keep per-thread
// state such as errno, which the child would share with the host; and setresuid and friends
// broadcast to threads that do not exist in the child).

#include "airlock_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#endif
#ifndef SYS_landlock_add_rule
#define SYS_landlock_add_rule 445
#endif
#ifndef SYS_landlock_restrict_self
#define SYS_landlock_restrict_self 446
#endif

// MARK: - Child

// The child shares the host's memory (CLONE_VM) and, through the thread pointer, the cloning
// thread's TLS, errno included, while that thread runs on. So it uses raw system calls only:
// each returns the result or -errno and touches no memory but its own stack and the config.

#if defined(__x86_64__)
static inline long sys6(long n, long a, long b, long c, long d, long e, long f) {
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}
#elif defined(__aarch64__)
static inline long sys6(long n, long a, long b, long c, long d, long e, long f) {
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
    return x0;
}
#else
#error "the Airlock child needs a raw system call for this architecture"
#endif

/// Every function the child runs: the compiler must not turn loops or copies into calls to
/// memcpy/memset (a PLT call, maybe into the dynamic linker), nor instrument them.
#define CHILD __attribute__((no_builtin, no_sanitize("address", "thread", "memory", "undefined")))

#define SYS0(n) sys6((n), 0, 0, 0, 0, 0, 0)
#define SYS1(n, a) sys6((n), (long)(a), 0, 0, 0, 0, 0)
#define SYS2(n, a, b) sys6((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define SYS3(n, a, b, c) sys6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define SYS4(n, a, b, c, d) sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define SYS5(n, a, b, c, d, e) sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

/// A raw call's failure as a positive errno, or 0.
CHILD static inline int sys_err(long r) { return r < 0 && r > -4096 ? (int)-r : 0; }

CHILD __attribute__((noreturn)) static void child_fail(const struct airlock_spawn_config *c, int report_fd, int stage, int err) {
    struct airlock_child_error e;
    e.stage = stage;
    e.err = err;
    if (c->shared_error) {
        ((volatile struct airlock_child_error *)c->shared_error)->err = err;
        ((volatile struct airlock_child_error *)c->shared_error)->stage = stage;
    }
    SYS3(SYS_write, report_fd, &e, sizeof e);
    for (;;) SYS1(SYS_exit_group, 127);
}

CHILD static int write_all_fd(int fd, const char *buf, size_t len) {
    while (len > 0) {
        long n = SYS3(SYS_write, fd, buf, len);
        if (n == -EINTR) continue;
        if (n < 0) return (int)-n;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

CHILD static int write_file(const char *path, const char *buf, size_t len) {
    long fd = SYS4(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CLOEXEC, 0);
    if (fd < 0) return (int)-fd;
    int err = write_all_fd((int)fd, buf, len);
    SYS1(SYS_close, fd);
    return err;
}

/// Formats "ID ID 1\n" into buf; returns the length.
CHILD static size_t format_identity_map(char *buf, unsigned long id) {
    char digits[24];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + id % 10);
        id /= 10;
    } while (id > 0);
    size_t len = 0;
    for (int round = 0; round < 2; round++) {
        for (size_t i = n; i > 0; i--) buf[len++] = digits[i - 1];
        buf[len++] = ' ';
    }
    buf[len++] = '1';
    buf[len++] = '\n';
    return len;
}

/// Maps the current uid and gid to themselves in the user namespace just entered.
CHILD static int map_identity(uid_t uid, gid_t gid) {
    char line[64];
    int err = write_file("/proc/self/setgroups", "deny", 4);
    if (err != 0 && err != ENOENT) return err;
    size_t len = format_identity_map(line, uid);
    if ((err = write_file("/proc/self/uid_map", line, len)) != 0) return err;
    len = format_identity_map(line, gid);
    return write_file("/proc/self/gid_map", line, len);
}

/// Returns nonzero when the parent (the only other holder of the lifeline) is gone.
CHILD static int host_gone(const struct airlock_spawn_config *c) {
    if (c->lifeline_read_fd < 0) return 0;
    struct pollfd p;
    p.fd = c->lifeline_read_fd;
    p.events = POLLIN;
    p.revents = 0;
    struct timespec now;
    now.tv_sec = 0;
    now.tv_nsec = 0;
    long r = SYS4(SYS_ppoll, &p, 1, &now, 0);
    return r > 0 && (p.revents & (POLLHUP | POLLERR)) != 0;
}

CHILD static int bring_loopback_up(void) {
    long s = SYS3(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return (int)-s;
    struct ifreq ifr;
    for (size_t i = 0; i < sizeof ifr; i++) ((volatile char *)&ifr)[i] = 0;
    ifr.ifr_name[0] = 'l';
    ifr.ifr_name[1] = 'o';
    int err = sys_err(SYS3(SYS_ioctl, s, SIOCGIFFLAGS, &ifr));
    if (!err) {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        err = sys_err(SYS3(SYS_ioctl, s, SIOCSIFFLAGS, &ifr));
    }
    SYS1(SYS_close, s);
    return err;
}

CHILD static int close_range_fallback(unsigned int first, unsigned int last) {
    if (first > last) return 0;
    long r = SYS3(SYS_close_range, first, last, 0);
    if (r == 0) return 0;
    if (r != -ENOSYS) return (int)-r;
    unsigned int stop = last > 65535 ? 65535 : last;
    for (unsigned int fd = first; fd <= stop; fd++) SYS1(SYS_close, fd);
    return 0;
}

/// Moves the requested descriptors into place and closes every other one except `keep`.
CHILD static int arrange_descriptors(const struct airlock_spawn_config *c, int *report_fd, int *landlock_fd) {
    int highest = 2;
    for (int i = 0; i < c->fd_count; i++)
        if (c->child_fds[i] > highest) highest = c->child_fds[i];
    int base = highest + 1;

    // Lift everything we still need above every target, so no dup below clobbers it.
    int lifted[64];
    if (c->fd_count > 64) return EINVAL;
    for (int i = 0; i < c->fd_count; i++) {
        long fd = SYS3(SYS_fcntl, c->parent_fds[i], F_DUPFD_CLOEXEC, base);
        if (fd < 0) return (int)-fd;
        lifted[i] = (int)fd;
    }
    long r = SYS3(SYS_fcntl, *report_fd, F_DUPFD_CLOEXEC, base);
    if (r < 0) return (int)-r;
    *report_fd = (int)r;
    if (*landlock_fd >= 0) {
        long l = SYS3(SYS_fcntl, *landlock_fd, F_DUPFD_CLOEXEC, base);
        if (l < 0) return (int)-l;
        *landlock_fd = (int)l;
    }
    for (int i = 0; i < c->fd_count; i++) {
        long d = SYS3(SYS_dup3, lifted[i], c->child_fds[i], 0);
        if (d < 0) return (int)-d;
    }

    // Keep: the targets, the report pipe and the ruleset. Close every gap between them.
    int keep[68];
    int n = 0;
    for (int i = 0; i < c->fd_count; i++) keep[n++] = c->child_fds[i];
    keep[n++] = *report_fd;
    if (*landlock_fd >= 0) keep[n++] = *landlock_fd;
    for (int i = 1; i < n; i++) {  // insertion sort; n is tiny
        int v = keep[i], j = i - 1;
        while (j >= 0 && keep[j] > v) {
            keep[j + 1] = keep[j];
            j--;
        }
        keep[j + 1] = v;
    }
    unsigned int next = 0;
    for (int i = 0; i < n; i++) {
        if ((unsigned int)keep[i] > next) {
            int err = close_range_fallback(next, (unsigned int)keep[i] - 1);
            if (err) return err;
        }
        next = (unsigned int)keep[i] + 1;
    }
    return close_range_fallback(next, ~0U);
}

/// The kernel's own sigaction layout (what rt_sigaction takes).
struct kernel_sigaction {
    void *handler;
    unsigned long flags;
    void *restorer;
    uint64_t mask;
};

/// Every signal back to its default action and none blocked: the host ignores SIGPIPE and
/// may have handlers whose code must never run here.
CHILD static void reset_signals(void) {
    struct kernel_sigaction dfl;
    dfl.handler = 0;  // SIG_DFL
    dfl.flags = 0;
    dfl.restorer = 0;
    dfl.mask = 0;
    for (long sig = 1; sig < 65; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        SYS4(SYS_rt_sigaction, sig, &dfl, 0, 8);
    }
    uint64_t none = 0;
    SYS4(SYS_rt_sigprocmask, SIG_SETMASK, &none, 0, 8);
}

/// capset(2)'s header and one of its two data words (version 3).
struct cap_header {
    uint32_t version;
    int pid;
};
struct cap_data {
    uint32_t effective, permitted, inheritable;
};

/// Adds a Landlock path-beneath rule with raw calls (also used by the parent).
static int add_path_rule(int ruleset_fd, const char *path, uint64_t access);

/// Reports a failed stage and ends the child (the report pipe is wherever report_fd says).
#define FAIL(stage, err) child_fail(c, report_fd, (stage), (err))

CHILD __attribute__((noreturn)) static void child_main(const struct airlock_spawn_config *c) {
    int report_fd = c->report_fd;
    int landlock_fd = c->landlock_ruleset_fd;
    int err;

    // The parent blocked every signal around the clone; defaults first, then unblock.
    reset_signals();

    if ((err = sys_err(SYS0(SYS_setsid)))) FAIL(AIRLOCK_STAGE_SESSION, err);
    if ((err = sys_err(SYS2(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL)))) FAIL(AIRLOCK_STAGE_PDEATHSIG, err);
    if (c->lifeline_write_fd >= 0) SYS1(SYS_close, c->lifeline_write_fd);
    if (host_gone(c)) FAIL(AIRLOCK_STAGE_HOST_GONE, ESRCH);

    for (int i = 0; i < c->cgroup_fd_count; i++) {
        if ((err = write_all_fd(c->cgroup_procs_fds[i], "0", 1))) FAIL(AIRLOCK_STAGE_CGROUP, err);
    }
    if (c->netns_fd >= 0 && (err = sys_err(SYS2(SYS_setns, c->netns_fd, CLONE_NEWNET))))
        FAIL(AIRLOCK_STAGE_NETWORK, err);
    if (c->map_self && (err = map_identity(c->outer_uid, c->outer_gid))) FAIL(AIRLOCK_STAGE_USERNS, err);
    if (c->set_hostname && (err = sys_err(SYS2(SYS_sethostname, "airlock", 7)))) FAIL(AIRLOCK_STAGE_UTS, err);
    if (c->make_mounts_private && (err = sys_err(SYS5(SYS_mount, 0, "/", 0, MS_REC | MS_PRIVATE, 0))))
        FAIL(AIRLOCK_STAGE_MOUNT, err);
    if (c->mount_proc) {
        if ((err = sys_err(SYS5(SYS_mount, "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, 0))))
            FAIL(AIRLOCK_STAGE_MOUNT, err);
        // Landlock rules name inodes: the parent's rule was for the host's /proc.
        if (landlock_fd >= 0 && c->proc_landlock_access &&
            (err = add_path_rule(landlock_fd, "/proc", c->proc_landlock_access)))
            FAIL(AIRLOCK_STAGE_LANDLOCK, err);
    }
    if (c->scratch_path) {
        // The scratch directory is a tmpfs of this mount namespace: it is charged to the tool's
        // memory cgroup (so it cannot fill the host's disk) and vanishes with the namespace.
        if ((err = sys_err(SYS5(SYS_mount, "tmpfs", c->scratch_path, "tmpfs", MS_NOSUID | MS_NODEV, c->scratch_options))))
            FAIL(AIRLOCK_STAGE_MOUNT, err);
        if (landlock_fd >= 0 && c->scratch_landlock_access &&
            (err = add_path_rule(landlock_fd, c->scratch_path, c->scratch_landlock_access)))
            FAIL(AIRLOCK_STAGE_LANDLOCK, err);
    }
    if (c->loopback_up && (err = bring_loopback_up())) FAIL(AIRLOCK_STAGE_NETWORK, err);

    if (c->drop_credentials) {
        // Become run_uid with no groups and no capabilities, and stay non-dumpable all the
        // way: the child shares the host's memory until exec, so a dumpable child owned by
        // run_uid would open that memory (/proc/PID/mem, ptrace) to run_uid's processes.
        // Every change of euid, egid or capabilities resets dumpability to fs.suid_dumpable,
        // so the order matters: all of those happen while the real and saved uids are still
        // 0 (no run_uid process may signal or trace us then), dumpability is cleared, and the
        // last step changes only the real and saved uids, which leaves it alone.
        for (long cap = 0; cap < 64; cap++) {
            long r = SYS2(SYS_prctl, PR_CAPBSET_DROP, cap);
            if (r < 0 && r != -EINVAL) FAIL(AIRLOCK_STAGE_CREDENTIALS, (int)-r);
        }
        if ((err = sys_err(SYS2(SYS_setgroups, 0, 0)))) FAIL(AIRLOCK_STAGE_CREDENTIALS, err);
        if ((err = sys_err(SYS3(SYS_setresgid, c->run_gid, c->run_gid, c->run_gid))))
            FAIL(AIRLOCK_STAGE_CREDENTIALS, err);
        if ((err = sys_err(SYS3(SYS_setresuid, 0, c->run_uid, 0)))) FAIL(AIRLOCK_STAGE_CREDENTIALS, err);
        struct cap_header header;
        header.version = 0x20080522;  // _LINUX_CAPABILITY_VERSION_3
        header.pid = 0;
        struct cap_data none[2];
        for (int i = 0; i < 2; i++) none[i].effective = none[i].permitted = none[i].inheritable = 0;
        if ((err = sys_err(SYS2(SYS_capset, &header, none)))) FAIL(AIRLOCK_STAGE_CREDENTIALS, err);
        if ((err = sys_err(SYS2(SYS_prctl, PR_SET_DUMPABLE, 0)))) FAIL(AIRLOCK_STAGE_CREDENTIALS, err);
        if ((err = sys_err(SYS3(SYS_setresuid, c->run_uid, c->run_uid, c->run_uid))))
            FAIL(AIRLOCK_STAGE_CREDENTIALS, err);
        if (SYS1(SYS_prctl, PR_GET_DUMPABLE) != 0) FAIL(AIRLOCK_STAGE_CREDENTIALS, EPERM);
        // A credential change clears the parent-death signal: arm it again, then re-check.
        if ((err = sys_err(SYS2(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL)))) FAIL(AIRLOCK_STAGE_PDEATHSIG, err);
        if (host_gone(c)) FAIL(AIRLOCK_STAGE_HOST_GONE, ESRCH);
    }

    if ((err = arrange_descriptors(c, &report_fd, &landlock_fd))) FAIL(AIRLOCK_STAGE_DESCRIPTORS, err);
    // From here on the report pipe has moved; FAIL uses the local report_fd.

    // Limits only now: a low RLIMIT_NOFILE would have made lifting descriptors above the
    // targets fail when the host has many open.
    for (int i = 0; i < c->rlimit_count; i++) {
        struct rlimit64 lim;
        lim.rlim_cur = c->rlimits[i].soft;
        lim.rlim_max = c->rlimits[i].hard;
        if ((err = sys_err(SYS4(SYS_prlimit64, 0, c->rlimits[i].resource, &lim, 0))))
            FAIL(AIRLOCK_STAGE_RLIMITS, err);
    }
    if (c->cwd && (err = sys_err(SYS1(SYS_chdir, c->cwd)))) FAIL(AIRLOCK_STAGE_CWD, err);
    if ((err = sys_err(SYS2(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1)))) FAIL(AIRLOCK_STAGE_NO_NEW_PRIVS, err);
    if (landlock_fd >= 0) {
        if ((err = sys_err(SYS2(SYS_landlock_restrict_self, landlock_fd, 0)))) FAIL(AIRLOCK_STAGE_LANDLOCK, err);
        SYS1(SYS_close, landlock_fd);
    }
    for (int i = 0; i < c->filter_count; i++) {
        struct sock_fprog prog;
        prog.len = c->filters[i].count;
        prog.filter = (struct sock_filter *)c->filters[i].instructions;
        if ((err = sys_err(SYS3(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog)))) FAIL(AIRLOCK_STAGE_SECCOMP, err);
    }
    err = sys_err(SYS3(SYS_execve, c->path, c->argv, c->envp));
    FAIL(AIRLOCK_STAGE_EXEC, err);
}

// MARK: - Parent

static long raw_clone(unsigned long flags, int *pidfd) {
    return syscall(SYS_clone, flags | SIGCHLD, NULL, pidfd, NULL, NULL);
}

CHILD static int child_entry(void *arg) { child_main((const struct airlock_spawn_config *)arg); }

int airlock_spawn(const struct airlock_spawn_config *config, pid_t *pid_out, int *pidfd_out) {
    // The child shares the host's memory (CLONE_VM: no page tables copied, nothing to tear
    // down at exec) and runs on config->stack, which the caller keeps until the child has
    // called execve or exited (the report pipe reaches end of file). No CLONE_VFORK: the
    // caller waits for that with a deadline, so a child stopped during setup cannot hang it.
    // Every signal stays blocked across the clone so no host handler can run in the child.
    sigset_t all, saved;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved);
    // CLONE_CHILD_CLEARTID: when the child execs or exits, the kernel zeroes *exec_word in
    // this (shared) memory and wakes a futex on it: airlock_wait_exec's exact "the child no
    // longer uses this memory", which no descriptor another process might hold can fake.
    unsigned long flags = config->clone_flags | CLONE_VM | CLONE_CHILD_CLEARTID | SIGCHLD;
    char *top = (char *)config->stack + config->stack_size;
    int pidfd = -1;
    int pid = clone(child_entry, top, (int)(flags | CLONE_PIDFD), (void *)config, &pidfd, NULL, config->exec_word);
    if (pid < 0 && errno == EINVAL) {
        pidfd = -1;
        pid = clone(child_entry, top, (int)flags, (void *)config, NULL, NULL, config->exec_word);
    }
    int err = pid < 0 ? errno : 0;
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    if (err) return err;
    *pid_out = (pid_t)pid;
    *pidfd_out = pidfd;
    return 0;
}

int airlock_wait_exec(int32_t *word, int64_t timeout_ns) {
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        int32_t value = __atomic_load_n(word, __ATOMIC_ACQUIRE);
        if (value == 0) return 0;
        struct timespec wait, *waitp = NULL;
        if (timeout_ns >= 0) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            int64_t elapsed = (int64_t)(now.tv_sec - start.tv_sec) * 1000000000 + (now.tv_nsec - start.tv_nsec);
            int64_t left = timeout_ns - elapsed;
            if (left <= 0) return ETIMEDOUT;
            wait.tv_sec = left / 1000000000;
            wait.tv_nsec = left % 1000000000;
            waitp = &wait;
        }
        long r = syscall(SYS_futex, word, FUTEX_WAIT, value, waitp, NULL, 0);
        if (r < 0 && errno != EAGAIN && errno != EINTR && errno != ETIMEDOUT) return errno;
    }
}

int airlock_make_netns(int *fd_out) {
    int sync[2];
    if (pipe2(sync, O_CLOEXEC) < 0) return errno;
    long pid = raw_clone(CLONE_NEWNET, NULL);
    if (pid < 0) {
        int err = errno;
        close(sync[0]);
        close(sync[1]);
        return err;
    }
    if (pid == 0) {
        // Hold the namespace until the parent has opened it, then go.
        char byte;
        close(sync[1]);
        while (read(sync[0], &byte, 1) < 0 && errno == EINTR) {}
        _exit(0);
    }
    close(sync[0]);
    char path[64];
    int n = 0;
    const char *prefix = "/proc/";
    for (const char *p = prefix; *p; p++) path[n++] = *p;
    char digits[24];
    int d = 0;
    long v = pid;
    do { digits[d++] = (char)('0' + v % 10); v /= 10; } while (v > 0);
    while (d > 0) path[n++] = digits[--d];
    const char *suffix = "/ns/net";
    for (const char *p = suffix; *p; p++) path[n++] = *p;
    path[n] = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int err = fd < 0 ? errno : 0;
    close(sync[1]);
    int status;
    while (waitpid((pid_t)pid, &status, 0) < 0 && errno == EINTR) {}
    if (err) return err;
    *fd_out = fd;
    return 0;
}

int airlock_sigchld_ignored(void) {
    struct sigaction current;
    if (sigaction(SIGCHLD, NULL, &current) != 0) return 0;
    return current.sa_handler == SIG_IGN || (current.sa_flags & SA_NOCLDWAIT) != 0;
}

int airlock_pidfd_open(pid_t pid, int *fd_out) {
    long fd = syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0) return errno;
    *fd_out = (int)fd;
    return 0;
}

int airlock_pidfd_send_signal(int pidfd, int sig) {
    return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? errno : 0;
}

int airlock_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC) < 0 ? errno : 0; }

int airlock_set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return errno;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ? errno : 0;
}

int airlock_eventfd(int *fd_out) {
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0) return errno;
    *fd_out = fd;
    return 0;
}

// MARK: - Landlock

#define LL_EXECUTE (1ULL << 0)
#define LL_WRITE_FILE (1ULL << 1)
#define LL_READ_FILE (1ULL << 2)
#define LL_READ_DIR (1ULL << 3)
#define LL_TRUNCATE (1ULL << 14)
#define LL_IOCTL_DEV (1ULL << 15)
#define LL_FILE_RIGHTS (LL_EXECUTE | LL_WRITE_FILE | LL_READ_FILE | LL_TRUNCATE | LL_IOCTL_DEV)

struct ll_ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net;
    uint64_t scoped;
};

struct ll_path_beneath_attr {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));

int airlock_landlock_abi(void) {
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, 1 /* LANDLOCK_CREATE_RULESET_VERSION */);
    return abi < 0 ? 0 : (int)abi;
}

uint64_t airlock_landlock_fs_rights(int abi) {
    if (abi <= 0) return 0;
    uint64_t rights = (1ULL << 13) - 1;  // ABI 1: execute .. make_sym
    if (abi >= 2) rights |= 1ULL << 13;  // refer
    if (abi >= 3) rights |= LL_TRUNCATE;
    if (abi >= 5) rights |= LL_IOCTL_DEV;
    return rights;
}

uint64_t airlock_landlock_read_rights(void) { return LL_EXECUTE | LL_READ_FILE | LL_READ_DIR; }

int airlock_landlock_create(int abi, uint64_t handled_fs, uint64_t handled_net, uint64_t scoped, int *fd_out) {
    struct ll_ruleset_attr attr = {handled_fs, handled_net, scoped};
    size_t size = abi >= 6 ? sizeof attr : (abi >= 4 ? 16 : 8);
    long fd = syscall(SYS_landlock_create_ruleset, &attr, size, 0);
    if (fd < 0) return errno;
    *fd_out = (int)fd;
    return 0;
}

int airlock_landlock_add_path(int ruleset_fd, const char *path, uint64_t access) {
    return add_path_rule(ruleset_fd, path, access);
}

/// Raw calls only: used by the parent and by the child after it mounts /proc.
CHILD static int add_path_rule(int ruleset_fd, const char *path, uint64_t access) {
    long fd = SYS4(SYS_openat, AT_FDCWD, path, O_PATH | O_CLOEXEC, 0);
    if (fd < 0) return (int)-fd;
    struct stat st;
    long r = SYS4(SYS_newfstatat, fd, "", &st, AT_EMPTY_PATH);
    if (r < 0) {
        SYS1(SYS_close, fd);
        return (int)-r;
    }
    if (!S_ISDIR(st.st_mode)) access &= LL_FILE_RIGHTS;
    struct ll_path_beneath_attr attr = {access, (int32_t)fd};
    r = SYS4(SYS_landlock_add_rule, ruleset_fd, 1 /* LANDLOCK_RULE_PATH_BENEATH */, &attr, 0);
    SYS1(SYS_close, fd);
    return sys_err(r);
}

// MARK: - Probes

int airlock_probe_clone(unsigned long flags) {
    long pid = raw_clone(flags, NULL);
    if (pid < 0) return errno;
    if (pid == 0) _exit(0);
    int status = 0;
    while (waitpid((pid_t)pid, &status, 0) < 0 && errno == EINTR) {}
    return 0;
}

int airlock_probe_seccomp(void) {
    long r = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
    if (r < 0) return errno;
    // SECCOMP_GET_ACTION_AVAIL tells whether filters with KILL_PROCESS can load here.
    uint32_t action = SECCOMP_RET_KILL_PROCESS;
    if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) < 0) return errno;
    return 0;
}

int airlock_probe_no_new_privs(void) {
    long r = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
    return r < 0 ? errno : 0;
}

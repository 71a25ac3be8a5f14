// The fork-to-exec path. Everything the child runs is here, and it is restricted to raw
// system calls and async-signal-safe functions: no allocation, no locks, no stdio, and no
// glibc wrapper that keeps per-process state (setresuid and friends broadcast to threads
// that do not exist in the child, so they are called through syscall()).

#include "airlock_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
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
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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

static int add_path_rule(int ruleset_fd, const char *path, uint64_t access);

__attribute__((noreturn)) static void child_fail(const struct airlock_spawn_config *c, int stage, int err) {
    struct airlock_child_error e = {stage, err};
    ssize_t ignored = write(c->report_fd, &e, sizeof e);
    (void)ignored;
    _exit(127);
}

static int write_all_fd(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static int write_file(const char *path, const char *buf, size_t len) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    int err = write_all_fd(fd, buf, len);
    close(fd);
    return err;
}

/// Formats "ID ID 1\n" into buf; returns the length.
static size_t format_identity_map(char *buf, unsigned long id) {
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
static int map_identity(uid_t uid, gid_t gid) {
    char line[64];
    int err = write_file("/proc/self/setgroups", "deny", 4);
    if (err != 0 && err != ENOENT) return err;
    size_t len = format_identity_map(line, uid);
    if ((err = write_file("/proc/self/uid_map", line, len)) != 0) return err;
    len = format_identity_map(line, gid);
    return write_file("/proc/self/gid_map", line, len);
}

/// Returns nonzero when the parent (the only other holder of the lifeline) is gone.
static int host_gone(const struct airlock_spawn_config *c) {
    if (c->lifeline_read_fd < 0) return 0;
    struct pollfd p = {.fd = c->lifeline_read_fd, .events = POLLIN, .revents = 0};
    int r = poll(&p, 1, 0);
    return r > 0 && (p.revents & (POLLHUP | POLLERR)) != 0;
}

static int bring_loopback_up(void) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_name[0] = 'l';
    ifr.ifr_name[1] = 'o';
    int err = 0;
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
        err = errno;
    } else {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) err = errno;
    }
    close(s);
    return err;
}

static int close_range_fallback(unsigned int first, unsigned int last) {
    if (first > last) return 0;
    if (syscall(SYS_close_range, first, last, 0) == 0) return 0;
    if (errno != ENOSYS) return errno;
    unsigned int stop = last > 65535 ? 65535 : last;
    for (unsigned int fd = first; fd <= stop; fd++) close((int)fd);
    return 0;
}

/// Moves the requested descriptors into place and closes every other one except `keep`.
static int arrange_descriptors(const struct airlock_spawn_config *c, int *report_fd, int *landlock_fd) {
    int highest = 2;
    for (int i = 0; i < c->fd_count; i++)
        if (c->child_fds[i] > highest) highest = c->child_fds[i];
    int base = highest + 1;

    // Lift everything we still need above every target, so no dup2 below clobbers it.
    int lifted[64];
    if (c->fd_count > 64) return EINVAL;
    for (int i = 0; i < c->fd_count; i++) {
        lifted[i] = fcntl(c->parent_fds[i], F_DUPFD_CLOEXEC, base);
        if (lifted[i] < 0) return errno;
    }
    int r = fcntl(*report_fd, F_DUPFD_CLOEXEC, base);
    if (r < 0) return errno;
    *report_fd = r;
    if (*landlock_fd >= 0) {
        int l = fcntl(*landlock_fd, F_DUPFD_CLOEXEC, base);
        if (l < 0) return errno;
        *landlock_fd = l;
    }
    for (int i = 0; i < c->fd_count; i++)
        if (dup2(lifted[i], c->child_fds[i]) < 0) return errno;

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

/// Every signal back to its default action: the host ignores SIGPIPE and may have handlers
/// whose code must never run here (the child shares the host's memory until exec).
static void reset_signals(void) {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < 65; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        sigaction(sig, &dfl, NULL);  // EINVAL for the few reserved ones; nothing to do
    }
}

__attribute__((noreturn)) static void child_main(const struct airlock_spawn_config *c) {
    int report_fd = c->report_fd;
    int landlock_fd = c->landlock_ruleset_fd;

    // The parent blocked every signal around the clone; defaults first, then unblock.
    reset_signals();
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    if (setsid() < 0) child_fail(c, AIRLOCK_STAGE_SESSION, errno);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) child_fail(c, AIRLOCK_STAGE_PDEATHSIG, errno);
    if (c->lifeline_write_fd >= 0) close(c->lifeline_write_fd);
    if (host_gone(c)) child_fail(c, AIRLOCK_STAGE_HOST_GONE, ESRCH);

    for (int i = 0; i < c->cgroup_fd_count; i++) {
        int err = write_all_fd(c->cgroup_procs_fds[i], "0", 1);
        if (err) child_fail(c, AIRLOCK_STAGE_CGROUP, err);
    }

    if (c->netns_fd >= 0 && setns(c->netns_fd, CLONE_NEWNET) < 0) child_fail(c, AIRLOCK_STAGE_NETWORK, errno);

    if (c->map_self) {
        int err = map_identity(c->outer_uid, c->outer_gid);
        if (err) child_fail(c, AIRLOCK_STAGE_USERNS, err);
    }
    if (c->set_hostname && sethostname("airlock", 7) < 0) child_fail(c, AIRLOCK_STAGE_UTS, errno);
    if (c->make_mounts_private && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        child_fail(c, AIRLOCK_STAGE_MOUNT, errno);
    if (c->mount_proc) {
        if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
            child_fail(c, AIRLOCK_STAGE_MOUNT, errno);
        // Landlock rules name inodes: the parent's rule was for the host's /proc.
        if (landlock_fd >= 0 && c->proc_landlock_access) {
            int err = add_path_rule(landlock_fd, "/proc", c->proc_landlock_access);
            if (err) child_fail(c, AIRLOCK_STAGE_LANDLOCK, err);
        }
    }
    if (c->loopback_up) {
        int err = bring_loopback_up();
        if (err) child_fail(c, AIRLOCK_STAGE_NETWORK, err);
    }

    if (c->drop_credentials) {
        if (syscall(SYS_setgroups, 0, NULL) < 0) child_fail(c, AIRLOCK_STAGE_CREDENTIALS, errno);
        if (syscall(SYS_setresgid, c->run_gid, c->run_gid, c->run_gid) < 0)
            child_fail(c, AIRLOCK_STAGE_CREDENTIALS, errno);
        if (syscall(SYS_setresuid, c->run_uid, c->run_uid, c->run_uid) < 0)
            child_fail(c, AIRLOCK_STAGE_CREDENTIALS, errno);
        // A credential change clears the parent-death signal: arm it again, then re-check.
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) child_fail(c, AIRLOCK_STAGE_PDEATHSIG, errno);
        if (host_gone(c)) child_fail(c, AIRLOCK_STAGE_HOST_GONE, ESRCH);
        if (c->userns_after_drop) {
            // The uid change made us non-dumpable, which makes /proc/self/uid_map root's;
            // exec would restore dumpability anyway.
            if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0) child_fail(c, AIRLOCK_STAGE_USERNS, errno);
            if (unshare(CLONE_NEWUSER) < 0) child_fail(c, AIRLOCK_STAGE_USERNS, errno);
            int err = map_identity(c->run_uid, c->run_gid);
            if (err) child_fail(c, AIRLOCK_STAGE_USERNS, err);
        }
    }

    for (int i = 0; i < c->rlimit_count; i++) {
        struct rlimit64 lim = {c->rlimits[i].soft, c->rlimits[i].hard};
        if (syscall(SYS_prlimit64, 0, c->rlimits[i].resource, &lim, NULL) < 0)
            child_fail(c, AIRLOCK_STAGE_RLIMITS, errno);
    }

    int err = arrange_descriptors(c, &report_fd, &landlock_fd);
    if (err) child_fail(c, AIRLOCK_STAGE_DESCRIPTORS, err);
    // From here on the report pipe may have moved: use the local copy.
    struct airlock_spawn_config moved = *c;
    moved.report_fd = report_fd;
    c = &moved;

    if (c->cwd && chdir(c->cwd) < 0) child_fail(c, AIRLOCK_STAGE_CWD, errno);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) child_fail(c, AIRLOCK_STAGE_NO_NEW_PRIVS, errno);
    if (landlock_fd >= 0) {
        if (syscall(SYS_landlock_restrict_self, landlock_fd, 0) < 0) child_fail(c, AIRLOCK_STAGE_LANDLOCK, errno);
        close(landlock_fd);
    }
    for (int i = 0; i < c->filter_count; i++) {
        struct sock_fprog prog = {
            .len = c->filters[i].count,
            .filter = (struct sock_filter *)c->filters[i].instructions,
        };
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
            child_fail(c, AIRLOCK_STAGE_SECCOMP, errno);
    }
    execve(c->path, c->argv, c->envp);
    child_fail(c, AIRLOCK_STAGE_EXEC, errno);
}

// MARK: - Parent

static long raw_clone(unsigned long flags, int *pidfd) {
    return syscall(SYS_clone, flags | SIGCHLD, NULL, pidfd, NULL, NULL);
}

static int child_entry(void *arg) { child_main((const struct airlock_spawn_config *)arg); }

/// Size of the child's own stack while it shares the host's memory (until exec).
#define AIRLOCK_CHILD_STACK (256 * 1024)

int airlock_spawn(const struct airlock_spawn_config *config, pid_t *pid_out, int *pidfd_out) {
    // vfork-style: the child shares the host's memory (no page tables copied, nothing to tear
    // down at exec) and this thread sleeps until the child has called execve or exited.
    // Every signal stays blocked across the clone so no host handler can run in the child.
    void *stack = mmap(NULL, AIRLOCK_CHILD_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) return errno;
    sigset_t all, saved;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved);
    unsigned long flags = config->clone_flags | CLONE_VM | CLONE_VFORK | SIGCHLD;
    char *top = (char *)stack + AIRLOCK_CHILD_STACK;
    int pidfd = -1;
    int pid = clone(child_entry, top, (int)(flags | CLONE_PIDFD), (void *)config, &pidfd, NULL, NULL);
    if (pid < 0 && errno == EINVAL) {
        pidfd = -1;
        pid = clone(child_entry, top, (int)flags, (void *)config, NULL, NULL, NULL);
    }
    int err = pid < 0 ? errno : 0;
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    munmap(stack, AIRLOCK_CHILD_STACK);
    if (err) return err;
    *pid_out = (pid_t)pid;
    *pidfd_out = pidfd;
    return 0;
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

/// Async-signal-safe: used by the parent and by the child after it mounts /proc.
static int add_path_rule(int ruleset_fd, const char *path, uint64_t access) {
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) return errno;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int err = errno;
        close(fd);
        return err;
    }
    if (!S_ISDIR(st.st_mode)) access &= LL_FILE_RIGHTS;
    struct ll_path_beneath_attr attr = {access, fd};
    long r = syscall(SYS_landlock_add_rule, ruleset_fd, 1 /* LANDLOCK_RULE_PATH_BENEATH */, &attr, 0);
    int err = r < 0 ? errno : 0;
    close(fd);
    return err;
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

#ifndef AIRLOCK_SPAWN_H
#define AIRLOCK_SPAWN_H

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Stages of child setup, reported to the parent with an errno when one fails.
enum airlock_stage {
    AIRLOCK_STAGE_NONE = 0,
    AIRLOCK_STAGE_SESSION = 1,
    AIRLOCK_STAGE_PDEATHSIG = 2,
    AIRLOCK_STAGE_CGROUP = 3,
    AIRLOCK_STAGE_USERNS = 4,
    AIRLOCK_STAGE_UTS = 5,
    AIRLOCK_STAGE_MOUNT = 6,
    AIRLOCK_STAGE_NETWORK = 7,
    AIRLOCK_STAGE_CREDENTIALS = 8,
    AIRLOCK_STAGE_RLIMITS = 9,
    AIRLOCK_STAGE_DESCRIPTORS = 10,
    AIRLOCK_STAGE_CWD = 11,
    AIRLOCK_STAGE_NO_NEW_PRIVS = 12,
    AIRLOCK_STAGE_LANDLOCK = 13,
    AIRLOCK_STAGE_SECCOMP = 14,
    AIRLOCK_STAGE_EXEC = 15,
    AIRLOCK_STAGE_HOST_GONE = 16,
    AIRLOCK_STAGE_CLONE = 17,
};

/// What the child writes to the report pipe when a stage fails (then it exits 127).
struct airlock_child_error {
    int32_t stage;
    int32_t err;
};

/// Constants Swift cannot see through Glibc (they need _GNU_SOURCE there).
enum {
    AIRLOCK_CLONE_NEWNS = 0x00020000,
    AIRLOCK_CLONE_NEWUTS = 0x04000000,
    AIRLOCK_CLONE_NEWIPC = 0x08000000,
    AIRLOCK_CLONE_NEWUSER = 0x10000000,
    AIRLOCK_CLONE_NEWPID = 0x20000000,
    AIRLOCK_CLONE_NEWNET = 0x40000000,
};
enum {
    AIRLOCK_RLIMIT_CPU = 0,
    AIRLOCK_RLIMIT_FSIZE = 1,
    AIRLOCK_RLIMIT_CORE = 4,
    AIRLOCK_RLIMIT_NPROC = 6,
    AIRLOCK_RLIMIT_NOFILE = 7,
    AIRLOCK_RLIMIT_AS = 9,
};

struct airlock_rlimit {
    int resource;
    uint64_t soft;
    uint64_t hard;
};

/// One BPF program (an array of `struct sock_filter`, 8 bytes each).
struct airlock_bpf {
    const void *instructions;
    uint16_t count;
};

/// Everything the child needs, prepared by the parent before the clone.
/// The child only reads this memory (its copy-on-write view of the parent's).
struct airlock_spawn_config {
    void *stack;                ///< the child's stack, kept by the caller until exec or exit
    int32_t *exec_word;         ///< nonzero before the clone; the kernel zeroes it at exec or exit
    size_t stack_size;
    const char *path;           ///< executable, already resolved
    char *const *argv;
    char *const *envp;
    const char *cwd;            ///< NULL: stay in the parent's directory

    /// Descriptor moves: child_fds[i] becomes a copy of parent_fds[i]; all others close.
    const int *child_fds;
    const int *parent_fds;
    int fd_count;

    unsigned long clone_flags;  ///< CLONE_NEW* flags for the clone itself
    int map_self;               ///< in a fresh user namespace: map uid/gid to themselves
    uid_t outer_uid;            ///< uid/gid to map (the parent's, or run_uid after a drop)
    gid_t outer_gid;

    int drop_credentials;       ///< root host: become run_uid/run_gid with no groups
    uid_t run_uid;
    gid_t run_gid;

    int set_hostname;           ///< in a new UTS namespace: hostname "airlock"
    int make_mounts_private;    ///< in a new mount namespace: make / recursively private
    int mount_proc;             ///< mount a fresh /proc (needs mount + pid namespaces)
    const char *scratch_path;   ///< non-NULL: mount a private tmpfs here (needs a mount namespace)
    const char *scratch_options;  ///< its mount data, e.g. "mode=0700,uid=65534,gid=65534"
    uint64_t scratch_landlock_access;  ///< rights on that tmpfs (its root is a new inode)
    int loopback_up;            ///< in a new network namespace: bring lo up
    int netns_fd;               ///< >= 0: join this (empty) network namespace instead

    const struct airlock_rlimit *rlimits;
    int rlimit_count;

    const int *cgroup_procs_fds;  ///< each gets "0" written: join that cgroup
    int cgroup_fd_count;

    int landlock_ruleset_fd;    ///< -1: no Landlock
    uint64_t proc_landlock_access;  ///< rights on the freshly mounted /proc (0: none)
    const struct airlock_bpf *filters;
    int filter_count;

    int lifeline_read_fd;       ///< read end of a pipe whose write end only the parent holds
    int lifeline_write_fd;      ///< the child closes its inherited copy of this
    int report_fd;              ///< write end of a close-on-exec pipe for airlock_child_error
    /// The child shares the parent's memory until exec: a failure is also recorded here,
    /// which needs no allocation (a pipe write can fail under a tight memory limit).
    struct airlock_child_error *shared_error;
};

/// Clones the child (sharing this process's memory until it execs) and runs the setup
/// sequence in it. Returns 0 and sets *pid_out (and *pidfd_out, or -1 when the kernel cannot
/// give one) or returns an errno. The caller must keep config, its strings and the stack
/// alive until the child has called execve or exited: airlock_wait_exec on config->exec_word.
int airlock_spawn(const struct airlock_spawn_config *config, pid_t *pid_out, int *pidfd_out);

/// Waits until the kernel has zeroed *word (the child's exec or exit), at most timeout_ns
/// (negative: no limit). Returns 0, or ETIMEDOUT.
int airlock_wait_exec(int32_t *word, int64_t timeout_ns);

/// Creates an empty network namespace and returns a descriptor for it.
int airlock_make_netns(int *fd_out);

/// 1 when this process ignores SIGCHLD (or sets SA_NOCLDWAIT): its children would be reaped
/// by the kernel before their status could be read.
int airlock_sigchld_ignored(void);

/// Host-side helpers: each returns 0 or an errno.
int airlock_pidfd_open(pid_t pid, int *fd_out);
int airlock_pidfd_send_signal(int pidfd, int sig);
int airlock_pipe_cloexec(int fds[2]);
int airlock_set_nonblocking(int fd);
int airlock_eventfd(int *fd_out);
/// An anonymous, close-on-exec memory file (for a tool's effects on descriptor 3).
int airlock_memfd(const char *name, int *fd_out);
/// Fills `buf` with `len` bytes from the kernel's random generator.
int airlock_random(void *buf, size_t len);

/// Landlock (parent side): the ABI version (0 when unavailable), a ruleset, its rules.
int airlock_landlock_abi(void);
int airlock_landlock_create(int abi, uint64_t handled_fs, uint64_t handled_net, uint64_t scoped, int *fd_out);
/// Adds a path-beneath rule; for a non-directory, access is reduced to the file rights.
int airlock_landlock_add_path(int ruleset_fd, const char *path, uint64_t access);
uint64_t airlock_landlock_fs_rights(int abi);
uint64_t airlock_landlock_read_rights(void);

/// Probes for `airlock doctor`: 0 when the layer works for this user, else an errno.
int airlock_probe_clone(unsigned long flags);
int airlock_probe_seccomp(void);
int airlock_probe_no_new_privs(void);

#ifdef __cplusplus
}
#endif

#endif

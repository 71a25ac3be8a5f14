// Parent-side libseccomp wrappers: build a filter and export it to memory before any fork.
#include "airlock_seccomp.h"

#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

uint32_t airlock_seccomp_action(int kind, uint32_t data) {
    switch (kind) {
    case AIRLOCK_SECCOMP_KILL_THREAD: return SCMP_ACT_KILL_THREAD;
    case AIRLOCK_SECCOMP_KILL_PROCESS: return SCMP_ACT_KILL_PROCESS;
    case AIRLOCK_SECCOMP_TRAP: return SCMP_ACT_TRAP;
    case AIRLOCK_SECCOMP_ERRNO: return SCMP_ACT_ERRNO(data);
    case AIRLOCK_SECCOMP_TRACE: return SCMP_ACT_TRACE(data);
    case AIRLOCK_SECCOMP_ALLOW: return SCMP_ACT_ALLOW;
    case AIRLOCK_SECCOMP_LOG: return SCMP_ACT_LOG;
    default: return SCMP_ACT_KILL_PROCESS;
    }
}

int airlock_seccomp_new(uint32_t default_action, void **out) {
    *out = NULL;
    scmp_filter_ctx ctx = seccomp_init(default_action);
    if (ctx == NULL) return -EINVAL;
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    if (rc == 0) rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 0);
    if (rc == 0) rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    // Binary-tree syscall lookup: a few comparisons per syscall instead of one per rule.
    if (rc == 0) rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    if (rc != 0) {
        seccomp_release(ctx);
        return rc < 0 ? rc : -EINVAL;
    }
    *out = ctx;
    return 0;
}

void airlock_seccomp_free(void *ctx) {
    if (ctx != NULL) seccomp_release(ctx);
}

int airlock_seccomp_arch_add(void *ctx, uint32_t arch) {
    int rc = seccomp_arch_add(ctx, arch);
    return rc == -EEXIST ? 0 : rc;
}

int airlock_seccomp_rule_add(
    void *ctx, uint32_t action, int syscall_nr, unsigned int count, const airlock_seccomp_cmp *cmps) {
    struct scmp_arg_cmp args[6];
    if (count > 6) return -EINVAL;
    for (unsigned int i = 0; i < count; i++) {
        args[i].arg = cmps[i].arg;
        args[i].op = (enum scmp_compare)cmps[i].op;
        args[i].datum_a = cmps[i].datum_a;
        args[i].datum_b = cmps[i].datum_b;
    }
    return seccomp_rule_add_array(ctx, action, syscall_nr, count, args);
}

int airlock_seccomp_export(void *ctx, uint8_t **out, size_t *length) {
    *out = NULL;
    *length = 0;
    int fd = memfd_create("airlock-seccomp", MFD_CLOEXEC);
    if (fd < 0) return -errno;
    int rc = seccomp_export_bpf(ctx, fd);
    if (rc != 0) {
        close(fd);
        return rc < 0 ? rc : -EIO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    size_t size = (size_t)st.st_size;
    uint8_t *buffer = malloc(size > 0 ? size : 1);
    if (buffer == NULL) {
        close(fd);
        return -ENOMEM;
    }
    size_t done = 0;
    while (done < size) {
        ssize_t n = pread(fd, buffer + done, size - done, (off_t)done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            rc = n < 0 ? -errno : -EIO;
            free(buffer);
            close(fd);
            return rc;
        }
        done += (size_t)n;
    }
    close(fd);
    *out = buffer;
    *length = size;
    return 0;
}

uint32_t airlock_seccomp_arch_native(void) { return seccomp_arch_native(); }

uint32_t airlock_seccomp_arch_resolve(const char *name) { return seccomp_arch_resolve_name(name); }

int airlock_seccomp_syscall_resolve(const char *name) {
    return seccomp_syscall_resolve_name_arch(SCMP_ARCH_NATIVE, name);
}

int airlock_seccomp_syscall_name(int nr, char *buffer, size_t size) {
    char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
    if (name == NULL) return -ENOENT;
    size_t len = strlen(name);
    if (len + 1 > size) {
        free(name);
        return -ERANGE;
    }
    memcpy(buffer, name, len + 1);
    free(name);
    return 0;
}

int airlock_seccomp_version(void) {
    const struct scmp_version *v = seccomp_version();
    if (v == NULL) return 0;
    return (int)(v->major * 10000 + v->minor * 100 + v->micro);
}

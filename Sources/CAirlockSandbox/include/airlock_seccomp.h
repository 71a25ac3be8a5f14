// Thin wrappers over libseccomp, for the Swift seccomp compiler (parent side only).
//
// Each function returning int returns 0 (or a non-negative value where documented) or a
// negative errno. libseccomp's function-like macros (SCMP_ACT_ERRNO(x), ...) live here
// because Swift cannot import them.
#ifndef AIRLOCK_SECCOMP_H
#define AIRLOCK_SECCOMP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Action kinds understood by `airlock_seccomp_action`.
enum airlock_seccomp_action_kind {
    AIRLOCK_SECCOMP_KILL_THREAD = 0,
    AIRLOCK_SECCOMP_KILL_PROCESS = 1,
    AIRLOCK_SECCOMP_TRAP = 2,
    AIRLOCK_SECCOMP_ERRNO = 3,
    AIRLOCK_SECCOMP_TRACE = 4,
    AIRLOCK_SECCOMP_ALLOW = 5,
    AIRLOCK_SECCOMP_LOG = 6,
};

/// Comparison operators, in libseccomp's `enum scmp_compare` order.
enum airlock_seccomp_op {
    AIRLOCK_SECCOMP_CMP_NE = 1,
    AIRLOCK_SECCOMP_CMP_LT = 2,
    AIRLOCK_SECCOMP_CMP_LE = 3,
    AIRLOCK_SECCOMP_CMP_EQ = 4,
    AIRLOCK_SECCOMP_CMP_GE = 5,
    AIRLOCK_SECCOMP_CMP_GT = 6,
    AIRLOCK_SECCOMP_CMP_MASKED_EQ = 7,
};

/// One argument comparison; mirrors `struct scmp_arg_cmp`.
typedef struct airlock_seccomp_cmp {
    uint32_t arg;
    uint32_t op;
    uint64_t datum_a;
    uint64_t datum_b;
} airlock_seccomp_cmp;

/// The libseccomp action value for `kind`; `data` is the errno or the trace message number.
uint32_t airlock_seccomp_action(int kind, uint32_t data);

/// `seccomp_init(default_action)` with no_new_privs and TSYNC left to the caller, a bad
/// architecture killing the process, and binary-tree optimization. Stores the context in `*out`.
int airlock_seccomp_new(uint32_t default_action, void **out);

/// Releases a context from `airlock_seccomp_new`.
void airlock_seccomp_free(void *ctx);

/// Adds an architecture token; adding one already present is not an error.
int airlock_seccomp_arch_add(void *ctx, uint32_t arch);

/// `seccomp_rule_add_array`.
int airlock_seccomp_rule_add(
    void *ctx, uint32_t action, int syscall_nr, unsigned int count, const airlock_seccomp_cmp *cmps);

/// Exports the BPF program through a memfd into a malloc'd buffer (`*out`, freed with free()).
int airlock_seccomp_export(void *ctx, uint8_t **out, size_t *length);

/// The native architecture's token.
uint32_t airlock_seccomp_arch_native(void);

/// Token for an `SCMP_ARCH_*` name without the prefix (`"x86_64"`), or 0 when unknown.
uint32_t airlock_seccomp_arch_resolve(const char *name);

/// Syscall number on the native arch. Returns -1 when unknown to libseccomp; other negative
/// values are libseccomp pseudo numbers for syscalls that exist only on other architectures.
int airlock_seccomp_syscall_resolve(const char *name);

/// Writes the native name of syscall `nr` into `buffer`. Returns 0, or -ENOENT / -ERANGE.
int airlock_seccomp_syscall_name(int nr, char *buffer, size_t size);

/// libseccomp's version as major * 10000 + minor * 100 + micro.
int airlock_seccomp_version(void);

#ifdef __cplusplus
}
#endif

#endif

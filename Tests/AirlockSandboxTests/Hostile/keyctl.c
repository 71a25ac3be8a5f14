// Attack: keyctl(KEYCTL_GET_KEYRING_ID, session keyring) through the raw syscall (the kernel
// keyring is not namespaced). Exit 42 if it answered, 100 + errno if refused.
#include <errno.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    fprintf(stderr, "trying syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 1)\n");
    long id = syscall(SYS_keyctl, (long)KEYCTL_GET_KEYRING_ID, (long)KEY_SPEC_SESSION_KEYRING, 1L);
    if (id >= 0) {
        printf("ESCAPED: session keyring id %ld\n", id);
        return 42;
    }
    int err = errno;
    fprintf(stderr, "refused: errno %d (%s)\n", err, strerror(err));
    return 100 + err;
}

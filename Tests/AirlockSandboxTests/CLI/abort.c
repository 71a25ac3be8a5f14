// Calls abort(). Outside a PID namespace this ends with SIGABRT; as the namespace's init, raise()
// is ignored and glibc falls back to a faulting instruction.
#include <stdlib.h>

int main(void) {
    abort();
}

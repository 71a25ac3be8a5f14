// Dies of a real SIGSEGV: a write through a null pointer (a fault, so it is delivered even to a
// PID namespace's init, which ignores signals it sends itself).
int main(void) {
    volatile int *volatile nowhere = 0;
    *nowhere = 1;
    return 0;
}

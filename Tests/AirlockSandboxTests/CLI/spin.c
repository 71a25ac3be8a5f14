// Burns CPU forever, to trip the CPU-time limit.
int main(void) {
    volatile unsigned long counter = 0;
    for (;;) {
        counter++;
    }
}

/* The smallest ordinary program, linked statically: glibc's own start-up is all it runs. */
int main(void) { return 0; }

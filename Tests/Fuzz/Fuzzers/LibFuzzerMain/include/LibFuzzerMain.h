#ifndef LIB_FUZZER_MAIN_H
#define LIB_FUZZER_MAIN_H

/// Runs libFuzzer's driver (LLVMFuzzerRunDriver) on the executable's LLVMFuzzerTestOneInput,
/// with the command line given: the body of each fuzzer's `main`.
int libFuzzerMain(int argc, char **argv);

#endif

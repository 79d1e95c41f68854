#include "LibFuzzerMain.h"

#include <stddef.h>
#include <stdint.h>

// Both provided at link time: the driver by libFuzzer (-sanitize=fuzzer), the callback by the
// fuzzer executable's Swift module (@_cdecl).
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int libFuzzerMain(int argc, char **argv) {
    return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput);
}

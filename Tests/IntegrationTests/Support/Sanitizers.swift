#if canImport(Glibc)
import Glibc
#endif

/// Which sanitizer `make sanitize` built this test bundle with: the servers it starts are built
/// alike, and the sanitizer's runtime exports its interface from both.
enum Sanitizers {
    /// ThreadSanitizer: its runtime adds a background thread that wakes every 100 ms.
    static let thread = dlsym(nil, "__tsan_init") != nil
    /// AddressSanitizer: freed memory waits in its quarantine (256 MiB by default), so resident
    /// memory says nothing about what the program holds.
    static let address = dlsym(nil, "__asan_init") != nil
    /// Either: everything runs several times slower than in a plain debug build.
    static let any = thread || address
}

import Foundation

/// The process's heap bytes in use, from glibc's `malloc_info` report (looked up with dlsym:
/// `<malloc.h>` is not part of the Glibc module). Counts all threads' arenas plus mmapped blocks.
enum TLSTestHeap {
    struct Unavailable: Error {}

    static func bytesInUse() throws -> Int {
        typealias MallocInfo = @convention(c) (Int32, UnsafeMutablePointer<FILE>?) -> Int32
        guard let symbol = dlsym(nil, "malloc_info") else { throw Unavailable() }  // nil is RTLD_DEFAULT
        let mallocInfo = unsafeBitCast(symbol, to: MallocInfo.self)
        var text: UnsafeMutablePointer<CChar>?
        var length = 0
        guard let stream = open_memstream(&text, &length) else { throw Unavailable() }
        _ = mallocInfo(0, stream)
        fclose(stream)
        defer { free(text) }
        let report = String(cString: text!)
        // The last <total>/<system> lines sum every arena.
        func value(_ prefix: String) -> Int {
            guard let line = report.split(separator: "\n").last(where: { $0.hasPrefix(prefix) }),
                  let range = line.range(of: "size=\"") else { return 0 }
            return Int(line[range.upperBound...].prefix { $0.isNumber }) ?? 0
        }
        return value("<system type=\"current\"") + value("<total type=\"mmap\"")
            - value("<total type=\"fast\"") - value("<total type=\"rest\"")
    }
}

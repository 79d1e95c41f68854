/// Cuts a watch response body into events: the API server writes one JSON object per line, and
/// the bytes arrive in runs that may end anywhere (mid-event, mid-character). A partial event is
/// kept until its newline arrives; one longer than `maximumEventBytes` is an error, so a stream
/// of garbage cannot grow the buffer without bound.
struct WatchEventSplitter {
    /// The largest event accepted (a ServiceAccount is a few KiB).
    let maximumEventBytes: Int
    private var pending: [UInt8] = []

    init(maximumEventBytes: Int = ServiceAccountJSON.maximumBodyBytes) {
        self.maximumEventBytes = maximumEventBytes
    }

    /// Whether bytes of an unfinished event are waiting for the rest.
    var hasPartialEvent: Bool { !pending.isEmpty }

    /// Feeds `bytes` and calls `body` with each complete event (without its newline; blank lines
    /// skipped). Throws what `body` throws, or `ServiceAccountDecodingError` for an event too long.
    mutating func feed(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var start = 0
        while let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
            if pending.isEmpty {
                if newline > start {
                    try bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[start..<newline])) }
                }
            } else {
                pending.append(contentsOf: bytes[start..<newline])
                try checkLength()
                try pending.withUnsafeBytes { try body($0) }
                pending.removeAll(keepingCapacity: true)
            }
            start = newline + 1
        }
        pending.append(contentsOf: bytes[start...])
        try checkLength()
    }

    private func checkLength() throws(ServiceAccountDecodingError) {
        guard pending.count <= maximumEventBytes else {
            throw ServiceAccountDecodingError("watch event longer than \(maximumEventBytes) bytes")
        }
    }
}

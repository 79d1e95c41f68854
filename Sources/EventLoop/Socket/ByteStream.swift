/// A connected, bidirectional byte stream served by one event loop: a TCP socket, or TLS over one.
///
/// A stream is confined to its event loop: call it only from tasks running on that loop.
/// Memory passed to `read` and `write` is owned by the caller and must stay valid until the
/// call returns (connection buffers are heap-allocated once per connection for this reason).
public protocol ByteStream: AnyObject {
    /// Reads at least one byte into `buffer`, suspending until data arrives.
    ///
    /// Returns 0 at end of stream. Throws `IOError` with code `.timedOut` when `readDeadline`
    /// passes first, `.closed` after `close()`.
    nonisolated(nonsending) func read(into buffer: UnsafeMutableRawBufferPointer) async throws -> Int

    /// Suspends until a `read` would find data, end of stream or an error, without consuming
    /// anything, so a caller can wait for input without holding a read buffer.
    ///
    /// Returns at once when the stream already holds unread input. Throws like `read`:
    /// `.timedOut` when `readDeadline` passes first, `.closed` after `close()`.
    nonisolated(nonsending) func waitUntilReadable() async throws

    /// Frees the buffers the stream keeps between operations (a TLS stream's record and
    /// ciphertext buffers), for a connection about to sit idle; the next operation allocates
    /// them again. Streams without such buffers do nothing.
    func releaseIdleBuffers()

    /// Writes all of `bytes`, suspending while the kernel's send buffer is full.
    ///
    /// Throws `IOError` with code `.timedOut` when `writeDeadline` passes first.
    nonisolated(nonsending) func write(_ bytes: UnsafeRawBufferPointer) async throws

    /// The instant after which a pending or later `read` fails with `.timedOut`.
    var readDeadline: Deadline { get set }

    /// The instant after which a pending or later `write` fails with `.timedOut`.
    var writeDeadline: Deadline { get set }

    /// Closes the stream and its descriptor. Suspended reads and writes fail with `.closed`.
    /// Calling it twice is harmless.
    func close()
}

extension ByteStream {
    /// Nothing to free: the stream keeps no buffers between operations.
    public func releaseIdleBuffers() {}
}

/// The server's current `TLSContext`, replaceable while connections are live (certificate
/// rotation).
///
/// New connections take `current`; a live connection keeps the context it was created with
/// (each `TLSConnection` retains its own), so a swap never disturbs it. `reload(from:)` builds
/// and checks the new context completely before swapping, so a bad certificate/key pair leaves
/// the old one serving and throws. Safe to use from any thread.
public final class ReloadableTLSContext: Sendable {
    private let context: LockedValue<TLSContext>

    /// Starts with a context built from `configuration`; throws if it is invalid.
    public convenience init(configuration: TLSConfiguration) throws {
        self.init(try TLSContext(configuration: configuration))
    }

    /// Starts with an already built context.
    public init(_ context: TLSContext) {
        self.context = LockedValue(context)
    }

    /// The context new connections should use.
    public var current: TLSContext {
        context.withLock { $0 }
    }

    /// Builds a context from `configuration` (re-reading its files) and makes it current.
    /// On failure the current context stays and the error is thrown.
    public func reload(from configuration: TLSConfiguration) throws {
        let replacement = try TLSContext(configuration: configuration)
        context.withLock { $0 = replacement }
    }
}

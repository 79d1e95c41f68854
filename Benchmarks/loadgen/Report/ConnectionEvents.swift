/// What happened to connections, apart from requests: none of these is a failed request.
///
/// A failed request is one whose bytes were sent and that got no correct 200 answer; it is
/// counted in `RunStatistics.failures`. The events here are closes and refusals that happen
/// before a request is sent, which a client simply answers by reconnecting (or, once the
/// server is shutting down, by stopping).
struct ConnectionEvents: Sendable, Equatable {
    /// Connections opened (TCP connect and TLS handshake done).
    var opened = 0
    /// Answers that carried `Connection: close` (the connection was then reopened).
    var closeAnswers = 0
    /// Connections closed by loadgen after `--requests-per-connection` requests.
    var recycled = 0
    /// Keep-alive connections the server closed while they waited between requests, found
    /// closed before the next request was sent on them (`--until-server-stops` only).
    var closedBetweenRequests = 0
    /// Reconnects refused or reset (before a request was sent) once the server had started
    /// closing connections, or when it started within the timeout: it closes its listener just
    /// before it answers `Connection: close` (`--until-server-stops` only). Each ends its
    /// connection's part of the run.
    var refusedAfterServerStopped = 0

    /// Adds `other`'s counts to these.
    mutating func merge(_ other: ConnectionEvents) {
        opened += other.opened
        closeAnswers += other.closeAnswers
        recycled += other.recycled
        closedBetweenRequests += other.closedBetweenRequests
        refusedAfterServerStopped += other.refusedAfterServerStopped
    }
}

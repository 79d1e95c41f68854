#if canImport(Glibc)
import Glibc
#endif
import EventLoop

extension ServiceAccountAPI {
    /// Why a watch stream ended; the restart reasons of the metrics.
    enum WatchEnd: Equatable {
        /// The server ended the stream (its `timeoutSeconds`, or it closed the connection): resume.
        case closed
        /// Garbage in the stream, an ERROR event other than 410, or an unexpected status: back off, resume.
        case error(String)
        /// 410 Gone (HTTP status or ERROR event): the version is too old; list again.
        case gone(String)
        /// Nothing ended the stream within its timeout plus a margin: it is dead.
        case timeout
        /// 403: the webhook may not watch.
        case forbidden(String)

        /// The `reason` label of `irsa_serviceaccount_watch_restarts_total`.
        var reason: String {
            switch self {
            case .closed: "closed"
            case .error: "error"
            case .gone: "gone"
            case .timeout: "timeout"
            case .forbidden: "forbidden"
            }
        }
    }

    /// Watches ServiceAccounts from `resourceVersion` (with bookmarks) until the stream ends.
    ///
    /// The server is asked to end the stream after `timeout`; one still open `margin` later is
    /// dead (a stream that stalled mid-event, or a silent peer) and is closed. `onOpen` runs when
    /// the 200 head arrives, `onEvent` for each event in order (its `type` and decoded value).
    /// Returns the last resourceVersion seen (events and bookmarks: where to resume) and why
    /// the stream ended.
    func watch(
        from resourceVersion: String, timeout: Duration, margin: Duration,
        onOpen: () -> Void, onEvent: (String, ServiceAccountWatchEvent) -> Void
    ) async -> (resourceVersion: String, end: WatchEnd) {
        var lastVersion = resourceVersion
        var status = 0
        var errorBody: [UInt8] = []
        var splitter = WatchEventSplitter()
        let query = [
            ("watch", "1"), ("allowWatchBookmarks", "true"), ("resourceVersion", resourceVersion),
            ("timeoutSeconds", String(timeout.components.seconds)),
        ]
        do {
            _ = try await client.stream(try request(query), deadline: .after(timeout + margin), onHead: { head in
                status = head.status.code
                if status == 200 { onOpen() }
            }) { bytes in
                guard status == 200 else {
                    if errorBody.count < 65536 { errorBody.append(contentsOf: bytes) }
                    return
                }
                try splitter.feed(bytes) { line in
                    let (type, event) = try ServiceAccountWatchEvent.decode(line, keeping: filter)
                    switch event {
                    case .upserted(_, let version), .deleted(_, let version), .bookmark(let version):
                        lastVersion = version
                    case .error(let code, let message):
                        throw WatchEventError(code: code, message: message)
                    }
                    onEvent(type, event)
                }
            }
        } catch let error as WatchEventError {
            let end: WatchEnd = error.code == 410 ? .gone("ERROR event: \(error.message)") : .error("ERROR event \(error.code.map(String.init) ?? "?"): \(error.message)")
            return (lastVersion, end)
        } catch let error as ServiceAccountDecodingError {
            return (lastVersion, .error(error.description))
        } catch let error as IOError where error.code == .timedOut {
            return (lastVersion, .timeout)
        } catch where status == 200 && Self.isHangUp(error) {
            // A server restarting, or a load balancer dropping the connection, often ends the stream
            // without the last chunk or close_notify: between two events that loses nothing.
            return (lastVersion, splitter.hasPartialEvent ? .error("stream closed inside an event: \(error)") : .closed)
        } catch {
            return (lastVersion, .error("\(error)"))
        }
        if status != 200 {
            let failure = Self.failure("WATCH serviceaccounts", status: status, body: errorBody)
            if failure.isGone { return (lastVersion, .gone(failure.description)) }
            if failure.isForbidden { return (lastVersion, .forbidden(failure.description)) }
            return (lastVersion, .error(failure.description))
        }
        return (lastVersion, splitter.hasPartialEvent ? .error("stream ended inside an event") : .closed)
    }
}

extension ServiceAccountAPI {
    /// Whether `error` says the peer ended the connection (cleanly or not), rather than that the
    /// stream broke the protocol.
    static func isHangUp(_ error: any Error) -> Bool {
        switch error {
        case let error as IOError:
            error.code == .closed || (error.code == .syscall && [ECONNRESET, EPIPE].contains(error.errorNumber))
        case let error as HTTPClientError:
            error.code == .connectionClosed
        case let error as TLSError:
            error.code == .unexpectedEOF || error.code == .connectionClosed
        default:
            false
        }
    }
}

/// An ERROR event, thrown to end the stream.
private struct WatchEventError: Error {
    let code: Int?
    let message: String
}

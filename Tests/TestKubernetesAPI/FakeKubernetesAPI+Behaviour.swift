import Foundation

extension FakeKubernetesAPI {
    /// Faults and settings for LIST and WATCH (`behaveWatch`). Every fault applies to the first
    /// `times` LIST requests and the first `times` WATCH requests after it was set (each counted
    /// on its own), to all when `times` is nil; `bookmarkInterval` and `gone` always apply.
    public struct WatchBehaviour: Sendable {
        /// How a watch from a resourceVersion older than the history learns it is too old.
        public enum Gone: String, Sendable {
            /// HTTP 200 and one `ERROR` event carrying a Status (code 410, reason Expired), then
            /// the end of the stream: what kube-apiserver's watch cache sends.
            case errorEvent = "event"
            /// HTTP 410 with the Status as the body.
            case httpStatus = "status"
        }

        /// How often a watch with `allowWatchBookmarks=true` gets a BOOKMARK (kube-apiserver: a
        /// minute); one more is sent 2 s before its `timeoutSeconds` ends.
        public var bookmarkInterval: Duration
        /// How a too-old resourceVersion is reported to a watch.
        public var gone: Gone
        /// How many LIST and how many WATCH requests the faults apply to; nil: all.
        public var times: Int?
        /// End each watch stream after this long (cleanly, with the last chunk, unless `closeAbruptly`).
        public var closeAfter: Duration?
        /// With `closeAfter`: close the connection without the terminating chunk.
        public var closeAbruptly: Bool
        /// Instead of event number `faultAfterEvents` (counting from 0 on each stream), send half
        /// its line and then nothing, until the client closes the connection.
        public var stallMidEvent: Bool
        /// Send the response head, then nothing at all (no events, no bookmarks, no end, whatever
        /// `timeoutSeconds` says) until the client closes the connection: a dead stream.
        public var silent: Bool
        /// Before event number `faultAfterEvents`, send a chunk that is not a JSON event line
        /// (then carry on as usual).
        public var garbageChunk: Bool
        /// How many events of a stream go out intact before a stall or garbage fault.
        public var faultAfterEvents: Int
        /// 403 Forbidden (a Status as for an RBAC denial) on LIST.
        public var listForbidden: Bool
        /// 403 Forbidden on WATCH.
        public var watchForbidden: Bool
        /// Every continue token is expired: 410 Expired, with a token that continues inconsistently.
        public var expireContinueTokens: Bool

        public init(
            bookmarkInterval: Duration = .seconds(60), gone: Gone = .errorEvent, times: Int? = nil, closeAfter: Duration? = nil,
            closeAbruptly: Bool = false, stallMidEvent: Bool = false, silent: Bool = false, garbageChunk: Bool = false,
            faultAfterEvents: Int = 0,
            listForbidden: Bool = false, watchForbidden: Bool = false, expireContinueTokens: Bool = false
        ) {
            self.bookmarkInterval = bookmarkInterval
            self.gone = gone
            self.times = times
            self.closeAfter = closeAfter
            self.closeAbruptly = closeAbruptly
            self.stallMidEvent = stallMidEvent
            self.silent = silent
            self.garbageChunk = garbageChunk
            self.faultAfterEvents = faultAfterEvents
            self.listForbidden = listForbidden
            self.watchForbidden = watchForbidden
            self.expireContinueTokens = expireContinueTokens
        }
    }

    /// Changes how the next LIST and WATCH requests are answered; `behaveWatch()` restores
    /// normal service (and the one-minute bookmark interval).
    public func behaveWatch(_ behaviour: WatchBehaviour = WatchBehaviour()) throws {
        var watch: [String: Any] = [
            "bookmarkInterval": Self.seconds(behaviour.bookmarkInterval), "goneAs": behaviour.gone.rawValue,
            "closeAbruptly": behaviour.closeAbruptly, "stall": behaviour.stallMidEvent, "silent": behaviour.silent,
            "garbage": behaviour.garbageChunk,
            "faultAfterEvents": behaviour.faultAfterEvents, "listForbidden": behaviour.listForbidden,
            "watchForbidden": behaviour.watchForbidden, "expireContinue": behaviour.expireContinueTokens,
        ]
        watch["times"] = behaviour.times
        watch["closeAfter"] = behaviour.closeAfter.map(Self.seconds)
        _ = try command(["op": "behaveWatch", "watch": watch])
    }

    /// Changes how the next GET and LIST requests are answered; `behave()` restores normal service.
    ///
    /// - Parameters:
    ///   - status: Answer this status (with a Kubernetes Status body) instead.
    ///   - times: Misbehave for this many requests only; nil for every request.
    ///   - retryAfter: The Retry-After header sent with `status`.
    ///   - delay: Wait this long before answering (or dropping).
    ///   - drop: Close the connection without answering.
    ///   - truncate: Send the head (with the full Content-Length) and half the body, then close.
    ///   - stall: With `truncate`, wait this long after the half body before closing.
    ///   - flapPeriod: Misbehave during the first period, serve normally during the next, and so
    ///     on, counted from the first request that sees this behaviour.
    public func behave(
        status: Int? = nil, times: Int? = nil, retryAfter: String? = nil, delay: Duration = .zero, drop: Bool = false,
        truncate: Bool = false, stall: Duration = .zero, flapPeriod: Duration? = nil
    ) throws {
        var control: [String: Any] = ["drop": drop, "truncate": truncate, "delay": Self.seconds(delay), "stall": Self.seconds(stall)]
        control["status"] = status
        control["times"] = times
        control["retryAfter"] = retryAfter
        control["flap"] = flapPeriod.map(Self.seconds)
        _ = try command(["op": "behave", "control": control])
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

import Synchronization
import EventLoop

/// Opens TLS connections to the target; the caller runs on event loop `loop`.
protocol Dialer: Sendable {
    /// A new connection, TLS handshake done, served by event loop `loop` (the caller's).
    func connect(loop: Int) async throws -> any ByteStream
}

/// Hands out open-loop send times to the connections of one event loop: ticket `n` of loop `l`
/// is due at `start + (n * threads + l) / rate`, so the loops together send at `rate`.
final class OpenLoopSchedule: Sendable {
    private let start: Deadline
    private let loopIndex: Int
    private let threads: Int
    private let nanosecondsPerRequest: Double
    private let next = Atomic<Int>(0)

    init(start: Deadline, loopIndex: Int, threads: Int, rate: Double) {
        self.start = start
        self.loopIndex = loopIndex
        self.threads = threads
        self.nanosecondsPerRequest = 1e9 / rate
    }

    /// The intended send time of the next request.
    func nextSendTime() -> Deadline {
        let ticket = next.wrappingAdd(1, ordering: .relaxed).oldValue
        let offset = Double(ticket * threads + loopIndex) * nanosecondsPerRequest
        return Deadline(uptimeNanoseconds: start.uptimeNanoseconds + UInt64(offset))
    }
}

/// Drives one keep-alive connection: send a review, read and check the answer, repeat until the
/// run stops. Closed loop sends the next request when the answer arrives; open loop sends at the
/// scheduled times and measures latency from the intended send time (no coordinated omission).
///
/// A request counts as failed when its bytes were sent and no correct 200 answer came back
/// (including a close or reset in its place), or when a connection could not be opened.
/// Closes and refusals before anything was sent are `ConnectionEvents` instead, in the cases
/// `LoadPlan.untilServerStops` describes.
struct ConnectionWorker {
    let plan: LoadPlan
    let stream: UInt32
    let counters: LiveCounters
    let measureFrom: Deadline
    let schedule: OpenLoopSchedule?
    let dialer: any Dialer
    let loop: Int
    /// The loop this worker runs on (its timers keep open-loop send times precise).
    let eventLoop: EventLoop

    func run() async -> RunStatistics {
        var statistics = RunStatistics()
        var random = SplitMix64(seed: plan.seed &+ UInt64(stream) &* 0x9E37_79B9)
        let writer = RequestWriter(target: plan.target)
        let capacity = writer.capacity(forBody: plan.corpus.largestBody)
        let requestBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        defer { requestBuffer.deallocate() }
        let reader = ResponseReader()
        var connection: (any ByteStream)?
        var requestsOnConnection = 0
        var sequence: UInt64 = 0
        defer { connection?.close() }

        while counters.takeRequest(limit: plan.requestLimit) {
            var start = Deadline.now()
            if let schedule {
                start = schedule.nextSendTime()
                if start > .now() { try? await eventLoop.sleep(until: start) }
                if counters.stopping.load(ordering: .relaxed) { break }
            }
            if plan.untilServerStops, requestsOnConnection > 0, let reused = connection {
                switch await ServerCloseProbe.check(reused, timeout: plan.timeout) {
                case .open:
                    break
                case .closed:
                    statistics.connectionEvents.closedBetweenRequests += 1
                    counters.serverClosing.store(true, ordering: .relaxed)
                    reused.close()
                    connection = nil
                case .unexpectedBytes:
                    record(.malformedHTTP, at: .now(), into: &statistics)
                    reused.close()
                    connection = nil
                    continue
                }
            }
            if connection == nil {
                do {
                    let opened = try await dialer.connect(loop: loop)
                    connection = opened
                    requestsOnConnection = 0
                    statistics.connectionEvents.opened += 1
                } catch {
                    // The server closes its listener a moment before it answers `Connection: close`.
                    if plan.untilServerStops, await counters.awaitServerClosing(within: plan.timeout) {
                        statistics.connectionEvents.refusedAfterServerStopped += 1
                        break  // the server stopped listening: this connection's part is done
                    }
                    record(Self.kind(ofConnectError: error), at: start, into: &statistics)
                    try? await eventLoop.sleep(until: .after(.milliseconds(10)))  // do not spin on a refusing server
                    continue
                }
            }
            guard let open = connection else { continue }
            let review = plan.corpus.next(using: &random)
            let (length, uidOffset) = writer.render(review, stream: stream, sequence: sequence, into: requestBuffer)
            sequence &+= 1
            do {
                open.writeDeadline = .after(plan.timeout)
                open.readDeadline = .after(plan.timeout)
                try await open.write(UnsafeRawBufferPointer(rebasing: requestBuffer[0..<length]))
                let response = try await reader.read(from: open)
                let uid = UnsafeRawBufferPointer(rebasing: requestBuffer[uidOffset..<(uidOffset + PreparedReview.uidLength)])
                let end = Deadline.now()
                if end >= measureFrom {
                    statistics.bytesSent += length
                    statistics.bytesReceived += response.byteCount
                }
                if let failure = plan.verifier.check(status: response.status, body: response.body, uid: uid, review: review) {
                    record(failure, at: end, into: &statistics)
                } else {
                    counters.completed.wrappingAdd(1, ordering: .relaxed)
                    if end >= measureFrom {
                        statistics.recordSuccess(nanoseconds: UInt64(max(0, end.uptimeNanoseconds &- start.uptimeNanoseconds)), bodyBytes: review.body.count)
                    }
                }
                requestsOnConnection += 1
                if response.closes {
                    statistics.connectionEvents.closeAnswers += 1
                    counters.serverClosing.store(true, ordering: .relaxed)
                    open.close()
                    connection = nil
                } else if let limit = plan.requestsPerConnection, requestsOnConnection >= limit {
                    statistics.connectionEvents.recycled += 1
                    open.close()
                    connection = nil
                }
            } catch {
                record(Self.kind(ofExchangeError: error), at: .now(), into: &statistics)
                open.close()
                connection = nil
            }
        }
        return statistics
    }

    private func record(_ failure: FailureKind, at time: Deadline, into statistics: inout RunStatistics) {
        counters.failed.wrappingAdd(1, ordering: .relaxed)
        if time >= measureFrom { statistics.recordFailure(failure) }
    }

    static func kind(ofConnectError error: any Error) -> FailureKind {
        if let error = error as? IOError {
            return error.code == .timedOut ? .timeout : .connect
        }
        return .tlsHandshake
    }

    static func kind(ofExchangeError error: any Error) -> FailureKind {
        switch error {
        case let error as IOError:
            if error.code == .timedOut { return .timeout }
            if error.code == .closed { return .closedByServer }
            return .io
        case ResponseReadError.closedEarly:
            return .closedByServer
        case is ResponseReadError:
            return .malformedHTTP
        default:
            return .io
        }
    }
}

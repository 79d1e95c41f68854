@testable import EventLoop

/// A real OpenSSL client and server `TLSConnection` wired to each other in memory.
final class TLSTestPair {
    let client: TLSConnection
    let server: TLSConnection
    /// Bytes moved per `feedCiphertext` call; 1 feeds byte at a time.
    var feedChunk = Int.max

    init(client: TLSConnection, server: TLSConnection) {
        self.client = client
        self.server = server
    }

    convenience init(clientContext: TLSContext, serverContext: TLSContext, serverName: String? = "localhost") throws {
        try self.init(client: TLSConnection(context: clientContext, serverName: serverName),
                      server: TLSConnection(context: serverContext))
    }

    /// Moves all pending ciphertext from `source` into `destination`; returns how many bytes.
    @discardableResult
    func move(from source: TLSConnection, to destination: TLSConnection) -> Int {
        let pending = source.takeCiphertext()
        var offset = 0
        while offset < pending.count {
            let count = min(feedChunk, pending.count - offset)
            destination.feedCiphertext(UnsafeRawBufferPointer(rebasing: pending[offset..<(offset + count)]))
            offset += count
        }
        source.didSendCiphertext(pending.count)
        return pending.count
    }

    /// Runs both handshakes until each completes or fails (bounded), returning both outcomes.
    func handshake() -> (client: TLSConnection.Outcome, server: TLSConnection.Outcome) {
        var clientOutcome = TLSConnection.Outcome.incomplete
        var serverOutcome = TLSConnection.Outcome.incomplete
        for _ in 0..<20 {
            if case .incomplete = clientOutcome { clientOutcome = client.handshake() }
            move(from: client, to: server)
            if case .incomplete = serverOutcome { serverOutcome = server.handshake() }
            move(from: server, to: client)
            if case .incomplete = clientOutcome { continue }
            if case .incomplete = serverOutcome { continue }
            break
        }
        return (clientOutcome, serverOutcome)
    }

    /// Writes `bytes` on `sender` and reads them all back on `receiver` (bounded by the size).
    func transfer(_ bytes: [UInt8], from sender: TLSConnection, to receiver: TLSConnection, writeChunk: Int = 16_384) throws -> [UInt8] {
        var received: [UInt8] = []
        received.reserveCapacity(bytes.count)
        var buffer = [UInt8](repeating: 0, count: 16_384)
        var offset = 0
        while offset < bytes.count {
            let count = min(writeChunk, bytes.count - offset)
            let outcome = bytes.withUnsafeBytes { sender.write(UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + count)])) }
            guard case .complete = outcome else { throw PairFailure(description: "write: \(outcome)") }
            offset += count
            move(from: sender, to: receiver)
            try drain(receiver, into: &buffer, appendingTo: &received)
        }
        return received
    }

    private func drain(_ receiver: TLSConnection, into buffer: inout [UInt8], appendingTo received: inout [UInt8]) throws {
        while true {
            let outcome = buffer.withUnsafeMutableBytes { receiver.read(into: $0) }
            switch outcome {
            case .bytes(let count):
                received.append(contentsOf: buffer[0..<count])
            case .incomplete:
                return
            case .closed:
                throw PairFailure(description: "unexpected close")
            case .failed(let error):
                throw error
            }
        }
    }

    struct PairFailure: Error, CustomStringConvertible {
        let description: String
    }
}

extension TLSConnection.Outcome {
    var isComplete: Bool {
        if case .complete = self { return true }
        return false
    }

    var error: TLSError? {
        if case .failed(let error) = self { return error }
        return nil
    }
}

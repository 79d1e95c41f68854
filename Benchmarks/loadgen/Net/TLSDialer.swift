import EventLoop

/// Opens TLS connections to the target: a reactor `Socket`, then a `TLSStream` over it with the
/// handshake done, all within the connect timeout.
struct TLSDialer: Dialer {
    let address: SocketAddress
    let serverName: String
    let context: TLSContext
    let timeout: Duration
    let loops: [EventLoop]

    /// - Parameters:
    ///   - caFile: PEM CA bundle that verifies the server; nil skips verification (`--insecure`).
    init(target: Target, caFile: String?, timeout: Duration, loops: [EventLoop]) throws {
        address = try SocketAddress(host: target.host, port: target.port)
        serverName = target.host
        let configuration = caFile.map { TLSConfiguration.client(trustRoots: .file($0)) }
            ?? TLSConfiguration.client(insecureSkipVerify: true)
        context = try TLSContext(configuration: configuration)
        self.timeout = timeout
        self.loops = loops
    }

    func connect(loop: Int) async throws -> any ByteStream {
        let deadline = Deadline.after(timeout)
        let socket = try await Socket.connect(to: address, on: loops[loop], deadline: deadline)
        do {
            let stream = try TLSStream(transport: socket, context: context, serverName: serverName)
            stream.readDeadline = deadline
            stream.writeDeadline = deadline
            try await stream.handshake()
            return stream
        } catch {
            socket.close()
            throw error
        }
    }
}

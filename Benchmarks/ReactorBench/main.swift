// A fixed-response HTTP/1.1 server to compare connection tasks that run on their event loop
// (hop-free) with tasks on the global pool. Not a real HTTP server: it answers every request
// head ("\r\n\r\n") with "ok" and ignores bodies.
//
//   ReactorBench <port> <on-loop|global> [threads]
//   taskset -c 1 .build/release/ReactorBench 8080 on-loop 1 &
//   taskset -c 0 wrk -t1 -c64 -d5s http://127.0.0.1:8080/
import EventLoop
#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments
guard arguments.count >= 3, let port = UInt16(arguments[1]), ["on-loop", "global"].contains(arguments[2]) else {
    print("usage: ReactorBench <port> <on-loop|global> [threads]")
    exit(2)
}
let threads = arguments.count > 3 ? Int(arguments[3]) ?? 1 : 1

/// Counts request heads in the bytes read, carrying a partial terminator across reads.
@Sendable func serve(_ socket: Socket) async {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16384, alignment: 16)
    defer { buffer.deallocate() }
    let response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8
    let responseBytes = UnsafeMutableRawBufferPointer.allocate(byteCount: response.count, alignment: 1)
    defer { responseBytes.deallocate() }
    responseBytes.copyBytes(from: response)
    let fixedResponse = UnsafeRawBufferPointer(responseBytes)
    var matched = 0  // bytes of "\r\n\r\n" matched so far
    do {
        while true {
            let count = try await socket.read(into: buffer)
            if count == 0 { break }
            var requests = 0
            for byte in buffer[0..<count] {
                let expected: UInt8 = matched % 2 == 0 ? 13 : 10
                if byte == expected {
                    matched += 1
                    if matched == 4 { requests += 1; matched = 0 }
                } else {
                    matched = byte == 13 ? 1 : 0
                }
            }
            for _ in 0..<requests { try await socket.write(fixedResponse) }
        }
    } catch {}
    socket.close()
}

let group = EventLoopGroup(threads: threads)
let configuration = TCPServer.Configuration(runConnectionsOnLoop: arguments[2] == "on-loop")
let server = try TCPServer.bind(group: group, address: SocketAddress(host: "127.0.0.1", port: port),
                                configuration: configuration, onConnection: serve)
server.start()
print("listening on \(server.localAddress), connections \(arguments[2]), \(threads) loop(s)")
fflush(nil)
while true { pause() }

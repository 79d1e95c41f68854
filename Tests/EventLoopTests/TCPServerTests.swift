import Glibc
import Testing
@testable import EventLoop

@Suite(.timeLimit(.minutes(1)))
struct TCPServerTests {
    @Test func echoesOneConnection() async throws {
        let probes = ProbeList()
        let server = try TCPServer.bind(group: sharedGroup, address: loopback) { socket in
            probes.add(socket.descriptor)
            await echo(socket)
        }
        server.start()
        let loop = sharedGroup.next()
        let reply = try await withTaskExecutorPreference(loop) {
            let client = try await Socket.connect(to: server.localAddress, on: loop, deadline: .after(.seconds(5)))
            probes.add(client.descriptor)
            client.readDeadline = .after(.seconds(5))
            defer { client.close() }
            try await write(client, "hello")
            let reply = try await readFully(client, count: 5)
            #expect(loop.inEventLoop)
            return reply
        }
        #expect(String(decoding: reply, as: UTF8.self) == "hello")
        await server.stopAccepting()
        #expect(await expectAllClosed(probes.all))
    }
}

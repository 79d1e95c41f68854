import Testing
@testable import EventLoop

@Suite struct SocketAddressTests {
    @Test(arguments: [
        ("127.0.0.1:8443", "127.0.0.1", UInt16(8443), "127.0.0.1:8443"),
        ("0.0.0.0:0", "0.0.0.0", UInt16(0), "0.0.0.0:0"),
        ("[::1]:443", "::1", UInt16(443), "[::1]:443"),
        ("[::]:65535", "::", UInt16(65535), "[::]:65535"),
    ])
    func parsesNumericHostAndPort(text: String, host: String, port: UInt16, description: String) throws {
        let address = try SocketAddress(parsing: text)
        #expect(address.host == host)
        #expect(address.port == port)
        #expect(address.description == description)
        #expect(try SocketAddress(host: host, port: port) == address)
    }

    @Test(arguments: ["localhost:80", "127.0.0.1", "127.0.0.1:70000", "::1:80", "[::1]80", "[::1]:", "1.2.3:4", ""])
    func rejectsInvalidAddresses(text: String) {
        #expect(throws: SocketAddress.ParseError.self) { try SocketAddress(parsing: text) }
    }

    @Test func portCanBeChangedAndHashingFollowsEquality() throws {
        var address = try SocketAddress(host: "::1", port: 1)
        address.port = 2
        #expect(address == (try SocketAddress(parsing: "[::1]:2")))
        #expect(Set([address, try SocketAddress(parsing: "[::1]:2")]).count == 1)
        #expect(address != (try SocketAddress(parsing: "127.0.0.1:2")))
    }
}

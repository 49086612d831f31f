import ConvertProtocol
import Testing

@testable import RelayCore

#if canImport(Glibc)
import Glibc
#endif

/// Endpoint ⇄ sockaddr conversion, both families, and the tags that route completions.
@Suite("Socket addresses and operation tags")
struct SocketAddressTests {
    @Test(
        "IPv4 and IPv6 endpoints survive the trip through sockaddr",
        arguments: [
            "198.18.0.1:8000", "0.0.0.0:1", "[2001:db8::1]:443", "[::]:65535", "[2001:db8:0:1::ff]:5201",
        ]
    )
    func roundTrip(_ text: String) throws {
        let endpoint = try #require(Endpoint(text))
        let address = SocketAddress(endpoint)
        #expect(address.endpoint == endpoint)
        #expect(address.family == (endpoint.address.isIPv4 ? AF_INET : AF_INET6))
        let expectedLength = endpoint.address.isIPv4 ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size
        #expect(Int(address.length) == expectedLength)
    }

    @Test("An IPv6 listener binds, and its bound address reads back")
    func ipv6ListenerBinds() throws {
        let fd = try SocketCalls.makeListener(Endpoint("[::1]:0")!, mptcp: true, backlog: 8)
        defer { close(fd) }
        let local = try #require(SocketAddress.local(of: fd)?.endpoint)
        #expect(local.address == IPAddress("::1"))
        #expect(local.port != 0)
    }

    @Test("Operation tags pack kind, slot and generation and unpack them again")
    func tagsRoundTrip() throws {
        let tag = OperationTag(kind: .pollUpstreamOut, slot: 123_456, generation: 0x1FF_FFFF)
        let back = try #require(OperationTag(tag.raw))
        #expect(back == OperationTag(kind: .pollUpstreamOut, slot: 123_456, generation: 0xFF_FFFF))
        #expect(OperationTag(0) == nil)
    }
}

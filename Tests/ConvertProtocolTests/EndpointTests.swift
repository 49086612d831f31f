import ConvertProtocol
import Testing

@Suite("Endpoint")
struct EndpointTests {
    @Test(
        "parses and prints",
        arguments: [
            ("198.18.0.1:8000", "198.18.0.1", UInt16(8000)),
            ("[2001:db8::1]:8000", "2001:db8::1", 8000),
            ("0.0.0.0:0", "0.0.0.0", 0),
            ("1.2.3.4:65535", "1.2.3.4", 65535),
            ("[::]:443", "::", 443),
        ] as [(String, String, UInt16)]
    )
    func parses(text: String, address: String, port: UInt16) throws {
        let endpoint = try #require(Endpoint(text))
        #expect(endpoint == Endpoint(address: IPAddress(address)!, port: port))
        #expect(endpoint.description == text)
    }

    @Test("canonicalises IPv6 text and IPv4-mapped addresses")
    func canonical() {
        #expect(Endpoint("[2001:DB8:0::0001]:80")?.description == "[2001:db8::1]:80")
        #expect(Endpoint("[::ffff:198.18.0.1]:80")?.description == "198.18.0.1:80")
    }

    @Test(
        "rejects malformed text",
        arguments: [
            "", "1.2.3.4", "1.2.3.4:", ":80", "1.2.3.4:65536", "1.2.3.4:99999", "1.2.3.4:080", "1.2.3.4:+80",
            "1.2.3.4:8 0", "1.2.3.4: 80", "1.2.3.4:80 ", "2001:db8::1:8000", "[1.2.3.4]:80", "[::1]", "[::1]:",
            "[::1:80", "::1]:80", "[]:80", "[::1]80", "[[::1]]:80", "[::1]]:80", "1.2.3.4]:80", "host:80",
            "256.1.1.1:80", "[fe80::1%eth0]:80", "1.2.3.4:123456",
        ]
    )
    func rejects(text: String) {
        #expect(Endpoint(text) == nil)
    }
}

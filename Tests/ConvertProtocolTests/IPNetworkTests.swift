import ConvertProtocol
import Testing

@Suite("IPNetwork")
struct IPNetworkTests {
    @Test(
        "parses, zeroes host bits and prints",
        arguments: [
            ("198.19.0.0/24", "198.19.0.0/24"),
            ("198.19.0.77/24", "198.19.0.0/24"),
            ("10.1.2.3/8", "10.0.0.0/8"),
            ("0.0.0.0/0", "0.0.0.0/0"),
            ("1.2.3.4/0", "0.0.0.0/0"),
            ("198.18.0.1", "198.18.0.1/32"),
            ("198.18.0.1/32", "198.18.0.1/32"),
            ("2001:db8::/32", "2001:db8::/32"),
            ("2001:db8:ffff::1/32", "2001:db8::/32"),
            ("2001:db8:1:2:3:4:5:6/64", "2001:db8:1:2::/64"),
            ("2001:db8:1:2:3:4:5:6/65", "2001:db8:1:2::/65"),
            ("2001:db8:1:2:ffff:4:5:6/65", "2001:db8:1:2:8000::/65"),
            ("fe80::1/10", "fe80::/10"),
            ("::1", "::1/128"),
            ("::/0", "::/0"),
            ("::ffff:198.19.0.0/120", "198.19.0.0/24"),
            ("::ffff:0:0/96", "0.0.0.0/0"),
        ]
    )
    func parses(text: String, canonical: String) throws {
        let network = try #require(IPNetwork(text))
        #expect(network.description == canonical)
        #expect(IPNetwork(canonical) == network)
    }

    @Test(
        "rejects malformed text",
        arguments: [
            "", "/24", "1.2.3.4/", "1.2.3.4/33", "1.2.3.4/024", "1.2.3.4/-1", "1.2.3.4/2a", "1.2.3.4/ 8",
            "1.2.3.4/8/8", "::/129", "::/1000", "2001:db8::/", "::ffff:1.2.3.4/64", "1.2.3/8", "[::1]/128",
        ]
    )
    func rejects(text: String) {
        #expect(IPNetwork(text) == nil)
    }

    @Test("init(address:prefixLength:) checks the range for the family")
    func initChecksRange() {
        #expect(IPNetwork(address: .v4(1), prefixLength: -1) == nil)
        #expect(IPNetwork(address: .v4(1), prefixLength: 33) == nil)
        #expect(IPNetwork(address: .v4(1), prefixLength: 32)?.prefixLength == 32)
        #expect(IPNetwork(address: .v6(high: 1, low: 1), prefixLength: 129) == nil)
        #expect(IPNetwork(address: .v6(high: 1, low: 1), prefixLength: 128)?.address == .v6(high: 1, low: 1))
        #expect(IPNetwork(address: .v6(high: 1, low: 1), prefixLength: 64)?.address == .v6(high: 1, low: 0))
    }

    @Test(
        "contains",
        arguments: [
            ("198.19.0.0/24", "198.19.0.0", true),
            ("198.19.0.0/24", "198.19.0.255", true),
            ("198.19.0.0/24", "198.19.1.0", false),
            ("198.19.0.0/24", "198.18.255.255", false),
            ("198.18.0.1", "198.18.0.1", true),
            ("198.18.0.1", "198.18.0.2", false),
            ("0.0.0.0/0", "255.255.255.255", true),
            ("0.0.0.0/0", "::1", false),
            ("0.0.0.0/0", "::ffff:1.2.3.4", true),
            ("::/0", "2001:db8::1", true),
            ("::/0", "1.2.3.4", false),
            ("::/0", "::ffff:1.2.3.4", false),
            ("2001:db8::/32", "2001:db8:ffff::1", true),
            ("2001:db8::/32", "2001:db9::", false),
            ("2001:db8:1:2::/64", "2001:db8:1:2:ffff::1", true),
            ("2001:db8:1:2::/64", "2001:db8:1:3::", false),
            ("fe80::/10", "fe80::1", true),
            ("fe80::/10", "febf::1", true),
            ("fe80::/10", "fec0::1", false),
            ("::1", "::1", true),
            ("::1", "::2", false),
        ]
    )
    func contains(network: String, address: String, expected: Bool) throws {
        let network = try #require(IPNetwork(network))
        let address = try #require(IPAddress(address))
        #expect(network.contains(address) == expected)
    }
}

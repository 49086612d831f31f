import ConvertProtocol
import Testing

@testable import RelayCore

/// The converter's destination rule: no open relay, whatever the allow list says.
@Suite("Destination policy")
struct DestinationPolicyTests {
    /// A destination inside a special range, the range, an `allow` entry broader than it and one within
    /// it that covers the destination.
    struct SpecialCase: Sendable, CustomTestStringConvertible {
        let destination: String
        let range: String
        let broader: String
        let within: String
        let refusal: DestinationRefusal

        /// Destination, range, broader entry, entry within, refusal: one row of the table below.
        init(_ destination: String, _ range: String, _ broader: String, _ within: String, _ refusal: DestinationRefusal)
        {
            self.destination = destination
            self.range = range
            self.broader = broader
            self.within = within
            self.refusal = refusal
        }

        var testDescription: String { "\(destination) in \(range)" }
    }

    static let specialCases: [SpecialCase] = [
        SpecialCase("127.0.0.1:80", "127.0.0.0/8", "126.0.0.0/7", "127.0.0.1", .special),
        SpecialCase("[::ffff:127.0.0.1]:80", "127.0.0.0/8", "0.0.0.0/1", "::ffff:127.0.0.0/104", .special),
        SpecialCase("[::1]:80", "::1/128", "::/127", "::1", .special),
        SpecialCase("169.254.1.1:80", "169.254.0.0/16", "169.254.0.0/15", "169.254.1.0/24", .special),
        SpecialCase("[fe80::1]:80", "fe80::/10", "fe80::/9", "fe80::/64", .special),
        SpecialCase("169.254.169.254:80", "169.254.169.254/32", "169.254.0.0/16", "169.254.169.254", .special),
        SpecialCase(
            "[::ffff:169.254.169.254]:80",
            "169.254.169.254/32",
            "169.254.169.0/24",
            "169.254.169.254/32",
            .special
        ),
        SpecialCase("[fd00:ec2::254]:80", "fd00:ec2::254/128", "fd00::/8", "fd00:ec2::254", .special),
        SpecialCase("10.1.2.3:80", "10.0.0.0/8", "10.0.0.0/7", "10.1.0.0/16", .privateNetwork),
        SpecialCase("[::ffff:10.1.2.3]:80", "10.0.0.0/8", "8.0.0.0/5", "10.1.2.3", .privateNetwork),
        SpecialCase("172.16.5.5:80", "172.16.0.0/12", "172.0.0.0/8", "172.16.5.0/24", .privateNetwork),
        SpecialCase("172.31.255.254:80", "172.16.0.0/12", "172.16.0.0/11", "172.31.0.0/16", .privateNetwork),
        SpecialCase("192.168.1.1:80", "192.168.0.0/16", "192.0.0.0/8", "192.168.1.0/24", .privateNetwork),
        SpecialCase("100.64.0.1:80", "100.64.0.0/10", "100.0.0.0/8", "100.64.0.0/16", .privateNetwork),
        SpecialCase("100.127.255.254:80", "100.64.0.0/10", "100.64.0.0/9", "100.127.0.0/16", .privateNetwork),
        SpecialCase("[fd12::1]:80", "fc00::/7", "fc00::/6", "fd12::/16", .privateNetwork),
        SpecialCase("[fc00::1]:80", "fc00::/7", "::/0", "fc00::/8", .privateNetwork),
    ]

    static let catchAll = [IPNetwork("0.0.0.0/0")!, IPNetwork("::/0")!]

    @Test("A special destination is refused under a catch-all, a broader entry or no entry", arguments: specialCases)
    func specialRefusedWithoutANamingEntry(_ example: SpecialCase) throws {
        let destination = try #require(Endpoint(example.destination))
        let broader = try #require(IPNetwork(example.broader))
        #expect(DestinationPolicy(allow: Self.catchAll).refusal(for: destination) == example.refusal)
        #expect(DestinationPolicy(allow: [broader] + Self.catchAll).refusal(for: destination) == example.refusal)
        #expect(DestinationPolicy(allow: []).refusal(for: destination) == example.refusal)
    }

    @Test("A special destination is allowed by an entry equal to its range or within it", arguments: specialCases)
    func specialAllowedByANamingEntry(_ example: SpecialCase) throws {
        let destination = try #require(Endpoint(example.destination))
        let range = try #require(IPNetwork(example.range))
        let within = try #require(IPNetwork(example.within))
        #expect(DestinationPolicy(allow: [range]).refusal(for: destination) == nil)
        #expect(DestinationPolicy(allow: [within]).refusal(for: destination) == nil)
        #expect(DestinationPolicy(allow: Self.catchAll + [within]).refusal(for: destination) == nil)
    }

    @Test("An entry within the range that does not contain the destination does not open it")
    func siblingEntryDoesNotOpen() {
        let policy = DestinationPolicy(allow: [IPNetwork("10.2.0.0/16")!, IPNetwork("169.254.0.0/16")!])
        #expect(policy.refusal(for: Endpoint("10.1.2.3:80")!) == .privateNetwork)
        #expect(policy.refusal(for: Endpoint("10.2.0.1:80")!) == nil)
        #expect(policy.refusal(for: Endpoint("169.254.1.1:80")!) == nil)
        // The metadata address nests inside link-local: only an entry within 169.254.169.254/32 opens it.
        #expect(policy.refusal(for: Endpoint("169.254.169.254:80")!) == .special)
    }

    @Test(
        "Unspecified, this network, multicast, broadcast and port 0 are refused even when allow names them",
        arguments: [
            "0.0.0.0:80", "0.1.2.3:80", "224.0.0.1:80", "239.255.255.250:1900", "255.255.255.255:80", "[::]:80",
            "[ff02::1]:80", "[::ffff:0.0.0.0]:80", "[::ffff:224.0.0.1]:80", "198.19.0.2:0",
        ]
    )
    func invalidAlwaysRefused(_ text: String) throws {
        let destination = try #require(Endpoint(text))
        let exact = IPNetwork(address: destination.address, prefixLength: destination.address.isIPv4 ? 32 : 128)!
        let policy = DestinationPolicy(allow: [exact] + Self.catchAll)
        #expect(policy.refusal(for: destination) == .invalid)
    }

    @Test("The converter's own addresses are refused whatever allow says; its loopback follows the loopback rule")
    func ownAddressesAlwaysRefused() {
        let own: Set<IPAddress> = [
            IPAddress("198.19.0.1")!, IPAddress("2001:db8:19::1")!, IPAddress("fe80::1234")!,
            IPAddress("10.9.9.9")!, IPAddress("127.0.0.1")!, IPAddress("::1")!,
        ]
        let wide = DestinationPolicy(
            allow: Self.catchAll
                + ["198.19.0.1", "2001:db8:19::1", "fe80::/10", "10.9.9.9", "127.0.0.0/8", "::1"]
                .map { IPNetwork($0)! },
            ownAddresses: own
        )
        #expect(wide.refusal(for: Endpoint("198.19.0.1:80")!) == .ownAddress)
        #expect(wide.refusal(for: Endpoint("[::ffff:198.19.0.1]:80")!) == .ownAddress)
        #expect(wide.refusal(for: Endpoint("[2001:db8:19::1]:80")!) == .ownAddress)
        #expect(wide.refusal(for: Endpoint("[fe80::1234]:80")!) == .ownAddress)
        #expect(wide.refusal(for: Endpoint("10.9.9.9:80")!) == .ownAddress)
        #expect(wide.refusal(for: Endpoint("127.0.0.1:80")!) == nil)
        #expect(wide.refusal(for: Endpoint("[::1]:80")!) == nil)
        #expect(wide.refusal(for: Endpoint("198.19.0.2:80")!) == nil)
        let catchAllOnly = DestinationPolicy(allow: Self.catchAll, ownAddresses: own)
        #expect(catchAllOnly.refusal(for: Endpoint("127.0.0.1:80")!) == .special)
        #expect(catchAllOnly.refusal(for: Endpoint("[::1]:80")!) == .special)
    }

    @Test("Ordinary destinations follow the allow list; a mapped address is decided as IPv4")
    func ordinaryDestinations() {
        let policy = DestinationPolicy(allow: [IPNetwork("198.19.0.0/24")!, IPNetwork("2001:db8::/32")!])
        #expect(policy.refusal(for: Endpoint("198.19.0.2:80")!) == nil)
        #expect(policy.refusal(for: Endpoint("[::ffff:198.19.0.2]:80")!) == nil)
        #expect(policy.refusal(for: Endpoint("[2001:db8::2]:80")!) == nil)
        #expect(policy.refusal(for: Endpoint("198.20.0.2:80")!) == .notAllowed)
        #expect(policy.refusal(for: Endpoint("[2001:db9::2]:80")!) == .notAllowed)
        let v6Only = DestinationPolicy(allow: [IPNetwork("::/0")!])
        #expect(v6Only.refusal(for: Endpoint("[::ffff:8.8.8.8]:80")!) == .notAllowed)
        #expect(v6Only.refusal(for: Endpoint("[2606:4700::1111]:443")!) == nil)
        let open = DestinationPolicy(allow: Self.catchAll)
        #expect(open.refusal(for: Endpoint("8.8.8.8:53")!) == nil)
        #expect(open.refusal(for: Endpoint("[::ffff:8.8.8.8]:53")!) == nil)
    }

    @Test("The project's test ranges are not special, so the test topologies keep working under a catch-all")
    func testRangesAreOrdinary() {
        let open = DestinationPolicy(allow: Self.catchAll)
        for text in ["198.18.0.1:80", "198.19.255.254:80", "[2001:db8::1]:80", "[2001:db8:ffff::1]:80"] {
            #expect(open.refusal(for: Endpoint(text)!) == nil, "\(text)")
        }
    }

    @Test("Every refusal has its own metric label, in counter order")
    func labels() {
        #expect(DestinationRefusal.allLabels == ["not_allowed", "special", "private", "own_address", "invalid"])
        #expect(Set(DestinationRefusal.allCases.map(\.labelIndex)).count == DestinationRefusal.allCases.count)
    }
}

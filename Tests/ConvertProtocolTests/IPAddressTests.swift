import ConvertProtocol
import Testing

@Suite("IPAddress")
struct IPAddressTests {
    @Test(
        "parses IPv4",
        arguments: [
            ("0.0.0.0", UInt32(0)),
            ("198.18.0.1", 0xC612_0001),
            ("10.0.0.1", 0x0A00_0001),
            ("255.255.255.255", 0xFFFF_FFFF),
            ("127.0.0.1", 0x7F00_0001),
        ] as [(String, UInt32)]
    )
    func parsesIPv4(text: String, value: UInt32) {
        #expect(IPAddress(text) == .v4(value))
        #expect(IPAddress(text)?.description == text)
    }

    @Test(
        "parses IPv6 and prints RFC 5952 canonical text",
        arguments: [
            ("::", "::"),
            ("::1", "::1"),
            ("1::", "1::"),
            ("2001:db8::1", "2001:db8::1"),
            ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
            ("2001:DB8::AbCd", "2001:db8::abcd"),
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
            ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
            ("2001:db8::1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
            ("0:0:1:0:0:0:1:0", "0:0:1::1:0"),
            ("fe80:0:0:0:1:0:0:1", "fe80::1:0:0:1"),
            ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),
            ("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"),
            ("1:0:0:4:5:0:0:0", "1:0:0:4:5::"),
            ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            ("::1.2.3.4", "::102:304"),
            ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
            ("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"),
        ]
    )
    func parsesIPv6(text: String, canonical: String) throws {
        let address = try #require(IPAddress(text))
        #expect(!address.isIPv4)
        #expect(address.description == canonical)
        #expect(IPAddress(canonical) == address)
    }

    @Test("IPv6 values are the big-endian halves")
    func ipv6Value() {
        #expect(IPAddress("2001:db8::1") == .v6(high: 0x2001_0DB8_0000_0000, low: 1))
        #expect(IPAddress("::") == .v6(high: 0, low: 0))
    }

    @Test("IPv4-mapped IPv6 text is the IPv4 address")
    func mappedTextIsIPv4() {
        #expect(IPAddress("::ffff:198.18.0.1") == .v4(0xC612_0001))
        #expect(IPAddress("::FFFF:c612:0001") == .v4(0xC612_0001))
        #expect(IPAddress("0:0:0:0:0:ffff:198.18.0.1")?.description == "198.18.0.1")
    }

    @Test(
        "rejects malformed text",
        arguments: [
            "", " ", "1.2.3", "1.2.3.4.5", "1..2.3", ".1.2.3", "1.2.3.4.", "256.0.0.1", "1.2.3.256",
            "01.2.3.4", "1.2.3.04", "1.2.3.00", "0x1.2.3.4", "1.2.3.-4", "1.2.3.4 ", " 1.2.3.4", "1.2.3.1000",
            "\u{FF11}.2.3.4", "1.2.3.4/32",
            ":", ":::", "1:::2", "1::2::3", "::1::", ":1::", "1::2:", ":1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:",
            "12345::", "g::", "::g", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8::",
            "::1:2:3:4:5:6:7:8", "[::1]", "fe80::1%eth0", "::1.2.3", "1.2.3.4::", "::1.2.3.4:5",
            "::01.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "::ffff:256.0.0.1", "2001:db8::1 ", "-1::",
            "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255:0",
        ]
    )
    func rejects(text: String) {
        #expect(IPAddress(text) == nil)
    }

    @Test("bytes16 is network order with IPv4 mapped")
    func bytes16() {
        #expect(IPAddress.v4(0xC612_0001).bytes16 == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 198, 18, 0, 1])
        #expect(
            IPAddress("2001:db8::1")?.bytes16
                == [0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
        )
    }

    @Test("init(bytes16:) maps ::ffff:a.b.c.d to IPv4 and keeps everything else IPv6")
    func initBytes16() {
        let mapped: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 198, 18, 0, 1]
        #expect(IPAddress(bytes16: mapped) == .v4(0xC612_0001))
        #expect(IPAddress(bytes16: mapped[...]) == .v4(0xC612_0001))
        let compatible: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 198, 18, 0, 1]
        #expect(IPAddress(bytes16: compatible) == .v6(high: 0, low: 0xC612_0001))
        for text in ["2001:db8::1", "::", "::1", "fe80::1", "ff02::1", "64:ff9b::1.2.3.4"] {
            let address = IPAddress(text)!
            #expect(IPAddress(bytes16: address.bytes16) == address)
        }
    }

    @Test("a hand-built IPv4-mapped .v6 prints in mixed notation")
    func handBuiltMapped() {
        #expect(IPAddress.v6(high: 0, low: 0xFFFF_C612_0001).description == "::ffff:198.18.0.1")
    }

    @Test(
        "classification",
        arguments: [
            // text, loopback, linkLocal, unspecified, multicast
            ("127.0.0.1", true, false, false, false),
            ("127.255.255.254", true, false, false, false),
            ("128.0.0.1", false, false, false, false),
            ("169.254.1.1", false, true, false, false),
            ("169.255.1.1", false, false, false, false),
            ("0.0.0.0", false, false, true, false),
            ("0.0.0.1", false, false, false, false),
            ("224.0.0.1", false, false, false, true),
            ("239.255.255.255", false, false, false, true),
            ("240.0.0.1", false, false, false, false),
            ("198.18.0.1", false, false, false, false),
            ("::1", true, false, false, false),
            ("::2", false, false, false, false),
            ("fe80::1", false, true, false, false),
            ("febf:ffff::1", false, true, false, false),
            ("fec0::1", false, false, false, false),
            ("::", false, false, true, false),
            ("ff02::1", false, false, false, true),
            ("fe00::1", false, false, false, false),
            ("2001:db8::1", false, false, false, false),
        ]
    )
    func classification(text: String, loopback: Bool, linkLocal: Bool, unspecified: Bool, multicast: Bool) throws {
        let address = try #require(IPAddress(text))
        #expect(address.isIPv4 == !text.contains(":"))
        #expect(address.isLoopback == loopback)
        #expect(address.isLinkLocal == linkLocal)
        #expect(address.isUnspecified == unspecified)
        #expect(address.isMulticast == multicast)
    }
}

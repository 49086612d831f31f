import ConvertProtocol
import Testing

/// Parses `bytes` and returns the error it throws, or nil when it parses.
func parseError(_ bytes: [UInt8]) -> ConvertProtocolError? {
    do {
        _ = try ConvertMessage.parse(bytes)
        return nil
    } catch {
        return error
    }
}

@Suite("ConvertMessage")
struct ConvertMessageTests {
    static let mappedPrefix: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]

    @Test("a bare fixed header is version 1, one word, magic 0x2263")
    func bareHeader() throws {
        #expect(ConvertMessage().encoded() == [0x01, 0x01, 0x22, 0x63])
        #expect(try ConvertMessage.parse([0x01, 0x01, 0x22, 0x63]) == ConvertMessage())
        // Any other magic number is not a Convert message.
        #expect(parseError([0x01, 0x01, 0xAB, 0xCD])?.kind == .badMagic(0xABCD))
    }

    @Test("IPv4 Connect TLV, byte-exact (RFC 8803 section 4.2.4)")
    func connectIPv4() throws {
        let endpoint = try #require(Endpoint("198.18.0.1:8000"))
        let message = ConvertMessage(tlvs: [.connect(endpoint, tcpOptions: [])])
        let bytes: [UInt8] =
            [
                0x01, 0x06, 0x22, 0x63,  // version 1, 6 words, magic 0x2263
                0x0A, 0x05, 0x1F, 0x40,  // Connect, 5 words, port 8000
            ] + Self.mappedPrefix + [198, 18, 0, 1]  // ::ffff:198.18.0.1
        #expect(message.encoded() == bytes)
        #expect(message.encodedLength == 24)
        #expect(try ConvertMessage.parse(bytes) == message)
    }

    @Test("IPv6 Connect TLV with TCP options, byte-exact")
    func connectIPv6() throws {
        let endpoint = try #require(Endpoint("[2001:db8::1]:443"))
        let options: [UInt8] = [0x02, 0x04, 0x05, 0xB4]  // MSS 1460
        let message = ConvertMessage(tlvs: [.connect(endpoint, tcpOptions: options)])
        let bytes: [UInt8] = [
            0x01, 0x07, 0x22, 0x63,  // version 1, 7 words, magic 0x2263
            0x0A, 0x06, 0x01, 0xBB,  // Connect, 6 words, port 443
            0x20, 0x01, 0x0D, 0xB8, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,  // 2001:db8::1
            0x02, 0x04, 0x05, 0xB4,  // TCP options
        ]
        #expect(message.encoded() == bytes)
        #expect(try ConvertMessage.parse(bytes) == message)
    }

    @Test(
        "every TLV round trips byte-exact",
        arguments: [
            (ConvertTLV.info([]), [0x01, 0x01, 0x00, 0x00] as [UInt8]),
            (
                .connect(Endpoint("[::1]:1")!, tcpOptions: [1, 1, 1, 0]),
                [0x0A, 0x06, 0x00, 0x01] + [UInt8](repeating: 0, count: 15) + [1, 1, 1, 1, 0]
            ),
            (.extendedTCPHeader([UInt8](0..<20)), [0x14, 0x06, 0x00, 0x00] + [UInt8](0..<20)),
            (.supportedTCPExtensions([30, 4, 8, 34]), [0x15, 0x02, 0x00, 0x00, 30, 4, 8, 34]),
            (.cookie([0xDE, 0xAD, 0xBE, 0xEF]), [0x16, 0x02, 0x00, 0x00, 0xDE, 0xAD, 0xBE, 0xEF]),
            (.cookie([]), [0x16, 0x01, 0x00, 0x00]),
            (.error(.notAuthorized, value: [9]), [0x1E, 0x01, 32, 9]),
            (.error(.destinationUnreachable, value: [1, 2, 3, 4, 5]), [0x1E, 0x02, 97, 1, 2, 3, 4, 5]),
            (.unknown(type: 200, value: [1, 2]), [200, 0x01, 1, 2]),
            (.unknown(type: 0, value: [1, 2, 3, 4, 5, 6]), [0, 0x02, 1, 2, 3, 4, 5, 6]),
        ] as [(ConvertTLV, [UInt8])]
    )
    func roundTrip(tlv: ConvertTLV, tlvBytes: [UInt8]) throws {
        let message = ConvertMessage(tlvs: [tlv])
        let bytes = [0x01, UInt8(1 + tlvBytes.count / 4), 0x22, 0x63] + tlvBytes
        #expect(message.encoded() == bytes)
        #expect(message.encodedLength == bytes.count)
        #expect(try ConvertMessage.parse(bytes) == message)
    }

    @Test("several TLVs keep their order")
    func severalTLVs() throws {
        let message = ConvertMessage(tlvs: [
            .connect(Endpoint("198.18.0.1:80")!, tcpOptions: []),
            .cookie([1, 2, 3, 4]),
            .unknown(type: 250, value: [7, 7]),
            .info([]),
        ])
        let bytes = message.encoded()
        #expect(bytes.count == 4 + 20 + 8 + 4 + 4)
        #expect(bytes[1] == 10)
        #expect(try ConvertMessage.parse(bytes) == message)
    }

    @Test("variable parts are zero-padded to whole words and parse back with the padding")
    func padding() throws {
        let cookie = ConvertMessage(tlvs: [.cookie([1, 2, 3])])
        #expect(cookie.encoded() == [0x01, 0x03, 0x22, 0x63, 0x16, 0x02, 0x00, 0x00, 1, 2, 3, 0])
        #expect(try ConvertMessage.parse(cookie.encoded()) == ConvertMessage(tlvs: [.cookie([1, 2, 3, 0])]))

        let error = ConvertMessage(tlvs: [.error(.networkFailure, value: [])])
        #expect(error.encoded() == [0x01, 0x02, 0x22, 0x63, 0x1E, 0x01, 65, 0])

        let unknown = ConvertMessage(tlvs: [.unknown(type: 199, value: [5])])
        #expect(unknown.encoded() == [0x01, 0x02, 0x22, 0x63, 199, 0x01, 5, 0])

        let options = ConvertMessage(tlvs: [.connect(Endpoint("1.2.3.4:5")!, tcpOptions: [1])])
        #expect(options.encoded().count == 28)
        #expect(options.encoded().suffix(4) == [1, 0, 0, 0])
    }

    @Test("unassigned fields inside TLVs are ignored on receipt")
    func unassignedIgnored() throws {
        let bytes: [UInt8] = [0x01, 0x02, 0x22, 0x63, 0x16, 0x01, 0xFF, 0xFF]
        #expect(try ConvertMessage.parse(bytes) == ConvertMessage(tlvs: [.cookie([])]))
    }

    @Test("the largest message fits and the next word does not")
    func limits() throws {
        #expect(ConvertFraming.maximumMessageLength == 1020)
        // 4 header + 4 cookie header + 1012 cookie bytes = 1020.
        let largest = ConvertMessage(tlvs: [.cookie([UInt8](repeating: 0xAA, count: 1012))])
        #expect(largest.encodedLength == 1020)
        try largest.validate()
        let bytes = largest.encoded()
        #expect(bytes[1] == 255)
        #expect(bytes[5] == 254)
        #expect(try ConvertMessage.parse(bytes) == largest)

        let oversized = ConvertMessage(tlvs: [.cookie([UInt8](repeating: 0xAA, count: 1013))])
        #expect(oversized.encodedLength == 1024)
        #expect(throws: ConvertProtocolError.self) { try oversized.validate() }

        // Each TLV fits on its own, but together they do not.
        let tooMany = ConvertMessage(tlvs: [ConvertTLV](repeating: .info([]), count: 255))
        #expect(tooMany.encodedLength == 1024)
        #expect(throws: ConvertProtocolError.self) { try tooMany.validate() }
        try ConvertMessage(tlvs: [ConvertTLV](repeating: .info([]), count: 254)).validate()
    }

    @Test("encoding an oversized message traps instead of truncating it")
    func oversizedEncodeTraps() async {
        await #expect(processExitsWith: .failure) {
            _ = ConvertMessage(tlvs: [.cookie([UInt8](repeating: 0, count: 2000))]).encoded()
        }
    }

    @Test(
        "malformed input throws the right code",
        arguments: [
            ([], ConvertErrorCode.malformedMessage),  // truncated fixed header
            ([0x01], .malformedMessage),
            ([0x01, 0x01, 0x00], .malformedMessage),
            ([0x02, 0x01, 0x00, 0x00], .unsupportedVersion),
            ([0x00, 0x01, 0x00, 0x00], .unsupportedVersion),
            ([0xFF, 0x02, 0x00, 0x00, 0x16, 0x01, 0x00, 0x00], .unsupportedVersion),
            ([0x01, 0x01, 0x00, 0x00], .unsupportedVersion),  // magic 0 (drafts before RFC 8803)
            ([0x01, 0x01, 0x63, 0x22], .unsupportedVersion),  // magic byte-swapped
            ([0x01, 0x00, 0x22, 0x63], .malformedMessage),  // total length 0
            ([0x01, 0x02, 0x22, 0x63], .malformedMessage),  // says 8 bytes, 4 given
            ([0x01, 0x01, 0x22, 0x63, 0x00, 0x00, 0x00, 0x00], .malformedMessage),  // trailing bytes
            ([0x01, 0x02, 0x22, 0x63, 0x16, 0x00, 0x00], .malformedMessage),  // not a whole word
            ([0x01, 0x02, 0x22, 0x63, 0x16, 0x00, 0x00, 0x00], .malformedMessage),  // TLV length 0
            ([0x01, 0x02, 0x22, 0x63, 0x16, 0x02, 0x00, 0x00], .malformedMessage),  // TLV past the end
            ([0x01, 0x03, 0x22, 0x63, 0x16, 0x01, 0x00, 0x00, 0xC8, 0xFF, 0x00, 0x00], .malformedMessage),
            ([0x01, 0x02, 0x22, 0x63, 0x0A, 0x01, 0x00, 0x50], .malformedMessage),  // Connect of 4 bytes
            ([0x01, 0x05, 0x22, 0x63, 0x0A, 0x04, 0x00, 0x50] + [UInt8](repeating: 0, count: 12), .malformedMessage),
            ([0x01, 0x02, 0x22, 0x63, 0x1E, 0x01, 0x04, 0x00], .malformedMessage),  // unknown error code
            ([0x01, 0x02, 0x22, 0x63, 0x1E, 0x01, 0xC0, 0x00], .malformedMessage),  // private-use error code
        ] as [([UInt8], ConvertErrorCode)]
    )
    func malformed(bytes: [UInt8], code: ConvertErrorCode) {
        #expect(parseError(bytes)?.code == code)
    }

    @Test("parse accepts any Collection of bytes")
    func parsesSlices() throws {
        let bytes: [UInt8] = [0xEE, 0x01, 0x02, 0x22, 0x63, 0x16, 0x01, 0x00, 0x00, 0xEE]
        #expect(try ConvertMessage.parse(bytes[1..<9]) == ConvertMessage(tlvs: [.cookie([])]))
    }
}

import ConvertProtocol
import Testing

// Conformance with RFC 8803 byte for byte. Every expected message below is written out by hand from the
// RFC's figures (fixed header: section 4.1; TLVs: section 4.2), never produced by our encoder, and each is
// checked in both directions: decode the bytes and compare the values, encode the values and compare the
// bytes. docs/PROTOCOL.md lists which RFC requirement each check stands for.

/// Decodes `bytes` as one Convert message and returns the error it throws, or nil when it parses.
private func decodeFailure(_ bytes: [UInt8]) -> ConvertProtocolError? {
    do {
        _ = try ConvertMessage.parse(bytes)
        return nil
    } catch {
        return error
    }
}

/// Decodes `bytes` as a client's request, as the converter does, and returns the error, or nil.
private func requestFailure(_ bytes: [UInt8]) -> ConvertProtocolError? {
    do {
        _ = try ConvertRequest(message: ConvertMessage.parse(bytes))
        return nil
    } catch {
        return error
    }
}

@Suite("RFC 8803 conformance")
struct RFC8803ConformanceTests {
    @Test("the fixed header's Magic Number is 0x2263")
    func magicNumber() {
        #expect(ConvertFraming.magicNumber == 0x2263)
        #expect(ConvertFraming.version == 1)
    }

    @Test("request: Connect TLV to an IPv4 destination, carried IPv4-mapped")
    func requestIPv4() throws {
        let bytes: [UInt8] = [
            0x01,  // Version 1
            0x06,  // Total Length: 6 words = 24 bytes (fixed header 4 + Connect TLV 20)
            0x22, 0x63,  // Magic Number 0x2263
            0x0A,  // TLV Type 10: Connect
            0x05,  // TLV Length: 5 words = 20 bytes
            0x00, 0x50,  // Remote Peer Port 80
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // Remote Peer IP Address: ::ffff:198.18.0.1,
            0x00, 0x00, 0xFF, 0xFF, 0xC6, 0x12, 0x00, 0x01,  // the IPv4-mapped IPv6 form
        ]
        let request = ConvertRequest(destination: Endpoint(address: .v4(0xC612_0001), port: 80))
        #expect(try ConvertRequest(message: ConvertMessage.parse(bytes)) == request)
        #expect(request.encoded() == bytes)
    }

    @Test("request: Connect TLV to an IPv6 destination")
    func requestIPv6() throws {
        let bytes: [UInt8] = [
            0x01,  // Version 1
            0x06,  // Total Length: 6 words
            0x22, 0x63,  // Magic Number 0x2263
            0x0A,  // TLV Type 10: Connect
            0x05,  // TLV Length: 5 words
            0x01, 0xBB,  // Remote Peer Port 443
            0x20, 0x01, 0x0D, 0xB8, 0x00, 0x00, 0x00, 0x00,  // Remote Peer IP Address:
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,  // 2001:db8::2
        ]
        let request = ConvertRequest(destination: try #require(Endpoint("[2001:db8::2]:443")))
        #expect(try ConvertRequest(message: ConvertMessage.parse(bytes)) == request)
        #expect(request.encoded() == bytes)
    }

    @Test("request: Connect TLV followed by a Cookie TLV")
    func requestWithCookie() throws {
        let bytes: [UInt8] = [
            0x01,  // Version 1
            0x08,  // Total Length: 8 words = 32 bytes (4 + Connect 20 + Cookie 8)
            0x22, 0x63,  // Magic Number 0x2263
            0x0A,  // TLV Type 10: Connect
            0x05,  // TLV Length: 5 words
            0x1F, 0x90,  // Remote Peer Port 8080
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // ::ffff:198.18.0.1
            0x00, 0x00, 0xFF, 0xFF, 0xC6, 0x12, 0x00, 0x01,
            0x16,  // TLV Type 22: Cookie
            0x02,  // TLV Length: 2 words = 8 bytes
            0x00, 0x00,  // Zero
            0xDE, 0xAD, 0xBE, 0xEF,  // Opaque Cookie
        ]
        let request = ConvertRequest(
            destination: Endpoint(address: .v4(0xC612_0001), port: 8080),
            cookie: [0xDE, 0xAD, 0xBE, 0xEF]
        )
        #expect(try ConvertRequest(message: ConvertMessage.parse(bytes)) == request)
        #expect(request.encoded() == bytes)
    }

    @Test("request: Connect TLV and an Info TLV asking for the converter's TCP extensions")
    func requestWithInfo() throws {
        let bytes: [UInt8] = [
            0x01,  // Version 1
            0x07,  // Total Length: 7 words = 28 bytes (4 + Connect 20 + Info 4)
            0x22, 0x63,  // Magic Number 0x2263
            0x0A, 0x05, 0x1F, 0x90,  // Connect TLV, 5 words, Remote Peer Port 8080
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // ::ffff:198.18.0.1
            0x00, 0x00, 0xFF, 0xFF, 0xC6, 0x12, 0x00, 0x01,
            0x01,  // TLV Type 1: Info
            0x01,  // TLV Length: 1 word
            0x00, 0x00,  // Unassigned
        ]
        let request = try ConvertRequest(message: ConvertMessage.parse(bytes))
        #expect(request.asksForExtensions)
        #expect(request.destination == Endpoint(address: .v4(0xC612_0001), port: 8080))
        #expect(request.encoded() == bytes)
        // An Info TLV alone is a query of its own, with no destination.
        let query: [UInt8] = [0x01, 0x02, 0x22, 0x63, 0x01, 0x01, 0x00, 0x00]
        #expect(ConvertRequest.isInfoQuery(try ConvertMessage.parse(query)))
        #expect(!ConvertRequest.isInfoQuery(try ConvertMessage.parse(bytes)))
    }

    @Test("answer: a Supported TCP Extensions TLV lists option kinds, one byte each")
    func supportedExtensionsAnswer() throws {
        let bytes: [UInt8] = [
            0x01,  // Version 1
            0x03,  // Total Length: 3 words
            0x22, 0x63,  // Magic Number 0x2263
            0x15,  // TLV Type 21: Supported TCP Extensions
            0x02,  // TLV Length: 2 words
            0x00, 0x00,  // Unassigned
            0x02, 0x03, 0x04, 0x08,  // MSS, Window Scale, SACK Permitted, Timestamps
        ]
        let response = ConvertResponse(message: try ConvertMessage.parse(bytes))
        #expect(response.error == nil)
        #expect(response.supportedTCPExtensions == [0x02, 0x03, 0x04, 0x08])
        #expect(ConvertResponse(error: nil, supportedTCPExtensions: [0x02, 0x03, 0x04, 0x08]).encoded() == bytes)
    }

    @Test("answer: success is a bare fixed header, 01 01 22 63")
    func bareSuccess() throws {
        let bytes: [UInt8] = [
            0x01,  // Version 1
            0x01,  // Total Length: 1 word, the fixed header alone
            0x22, 0x63,  // Magic Number 0x2263
        ]
        #expect(try ConvertMessage.parse(bytes) == ConvertMessage())
        #expect(ConvertResponse(message: try ConvertMessage.parse(bytes)) == .success)
        #expect(ConvertResponse.success.encoded() == bytes)
    }

    @Test(
        "answer: one Error TLV",
        arguments: [
            (ConvertErrorCode.notAuthorized, [0x20, 0x00] as [UInt8]),  // code 32, value empty (padding)
            (.destinationUnreachable, [0x61, 0x00]),  // code 97
            (.malformedMessage, [0x01, 0x00]),  // code 1
            (.unsupportedVersion, [0x00, 0x01]),  // code 0, value: the supported version, 1
        ] as [(ConvertErrorCode, [UInt8])]
    )
    func errorAnswer(code: ConvertErrorCode, codeAndValue: [UInt8]) throws {
        let bytes: [UInt8] =
            [
                0x01,  // Version 1
                0x02,  // Total Length: 2 words = 8 bytes
                0x22, 0x63,  // Magic Number 0x2263
                0x1E,  // TLV Type 30: Error
                0x01,  // TLV Length: 1 word
            ] + codeAndValue  // Error Code, Value
        let message = try ConvertMessage.parse(bytes)
        #expect(message.tlvs == [.error(code, value: [codeAndValue[1]])])
        #expect(ConvertResponse(message: message) == .failure(code, value: [codeAndValue[1]]))
        #expect(ConvertResponse.failure(code).encoded() == bytes)
    }

    @Test(
        "Resource Exceeded and Network Failure: the Value is a retry delay in seconds, 0 meaning at least 30 (6.2.8)",
        arguments: [
            ([0x40, 0x01] as [UInt8], 1 as Int?),  // Resource Exceeded (64), retry after 1 s
            ([0x40, 0xFF], 255),  // the longest delay one byte holds
            ([0x40, 0x00], 30),  // 0: the client waits at least 30 s
            ([0x41, 0x05], 5),  // Network Failure (65), 5 s
            ([0x41, 0x00], 30),
            ([0x20, 0x05], nil),  // Not Authorized (32): no delay, whatever the Value says
            ([0x61, 0x01], nil),  // Destination Unreachable (97): the Value is an ICMP code
        ]
    )
    func retryDelay(codeAndValue: [UInt8], seconds: Int?) throws {
        let bytes: [UInt8] = [0x01, 0x02, 0x22, 0x63, 0x1E, 0x01] + codeAndValue
        let response = ConvertResponse(message: try ConvertMessage.parse(bytes))
        #expect(response.retryDelaySeconds == seconds)
        if let code = response.error, seconds != nil {
            // What our converter sends for a delay is the same bytes.
            #expect(ConvertResponse.failure(code, value: [codeAndValue[1]]).encoded() == bytes)
        }
    }

    @Test(
        "loopback, multicast and broadcast destinations are malformed requests (section 6.2.5)",
        arguments: [
            ("127.0.0.1:80", true), ("127.8.9.10:80", true), ("[::1]:80", true), ("224.0.0.1:80", true),
            ("239.255.255.250:1900", true), ("[ff02::1]:80", true), ("255.255.255.255:80", true),
            ("198.18.0.1:80", false), ("[2001:db8::1]:80", false), ("169.254.169.254:80", false),
        ]
    )
    func malformedDestinations(text: String, malformed: Bool) throws {
        let destination = try #require(Endpoint(text))
        #expect(ConvertRequest.isMalformedDestination(destination) == malformed, "\(text)")
    }

    @Test("Unsupported TCP Option: the Error TLV's Value lists the refused option kinds, MSS ignored (4.2.7, 6.2.5)")
    func unsupportedOptionNamesTheKinds() throws {
        let request: [UInt8] = [
            0x01, 0x08, 0x22, 0x63,  // Version 1, Total Length 8 words, Magic Number 0x2263
            0x0A, 0x07, 0x00, 0x50,  // Connect TLV, 7 words, Remote Peer Port 80
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // Remote Peer IP Address ::ffff:198.18.0.1
            0x00, 0x00, 0xFF, 0xFF, 0xC6, 0x12, 0x00, 0x01,
            0x02, 0x04, 0x05, 0xB4,  // TCP option: MSS (kind 2, length 4), 1460
            0x01, 0x04, 0x02, 0x00,  // No-Operation, SACK Permitted (kind 4, length 2), End of Option List
        ]
        let refusal = #expect(throws: ConvertProtocolError.self) {
            try ConvertRequest(message: ConvertMessage.parse(request))
        }
        #expect(refusal?.code == .unsupportedTCPOption)
        #expect(refusal?.value == [0x04], "MSS (2) is ignored (section 6.2.5), SACK Permitted (4) refused")
        let answer: [UInt8] = [
            0x01, 0x02, 0x22, 0x63,  // Version 1, Total Length 2 words, Magic Number 0x2263
            0x1E, 0x01,  // TLV Type 30: Error, Length 1 word
            0x21,  // Error Code 33: Unsupported TCP Option
            0x04,  // Value: the refused kind, SACK Permitted (MSS is ignored)
        ]
        #expect(ConvertResponse.failure(.unsupportedTCPOption, value: refusal?.value ?? []).encoded() == answer)
    }

    @Test(
        "a fixed header that is not Convert version 1 is refused with Unsupported Version",
        arguments: [
            ([0x02, 0x01, 0x22, 0x63], .unsupportedVersion(2)),  // Version 2
            ([0x00, 0x01, 0x22, 0x63], .unsupportedVersion(0)),  // Version 0 (reserved)
            ([0x01, 0x01, 0x00, 0x00], .badMagic(0x0000)),  // magic 0x0000, as drafts before RFC 8803 sent
            ([0x01, 0x01, 0x63, 0x22], .badMagic(0x6322)),  // magic in the wrong byte order
            ([0x01, 0x01, 0x22, 0x62], .badMagic(0x2262)),  // one bit off
            (  // libconvert's complaint: a whole request with magic 0x0000
                [
                    0x01, 0x06, 0x00, 0x00,  // Version 1, 6 words, magic 0x0000
                    0x0A, 0x05, 0x00, 0x50,  // Connect, 5 words, port 80
                    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // ::ffff:198.18.0.1
                    0x00, 0x00, 0xFF, 0xFF, 0xC6, 0x12, 0x00, 0x01,
                ],
                .badMagic(0x0000)
            ),
        ] as [([UInt8], ConvertProtocolError.Kind)]
    )
    func notVersionOne(bytes: [UInt8], kind: ConvertProtocolError.Kind) {
        let framing = #expect(throws: ConvertProtocolError.self) {
            try ConvertFraming.messageLength(fixedHeader: bytes)
        }
        #expect(framing?.code == .unsupportedVersion)
        #expect(framing?.kind == kind)
        let message = decodeFailure(bytes)
        #expect(message?.code == .unsupportedVersion)
        #expect(message?.kind == kind)
    }

    @Test(
        "malformed messages are refused with Malformed Message",
        arguments: [
            [0x01, 0x01, 0x22],  // fixed header cut short: 3 of 4 bytes
            [0x01, 0x03, 0x22, 0x63, 0x1E, 0x01, 0x20, 0x00],  // Total Length 3 words, 2 given
            [0x01, 0x01, 0x22, 0x63, 0x1E, 0x01, 0x20, 0x00],  // Total Length 1 word, 2 given
            [0x01, 0x02, 0x22, 0x63, 0x16, 0x00, 0x00, 0x00],  // Cookie TLV with Length 0
            [0x01, 0x02, 0x22, 0x63, 0x16, 0x02, 0x00, 0x00],  // Cookie TLV of 2 words, 1 left: overruns
            [0x01, 0x03, 0x22, 0x63, 0x16, 0x01, 0x00, 0x00, 0xC8, 0x02, 0x00, 0x00],  // 2nd TLV overruns
            [0x01, 0x02, 0x22, 0x63, 0x0A, 0x01, 0x00, 0x50],  // Connect TLV of 1 word, needs 5
            [0x01, 0x02, 0x22, 0x63, 0x1E, 0x01, 0x04, 0x00],  // Error TLV with unassigned code 4
        ] as [[UInt8]]
    )
    func malformed(bytes: [UInt8]) {
        let error = decodeFailure(bytes)
        #expect(error?.code == .malformedMessage)
        #expect(error?.kind == .invalidMessage)
    }

    @Test("Total Length 0 is told apart: the receiver resets instead of answering (section 4.1)")
    func zeroTotalLength() {
        let bytes: [UInt8] = [0x01, 0x00, 0x22, 0x63]  // Version 1, Total Length 0, Magic Number 0x2263
        #expect(throws: ConvertProtocolError.self) { try ConvertFraming.messageLength(fixedHeader: bytes) }
        let error = decodeFailure(bytes)
        #expect(error?.code == .malformedMessage)
        #expect(error?.kind == .zeroLength)
    }

    @Test("a TLV type twice in one message is found (section 4.2.1: a client resets on a repeat)")
    func repeatedTLV() throws {
        let repeated: [UInt8] = [
            0x01,  // Version 1
            0x03,  // Total Length: 3 words
            0x22, 0x63,  // Magic Number 0x2263
            0xC8, 0x01, 0x00, 0x00,  // TLV Type 200 (private use), 1 word
            0xC8, 0x01, 0x00, 0x00,  // the same type again
        ]
        #expect(try ConvertMessage.parse(repeated).repeatedTLVType == 0xC8)
        let distinct: [UInt8] = [
            0x01, 0x03, 0x22, 0x63,
            0xC8, 0x01, 0x00, 0x00,  // TLV Type 200
            0xC9, 0x01, 0x00, 0x00,  // TLV Type 201
        ]
        #expect(try ConvertMessage.parse(distinct).repeatedTLVType == nil)
        #expect(try ConvertMessage.parse([0x01, 0x01, 0x22, 0x63]).repeatedTLVType == nil)
    }

    @Test("a converter refuses a TLV it does not know with Unsupported Message")
    func unknownTLVInRequest() throws {
        let bytes: [UInt8] = [
            0x01,  // Version 1
            0x07,  // Total Length: 7 words = 28 bytes
            0x22, 0x63,  // Magic Number 0x2263
            0x0A, 0x05, 0x00, 0x50,  // Connect TLV, 5 words, port 80
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // ::ffff:198.18.0.1
            0x00, 0x00, 0xFF, 0xFF, 0xC6, 0x12, 0x00, 0x01,
            0xC8,  // TLV Type 200 (private use)
            0x01,  // TLV Length: 1 word
            0xAB, 0xCD,  // its value
        ]
        // The message itself is well formed; the unknown TLV is kept as it came.
        let message = try ConvertMessage.parse(bytes)
        #expect(message.tlvs.last == .unknown(type: 0xC8, value: [0xAB, 0xCD]))
        #expect(message.encoded() == bytes)
        #expect(requestFailure(bytes)?.code == .unsupportedMessage)
    }

    @Test("a client reads past TLVs it does not know in an answer")
    func unknownTLVInAnswer() throws {
        let bytes: [UInt8] = [
            0x01,  // Version 1
            0x03,  // Total Length: 3 words
            0x22, 0x63,  // Magic Number 0x2263
            0xC8, 0x01, 0x00, 0x00,  // TLV Type 200 (private use), 1 word
            0x1E, 0x01, 0x61, 0x00,  // Error TLV, 1 word, Destination Unreachable (97)
        ]
        let message = try ConvertMessage.parse(bytes)
        #expect(
            message.tlvs == [
                .unknown(type: 0xC8, value: [0x00, 0x00]), .error(.destinationUnreachable, value: [0x00]),
            ]
        )
        #expect(ConvertResponse(message: message) == .failure(.destinationUnreachable, value: [0x00]))
        #expect(message.encoded() == bytes)
    }

    @Test("the longest message is 255 words: 1020 bytes")
    func longestMessage() throws {
        let header: [UInt8] = [
            0x01,  // Version 1
            0xFF,  // Total Length: 255 words = 1020 bytes
            0x22, 0x63,  // Magic Number 0x2263
        ]
        #expect(try ConvertFraming.messageLength(fixedHeader: header) == 1020)
        // A Cookie TLV filling the rest: 1016 bytes, 254 words (Type, Length, Zero and 1012 cookie bytes).
        let cookie = [UInt8](repeating: 0xA5, count: 1012)
        let bytes = header + [0x16, 0xFE, 0x00, 0x00] + cookie  // Cookie TLV, 254 words, Zero, Opaque Cookie
        let message = ConvertMessage(tlvs: [.cookie(cookie)])
        #expect(try ConvertMessage.parse(bytes) == message)
        #expect(message.encoded() == bytes)
    }
}

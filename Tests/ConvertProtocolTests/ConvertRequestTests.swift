import ConvertProtocol
import Testing

/// Reads a request out of `tlvs` and returns the error it throws, or nil when it is accepted.
func requestError(_ tlvs: [ConvertTLV]) -> ConvertProtocolError? {
    do {
        _ = try ConvertRequest(message: ConvertMessage(tlvs: tlvs))
        return nil
    } catch {
        return error
    }
}

@Suite("ConvertRequest")
struct ConvertRequestTests {
    static let destination = Endpoint("198.18.0.1:8000")!

    @Test("a request without cookie is one Connect TLV, byte-exact")
    func encodesWithoutCookie() throws {
        let request = ConvertRequest(destination: Self.destination)
        let bytes: [UInt8] = [
            0x01, 0x06, 0x22, 0x63,
            0x0A, 0x05, 0x1F, 0x40,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 198, 18, 0, 1,
        ]
        #expect(request.encoded() == bytes)
        #expect(try ConvertRequest(message: ConvertMessage.parse(bytes)) == request)
    }

    @Test("a request with a cookie adds a Cookie TLV after the Connect TLV, byte-exact")
    func encodesWithCookie() throws {
        let request = ConvertRequest(destination: Endpoint("[2001:db8::1]:443")!, cookie: [0xDE, 0xAD, 0xBE, 0xEF])
        let bytes: [UInt8] = [
            0x01, 0x08, 0x22, 0x63,
            0x0A, 0x05, 0x01, 0xBB,
            0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
            0x16, 0x02, 0x00, 0x00, 0xDE, 0xAD, 0xBE, 0xEF,
        ]
        #expect(request.encoded() == bytes)
        #expect(try ConvertRequest(message: ConvertMessage.parse(bytes)) == request)
    }

    @Test("the longest cookie fits one message")
    func longestCookie() throws {
        #expect(ConvertRequest.maximumCookieLength == 992)
        let request = ConvertRequest(
            destination: Self.destination,
            cookie: [UInt8](repeating: 7, count: ConvertRequest.maximumCookieLength)
        )
        try request.message.validate()
        let bytes = request.encoded()
        #expect(bytes.count == ConvertFraming.maximumMessageLength)
        #expect(try ConvertRequest(message: ConvertMessage.parse(bytes)) == request)

        var tooLong = request
        tooLong.cookie?.append(7)
        #expect(throws: ConvertProtocolError.self) { try tooLong.message.validate() }
    }

    @Test("TLV order does not matter and padding-only TCP options are accepted")
    func lenient() throws {
        let request = try ConvertRequest(
            message: ConvertMessage(tlvs: [
                .cookie([1, 2, 3, 4]), .connect(Self.destination, tcpOptions: [1, 1, 0, 0x22]),
            ])
        )
        #expect(request == ConvertRequest(destination: Self.destination, cookie: [1, 2, 3, 4]))
        // MSS, Window Scale and SACK describe one connection: the converter ignores them (section 6.2.5).
        let ignored = try ConvertRequest(
            message: ConvertMessage(tlvs: [
                .connect(Self.destination, tcpOptions: [2, 4, 5, 0xB4, 3, 3, 7, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2, 0])
            ])
        )
        #expect(ignored == ConvertRequest(destination: Self.destination, cookie: nil))
    }

    @Test(
        "rejections carry the RFC 8803 error code",
        arguments: [
            ([], ConvertErrorCode.malformedMessage),
            ([.cookie([1, 2, 3, 4])], .malformedMessage),
            ([.connect(destination, tcpOptions: []), .connect(destination, tcpOptions: [])], .malformedMessage),
            ([.connect(destination, tcpOptions: []), .cookie([]), .cookie([])], .malformedMessage),
            ([.connect(Endpoint("198.18.0.1:0")!, tcpOptions: [])], .malformedMessage),
            ([.connect(Endpoint("0.0.0.0:80")!, tcpOptions: [])], .malformedMessage),
            ([.connect(Endpoint("[::]:80")!, tcpOptions: [])], .malformedMessage),
            ([.connect(destination, tcpOptions: [4, 2, 0, 0])], .unsupportedTCPOption),  // SACK Permitted
            ([.connect(destination, tcpOptions: [1, 30, 4, 0])], .unsupportedTCPOption),
            // An Info TLV is taken beside a Connect TLV, once; alone it is a query the worker answers itself.
            ([.connect(destination, tcpOptions: []), .info([]), .info([])], .malformedMessage),
            ([.info([])], .malformedMessage),
            ([.connect(destination, tcpOptions: []), .unknown(type: 200, value: [0, 0])], .unsupportedMessage),
            ([.connect(destination, tcpOptions: []), .error(.networkFailure, value: [])], .unsupportedMessage),
            ([.connect(destination, tcpOptions: []), .supportedTCPExtensions([30])], .unsupportedMessage),
            ([.connect(destination, tcpOptions: []), .extendedTCPHeader([])], .unsupportedMessage),
        ] as [([ConvertTLV], ConvertErrorCode)]
    )
    func rejects(tlvs: [ConvertTLV], code: ConvertErrorCode) {
        #expect(requestError(tlvs)?.code == code)
    }
}

import ConvertProtocol
import Testing

@Suite("ConvertErrorCode")
struct ConvertErrorCodeTests {
    @Test(
        "numbers and labels match the IANA Convert Errors registry",
        arguments: [
            (ConvertErrorCode.unsupportedVersion, UInt8(0), "unsupported_version"),
            (.malformedMessage, 1, "malformed_message"),
            (.unsupportedMessage, 2, "unsupported_message"),
            (.missingCookie, 3, "missing_cookie"),
            (.notAuthorized, 32, "not_authorized"),
            (.unsupportedTCPOption, 33, "unsupported_tcp_option"),
            (.resourceExceeded, 64, "resource_exceeded"),
            (.networkFailure, 65, "network_failure"),
            (.connectionReset, 96, "connection_reset"),
            (.destinationUnreachable, 97, "destination_unreachable"),
        ] as [(ConvertErrorCode, UInt8, String)]
    )
    func registry(code: ConvertErrorCode, value: UInt8, label: String) throws {
        #expect(code.rawValue == value)
        #expect(ConvertErrorCode(rawValue: value) == code)
        #expect(code.description == label)

        // Each code travels in an Error TLV: 01 02 22 63 | 1e 01 <code> 00; Unsupported Version's value
        // is the version this side speaks, 01.
        let errorValue: UInt8 = code == .unsupportedVersion ? 0x01 : 0x00
        let bytes = ConvertResponse.failure(code).encoded()
        #expect(bytes == [0x01, 0x02, 0x22, 0x63, 0x1E, 0x01, value, errorValue])
        let message = try ConvertMessage.parse(bytes)
        #expect(message == ConvertMessage(tlvs: [.error(code, value: [errorValue])]))
        #expect(ConvertResponse(message: message) == .failure(code, value: [errorValue]))
    }

    @Test("the registry has exactly ten codes; every other byte is unassigned")
    func noOtherCodes() {
        #expect(ConvertErrorCode.allCases.count == 10)
        let assigned = Set(ConvertErrorCode.allCases.map(\.rawValue))
        for value in UInt8.min...UInt8.max where !assigned.contains(value) {
            #expect(ConvertErrorCode(rawValue: value) == nil)
        }
    }

    @Test("ConvertProtocolError prints code and reason")
    func errorDescription() {
        let error = ConvertProtocolError(code: .malformedMessage, reason: "no Connect TLV")
        #expect(error.description == "malformed_message: no Connect TLV")
    }
}

import ConvertProtocol
import Testing

@Suite("ConvertResponse")
struct ConvertResponseTests {
    @Test("success is a bare fixed header")
    func success() throws {
        #expect(ConvertResponse.success.encoded() == [0x01, 0x01, 0x22, 0x63])
        #expect(ConvertResponse.success.error == nil)
        #expect(ConvertResponse(message: try ConvertMessage.parse([0x01, 0x01, 0x22, 0x63])) == .success)
    }

    @Test("failure is one Error TLV, byte-exact")
    func failure() throws {
        let bytes: [UInt8] = [0x01, 0x02, 0x22, 0x63, 0x1E, 0x01, 0x61, 0x00]
        #expect(ConvertResponse.failure(.destinationUnreachable).encoded() == bytes)
        let parsed = ConvertResponse(message: try ConvertMessage.parse(bytes))
        #expect(parsed == .failure(.destinationUnreachable, value: [0x00]))
    }

    @Test("TLVs other than Error still mean success")
    func otherTLVs() {
        let message = ConvertMessage(tlvs: [.supportedTCPExtensions([30, 0, 0, 0]), .extendedTCPHeader([])])
        #expect(ConvertResponse(message: message).error == nil)
        #expect(ConvertResponse(message: message).supportedTCPExtensions == [30, 0, 0, 0])
    }

    @Test("the first Error TLV decides")
    func firstError() {
        let message = ConvertMessage(tlvs: [
            .info([]), .error(.missingCookie, value: []), .error(.networkFailure, value: []),
        ])
        #expect(ConvertResponse(message: message).error == .missingCookie)
    }

    @Test("a received Unsupported Version keeps the versions it lists (fuzzer finding: it re-encoded as ours)")
    func receivedVersionsSurviveEncoding() throws {
        let bytes: [UInt8] = [0x01, 0x02, 0x22, 0x63, 0x1E, 0x01, 0x00, 0x32]  // supports version 0x32 only
        let response = ConvertResponse(message: try ConvertMessage.parse(bytes))
        #expect(response == .failure(.unsupportedVersion, value: [0x32]))
        #expect(response.encoded() == bytes)
        // What this side sends lists its own version, 1.
        #expect(ConvertResponse.failure(.unsupportedVersion).encoded().suffix(2) == [0x00, 0x01])
    }
}

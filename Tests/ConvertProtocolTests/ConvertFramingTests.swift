import ConvertProtocol
import Testing

@Suite("ConvertFraming")
struct ConvertFramingTests {
    @Test("messageLength reads the Total Length in words")
    func lengths() throws {
        #expect(ConvertFraming.fixedHeaderLength == 4)
        #expect(try ConvertFraming.messageLength(fixedHeader: [0x01, 0x01, 0x22, 0x63]) == 4)
        #expect(try ConvertFraming.messageLength(fixedHeader: [0x01, 0x06, 0x22, 0x63]) == 24)
        #expect(try ConvertFraming.messageLength(fixedHeader: [0x01, 0xFF, 0x22, 0x63]) == 1020)
        // Bytes after the fixed header are not looked at.
        #expect(try ConvertFraming.messageLength(fixedHeader: [0x01, 0x02, 0x22, 0x63, 0x16]) == 8)
    }

    @Test(
        "messageLength rejects bad headers",
        arguments: [
            ([], ConvertErrorCode.malformedMessage),
            ([0x01, 0x01, 0x00], .malformedMessage),
            ([0x01, 0x00, 0x22, 0x63], .malformedMessage),
            ([0x02, 0x01, 0x00, 0x00], .unsupportedVersion),
            ([0x00, 0x00, 0x00, 0x00], .unsupportedVersion),
            ([0x01, 0x01, 0x00, 0x00], .unsupportedVersion),  // magic 0, as drafts before RFC 8803 sent
            ([0x01, 0x06, 0xFF, 0xFF], .unsupportedVersion),  // any magic but 0x2263
        ] as [([UInt8], ConvertErrorCode)]
    )
    func rejects(header: [UInt8], code: ConvertErrorCode) {
        #expect {
            try ConvertFraming.messageLength(fixedHeader: header)
        } throws: { error in
            (error as? ConvertProtocolError)?.code == code
        }
    }
}

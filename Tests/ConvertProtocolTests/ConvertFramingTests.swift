import ConvertProtocol
import Testing

@Suite("ConvertFraming")
struct ConvertFramingTests {
    @Test("messageLength reads the Total Length in words")
    func lengths() throws {
        #expect(ConvertFraming.fixedHeaderLength == 4)
        #expect(try ConvertFraming.messageLength(fixedHeader: [0x01, 0x01, 0x00, 0x00]) == 4)
        #expect(try ConvertFraming.messageLength(fixedHeader: [0x01, 0x06, 0xFF, 0xFF]) == 24)
        #expect(try ConvertFraming.messageLength(fixedHeader: [0x01, 0xFF, 0x00, 0x00]) == 1020)
        // Bytes after the fixed header are not looked at.
        #expect(try ConvertFraming.messageLength(fixedHeader: [0x01, 0x02, 0x00, 0x00, 0x16]) == 8)
    }

    @Test(
        "messageLength rejects bad headers",
        arguments: [
            ([], ConvertErrorCode.malformedMessage),
            ([0x01, 0x01, 0x00], .malformedMessage),
            ([0x01, 0x00, 0x00, 0x00], .malformedMessage),
            ([0x02, 0x01, 0x00, 0x00], .unsupportedVersion),
            ([0x00, 0x00, 0x00, 0x00], .unsupportedVersion),
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

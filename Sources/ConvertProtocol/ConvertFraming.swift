/// The Convert fixed header (RFC 8803 section 4.1) and how long a message is.
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +---------------+---------------+-------------------------------+
/// |  Version = 1  | Total Length  |    Magic Number = 0x2263      |
/// +---------------+---------------+-------------------------------+
/// ```
/// Total Length counts 32-bit words including the fixed header. The Magic Number is always 0x2263 (8803,
/// the RFC's number); a header without it is not a Convert message. Drafts before RFC 8803 sent zero
/// there, so a peer that still does is refused as speaking an unsupported version. A relay reads ``fixedHeaderLength`` bytes, asks ``messageLength(fixedHeader:)`` how many
/// bytes the whole message has, reads the rest, and hands exactly those bytes to
/// ``ConvertMessage/parse(_:)``.
public enum ConvertFraming {
    /// The protocol version this codec speaks and sends (RFC 8803 section 4.1).
    public static let version: UInt8 = 1
    /// The Magic Number every fixed header carries in its last 16 bits, in network byte order: `22 63`.
    public static let magicNumber: UInt16 = 0x2263
    /// Bytes in the fixed header.
    public static let fixedHeaderLength = 4
    /// The longest message the 8-bit Total Length can express: 255 words, 1020 bytes.
    public static let maximumMessageLength = 255 * 4

    /// The length in bytes of the whole message that starts with `fixedHeader`, header included.
    ///
    /// Reads the first four bytes; more may follow and are ignored.
    /// - Throws: ``ConvertErrorCode/malformedMessage`` when fewer than four bytes are given, or Total
    ///   Length is 0 (kind ``ConvertProtocolError/Kind/zeroLength``: the receiver resets instead of
    ///   answering); ``ConvertErrorCode/unsupportedVersion`` when the version is not 1 (kind
    ///   ``ConvertProtocolError/Kind/unsupportedVersion(_:)``) or the Magic Number is not 0x2263 (kind
    ///   ``ConvertProtocolError/Kind/badMagic(_:)``).
    public static func messageLength(fixedHeader: some Collection<UInt8>) throws(ConvertProtocolError) -> Int {
        var bytes = fixedHeader.makeIterator()
        guard let version = bytes.next(), let words = bytes.next(), let magicHigh = bytes.next(),
            let magicLow = bytes.next()
        else {
            throw .malformed("truncated fixed header: \(fixedHeader.count) of \(fixedHeaderLength) bytes")
        }
        guard version == Self.version else {
            throw ConvertProtocolError(
                code: .unsupportedVersion,
                reason: "version \(version), expected \(Self.version)",
                kind: .unsupportedVersion(version)
            )
        }
        let magic = UInt16(magicHigh) << 8 | UInt16(magicLow)
        guard magic == Self.magicNumber else {
            let hex = String(magic, radix: 16)
            let padded = String(repeating: "0", count: 4 - hex.count) + hex
            throw ConvertProtocolError(
                code: .unsupportedVersion,
                reason: "magic number 0x\(padded), expected 0x2263: not a Convert message",
                kind: .badMagic(magic)
            )
        }
        guard words >= 1 else {
            throw ConvertProtocolError(
                code: .malformedMessage,
                reason: "total length 0 words is shorter than the fixed header",
                kind: .zeroLength
            )
        }
        return Int(words) * 4
    }
}

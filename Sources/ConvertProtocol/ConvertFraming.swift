/// The Convert fixed header (RFC 8803 section 4.1) and how long a message is.
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +---------------+---------------+-------------------------------+
/// |  Version = 1  | Total Length  |          Unassigned           |
/// +---------------+---------------+-------------------------------+
/// ```
/// Total Length counts 32-bit words including the fixed header; Unassigned is sent as zero and ignored
/// on receipt. A relay reads ``fixedHeaderLength`` bytes, asks ``messageLength(fixedHeader:)`` how many
/// bytes the whole message has, reads the rest, and hands exactly those bytes to
/// ``ConvertMessage/parse(_:)``.
public enum ConvertFraming {
    /// The protocol version this codec speaks and sends (RFC 8803 section 4.1).
    public static let version: UInt8 = 1
    /// Bytes in the fixed header.
    public static let fixedHeaderLength = 4
    /// The longest message the 8-bit Total Length can express: 255 words, 1020 bytes.
    public static let maximumMessageLength = 255 * 4

    /// The length in bytes of the whole message that starts with `fixedHeader`, header included.
    ///
    /// Reads the first four bytes; more may follow and are ignored.
    /// - Throws: ``ConvertErrorCode/malformedMessage`` when fewer than four bytes are given or Total
    ///   Length is 0; ``ConvertErrorCode/unsupportedVersion`` when the version is not 1.
    public static func messageLength(fixedHeader: some Collection<UInt8>) throws(ConvertProtocolError) -> Int {
        var bytes = fixedHeader.makeIterator()
        guard let version = bytes.next(), let words = bytes.next(), bytes.next() != nil, bytes.next() != nil else {
            throw .malformed("truncated fixed header: \(fixedHeader.count) of \(fixedHeaderLength) bytes")
        }
        guard version == Self.version else {
            throw ConvertProtocolError(
                code: .unsupportedVersion,
                reason: "version \(version), expected \(Self.version)"
            )
        }
        guard words >= 1 else {
            throw .malformed("total length 0 words is shorter than the fixed header")
        }
        return Int(words) * 4
    }
}

/// A whole Convert message: the fixed header and its TLVs (RFC 8803 section 4).
///
/// The client sends one at the start of its SYN payload, and the converter answers with one at the
/// start of the SYN+ACK's byte stream; application data follows each message directly.
public struct ConvertMessage: Hashable, Sendable {
    /// The TLVs in wire order.
    public var tlvs: [ConvertTLV]

    /// Creates a message; a message without TLVs is a bare fixed header.
    public init(tlvs: [ConvertTLV] = []) {
        self.tlvs = tlvs
    }

    /// The type of the first TLV that appears a second time, or nil. RFC 8803 section 4.2.1: a TLV appears
    /// at most once on a connection; a client that receives a repeat resets the connection.
    public var repeatedTLVType: UInt8? {
        // A message holds a few TLVs (at most 255): comparing with the earlier ones allocates nothing.
        for (index, tlv) in tlvs.enumerated() where tlvs[..<index].contains(where: { $0.type == tlv.type }) {
            return tlv.type
        }
        return nil
    }

    /// The encoded length in bytes, fixed header and padding included. A message can only be sent when
    /// this is at most ``ConvertFraming/maximumMessageLength`` (1020); see ``validate()``.
    public var encodedLength: Int {
        tlvs.reduce(ConvertFraming.fixedHeaderLength) { $0 + $1.encodedLength }
    }

    /// Checks that the message fits the 8-bit Total Length (255 words, 1020 bytes) and so can be encoded.
    ///
    /// Every message ``parse(_:)`` returns passes. Call it before ``encoded()`` when TLV values come from
    /// outside the program (configuration, a peer).
    /// - Throws: ``ConvertErrorCode/malformedMessage`` naming the length.
    public func validate() throws(ConvertProtocolError) {
        let length = encodedLength
        guard length <= ConvertFraming.maximumMessageLength else {
            throw .malformed("message of \(length) bytes exceeds \(ConvertFraming.maximumMessageLength)")
        }
    }

    /// The wire bytes: fixed header (version 1, Total Length, Magic Number 0x2263) and the TLVs in order,
    /// each zero-padded to whole 32-bit words.
    /// - Precondition: the message is valid (``validate()`` does not throw); an oversized message is a
    ///   programming error and traps rather than being truncated into a different message.
    public func encoded() -> [UInt8] {
        let length = encodedLength
        precondition(
            length <= ConvertFraming.maximumMessageLength,
            "Convert message of \(length) bytes exceeds \(ConvertFraming.maximumMessageLength); call validate() first"
        )
        var bytes: [UInt8] = []
        bytes.reserveCapacity(length)
        bytes.append(ConvertFraming.version)
        bytes.append(UInt8(length / 4))
        bytes.append(UInt8(truncatingIfNeeded: ConvertFraming.magicNumber >> 8))
        bytes.append(UInt8(truncatingIfNeeded: ConvertFraming.magicNumber))
        for tlv in tlvs {
            tlv.encode(into: &bytes)
        }
        return bytes
    }

    /// Parses exactly one whole message: the Total Length in its fixed header must equal `bytes.count`.
    ///
    /// Never traps on any input. TLVs of unknown types come back as ``ConvertTLV/unknown(type:value:)``;
    /// whether they are acceptable is for ``ConvertRequest`` and the caller to decide.
    /// - Throws: ``ConvertErrorCode/unsupportedVersion`` for a version other than 1 or a Magic Number other
    ///   than 0x2263 (``ConvertProtocolError/kind`` tells which), otherwise
    ///   ``ConvertErrorCode/malformedMessage``: truncated fixed header, Total Length 0 or different from
    ///   `bytes.count`, a TLV of length 0 or running past the end, a Connect TLV shorter than 20 bytes,
    ///   an Error TLV with a code outside the registry.
    public static func parse(_ bytes: some Collection<UInt8>) throws(ConvertProtocolError) -> ConvertMessage {
        let length = try ConvertFraming.messageLength(fixedHeader: bytes)
        let count = bytes.count
        guard length == count else {
            throw .malformed("total length says \(length) bytes but \(count) were given")
        }
        let bytes = Array(bytes)
        var tlvs: [ConvertTLV] = []
        var offset = ConvertFraming.fixedHeaderLength
        while offset < bytes.count {
            // Lengths are whole words, so at least four bytes remain here.
            let words = Int(bytes[offset + 1])
            guard words > 0 else {
                throw .malformed("TLV type \(bytes[offset]) at offset \(offset) has length 0")
            }
            let end = offset + words * 4
            guard end <= bytes.count else {
                throw .malformed(
                    "TLV type \(bytes[offset]) at offset \(offset) runs \(end - bytes.count) bytes past the end"
                )
            }
            tlvs.append(try ConvertTLV.decode(bytes[offset..<end]))
            offset = end
        }
        return ConvertMessage(tlvs: tlvs)
    }
}

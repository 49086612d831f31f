/// Why a Convert message was rejected, and which Error TLV the peer should get for it.
public struct ConvertProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Which check a message failed, for callers that must tell apart failures sharing one answer code.
    public enum Kind: Hashable, Sendable {
        /// The Magic Number is not 0x2263 (RFC 8803 section 4.1): the bytes are not a Convert message at all,
        /// for example a peer that follows a draft before the Magic Number, or another protocol.
        case badMagic(UInt16)
        /// The fixed header names a version this codec does not speak.
        case unsupportedVersion(UInt8)
        /// Total Length is 0 (RFC 8803 section 4.1): the receiver resets the connection and sends no Error TLV.
        case zeroLength
        /// Any other violation: lengths, TLV contents, a request the converter does not serve.
        case invalidMessage
    }

    /// The error code to send back in an Error TLV.
    public var code: ConvertErrorCode
    /// What was wrong, for logs; never sent on the wire.
    public var reason: String
    /// Which check failed; ``Kind/invalidMessage`` unless the fixed header itself was refused.
    public var kind: Kind
    /// The Error TLV's Value for the answer (RFC 8803 section 4.2.7): for Unsupported TCP Option, the kinds
    /// of the options refused; empty for most codes.
    public var value: [UInt8]

    /// Creates an error with the code to answer, a reason for the log and the answer's Error TLV Value.
    public init(code: ConvertErrorCode, reason: String, kind: Kind = .invalidMessage, value: [UInt8] = []) {
        self.code = code
        self.reason = reason
        self.kind = kind
        self.value = value
    }

    /// `malformed_message: TLV at offset 4 has length 0`.
    public var description: String {
        "\(code): \(reason)"
    }

    static func malformed(_ reason: String) -> ConvertProtocolError {
        ConvertProtocolError(code: .malformedMessage, reason: reason)
    }
}

/// Why a Convert message was rejected, and which Error TLV the peer should get for it.
public struct ConvertProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The error code to send back in an Error TLV.
    public var code: ConvertErrorCode
    /// What was wrong, for logs; never sent on the wire.
    public var reason: String

    /// Creates an error with the code to answer and a reason for the log.
    public init(code: ConvertErrorCode, reason: String) {
        self.code = code
        self.reason = reason
    }

    /// `malformed_message: TLV at offset 4 has length 0`.
    public var description: String {
        "\(code): \(reason)"
    }

    static func malformed(_ reason: String) -> ConvertProtocolError {
        ConvertProtocolError(code: .malformedMessage, reason: reason)
    }
}

/// What the converter answers: success, or the error code of the first Error TLV.
///
/// Success is a message without Error TLVs, usually a bare fixed header; failure is a message with an
/// Error TLV (RFC 8803 section 4.2.7), after which the converter closes the connection.
public struct ConvertResponse: Hashable, Sendable {
    /// Why the converter refused, or nil on success.
    public var error: ConvertErrorCode?
    /// The Error TLV's Value (RFC 8803 section 4.2.7) as sent or received, padding included: the refused
    /// option kinds for Unsupported TCP Option, the retry delay for Resource Exceeded and Network Failure.
    /// When sending, an Unsupported Version without one lists the versions this side speaks.
    public var errorValue: [UInt8]
    /// The TCP option kinds of a Supported TCP Extensions TLV (RFC 8803: the converter's answer to an Info
    /// TLV), one byte each, as sent or received (padding included); nil when the answer has none.
    public var supportedTCPExtensions: [UInt8]?

    /// Creates a response; nil means success.
    public init(error: ConvertErrorCode?, errorValue: [UInt8] = [], supportedTCPExtensions: [UInt8]? = nil) {
        self.error = error
        self.errorValue = errorValue
        self.supportedTCPExtensions = supportedTCPExtensions
    }

    /// Success: a bare fixed header.
    public static let success = ConvertResponse(error: nil)

    /// Failure with `code`: a fixed header and one Error TLV; see ``message`` for its value.
    public static func failure(_ code: ConvertErrorCode, value: [UInt8] = []) -> ConvertResponse {
        ConvertResponse(error: code, errorValue: value)
    }

    /// Reads a response out of a parsed message, as the client does: the first Error TLV decides;
    /// without one the response is a success whatever other TLVs it carries.
    public init(message: ConvertMessage) {
        var error: ConvertErrorCode?
        var value: [UInt8] = []
        var extensions: [UInt8]?
        for tlv in message.tlvs {
            switch tlv {
            case .error(let code, let bytes) where error == nil:
                error = code
                value = bytes
            case .supportedTCPExtensions(let kinds) where extensions == nil:
                extensions = kinds
            default:
                continue
            }
        }
        self.init(error: error, errorValue: value, supportedTCPExtensions: extensions)
    }

    /// How long the client should wait before it asks this converter for another connection: Resource
    /// Exceeded (64) and Network Failure (65) may suggest a delay in seconds in the Value's first byte, and
    /// a Value of 0 (or none) means at least ``defaultRetryDelaySeconds`` (RFC 8803 section 6.2.8 of
    /// draft-19: the client SHOULD wait that long). Nil for every other answer.
    public var retryDelaySeconds: Int? {
        guard error == .resourceExceeded || error == .networkFailure else { return nil }
        let suggested = Int(errorValue.first ?? 0)
        return suggested == 0 ? Self.defaultRetryDelaySeconds : suggested
    }

    /// The delay a Value of zero stands for: "at least 30 seconds".
    public static let defaultRetryDelaySeconds = 30

    /// The message this response is sent as.
    ///
    /// The Error TLV's value is ``errorValue`` (empty, sent as one zero byte of padding, for most codes);
    /// an Unsupported Version without one lists the versions this side speaks, one byte each (RFC 8803,
    /// Error TLV): here `01`.
    public var message: ConvertMessage {
        var tlvs: [ConvertTLV] = []
        if let error {
            let value: [UInt8] =
                error == .unsupportedVersion && errorValue.isEmpty ? [ConvertFraming.version] : errorValue
            tlvs.append(.error(error, value: value))
        }
        if let supportedTCPExtensions { tlvs.append(.supportedTCPExtensions(supportedTCPExtensions)) }
        return ConvertMessage(tlvs: tlvs)
    }

    /// The wire bytes of ``message``: `01 01 22 63` on success, `01 02 22 63 1e 01 <code> 00` on failure
    /// (`01 02 22 63 1e 01 00 01` for Unsupported Version).
    public func encoded() -> [UInt8] {
        message.encoded()
    }
}

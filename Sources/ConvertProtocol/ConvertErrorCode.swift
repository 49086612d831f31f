/// The error codes an Error TLV carries (RFC 8803 section 4.2.7, IANA "Convert Errors" registry).
///
/// The registry groups codes by who is at fault: 0-31 message validation and processing, 32-63 the
/// client, 64-95 the Transport Converter, 96-127 the destination server.
public enum ConvertErrorCode: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Unsupported Version (0): the fixed header names a version the converter does not speak.
    case unsupportedVersion = 0
    /// Malformed Message (1): the message could not be parsed, or a required TLV is missing or repeated.
    case malformedMessage = 1
    /// Unsupported Message (2): the message is well formed but carries a TLV the converter does not support.
    case unsupportedMessage = 2
    /// Missing Cookie (3): the converter requires a Cookie TLV and the message had none.
    case missingCookie = 3
    /// Not Authorized (32): the client may not use this converter (or reach this destination).
    case notAuthorized = 32
    /// Unsupported TCP Option (33): the Connect TLV asks for a TCP option the converter cannot use.
    case unsupportedTCPOption = 33
    /// Resource Exceeded (64): the converter lacks the resources (connections, memory) to serve the request.
    case resourceExceeded = 64
    /// Network Failure (65): the converter has a network problem of its own.
    case networkFailure = 65
    /// Connection Reset (96): the destination reset the converter's connection attempt.
    case connectionReset = 96
    /// Destination Unreachable (97): the converter could not reach the destination (e.g. an ICMP error
    /// or a timeout).
    case destinationUnreachable = 97

    /// Short snake_case words for log fields and metric labels, e.g. `destination_unreachable`.
    public var description: String {
        switch self {
        case .unsupportedVersion: "unsupported_version"
        case .malformedMessage: "malformed_message"
        case .unsupportedMessage: "unsupported_message"
        case .missingCookie: "missing_cookie"
        case .notAuthorized: "not_authorized"
        case .unsupportedTCPOption: "unsupported_tcp_option"
        case .resourceExceeded: "resource_exceeded"
        case .networkFailure: "network_failure"
        case .connectionReset: "connection_reset"
        case .destinationUnreachable: "destination_unreachable"
        }
    }
}

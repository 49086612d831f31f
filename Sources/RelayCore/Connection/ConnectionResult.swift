public import ClientAuthentication
public import ConvertProtocol

/// How a relayed connection ended, as logged on close (and, later, counted by result).
public enum ConnectionResult: Sendable, Hashable, CustomStringConvertible {
    /// Both directions ended with EOF and every byte was delivered.
    case completed
    /// The accepting-side peer reset the connection, or an I/O error occurred on its socket.
    case downstreamReset(errno: Int32)
    /// The dialed-side peer reset the connection, or an I/O error occurred on its socket.
    case upstreamReset(errno: Int32)
    /// The outbound connect failed.
    case connectFailed(errno: Int32)
    /// The outbound connect did not finish within `connectTimeout`.
    case connectTimeout
    /// The peer's Convert header did not arrive within `headerTimeout`.
    case headerTimeout
    /// The client's Convert request was malformed or unsupported (converter side).
    case badRequest(ConvertErrorCode)
    /// The requested destination is refused by policy (converter side).
    case destinationRefused(DestinationRefusal)
    /// The client's cookie was missing, wrong, stale or replayed, or the client is over a limit (converter
    /// side, before any connect).
    case unauthorized(AuthenticationFailure)
    /// The converter answered with an Error TLV (forward side).
    case converterError(ConvertErrorCode)
    /// The converter's answer could not be parsed (forward side).
    case badResponse
    /// A transparent connection whose original destination is this host itself: relaying it would loop.
    case loopRefused
    /// Every path the connection's subflow policy allows is down (or none was up when it started).
    case noPath
    /// No bytes either way for `idleTimeout`.
    case idleTimeout
    /// The worker had no free slot or could not make a socket or pipe.
    case resourceExhausted(errno: Int32)
    /// The relay is stopping.
    case shutdown
    /// Refused without asking (forward side): the converter answered Resource Exceeded or Network Failure
    /// with a retry delay that has not passed yet.
    case converterBackoff

    /// A short, stable label for logs and metrics.
    public var label: String {
        switch self {
        case .completed: "completed"
        case .downstreamReset: "downstream_reset"
        case .upstreamReset: "upstream_reset"
        case .connectFailed: "connect_failed"
        case .connectTimeout: "connect_timeout"
        case .headerTimeout: "header_timeout"
        case .badRequest: "bad_request"
        case .destinationRefused: "destination_refused"
        case .unauthorized: "unauthorized"
        case .converterError: "converter_error"
        case .badResponse: "bad_response"
        case .loopRefused: "loop_refused"
        case .noPath: "no_path"
        case .idleTimeout: "idle_timeout"
        case .resourceExhausted: "resource_exhausted"
        case .shutdown: "shutdown"
        case .converterBackoff: "converter_backoff"
        }
    }

    public var description: String {
        switch self {
        case .downstreamReset(let code), .upstreamReset(let code), .connectFailed(let code),
            .resourceExhausted(let code):
            code == 0 ? label : "\(label) (\(SystemCallError.text(code)))"
        case .badRequest(let code), .converterError(let code):
            "\(label) (\(code))"
        case .destinationRefused(let refusal):
            "\(label) (\(refusal.rawValue))"
        case .unauthorized(let failure):
            "\(label) (\(failure.rawValue))"
        default:
            label
        }
    }

    /// Whether the close is an error worth a warning rather than an info line.
    var isError: Bool {
        switch self {
        case .completed, .shutdown: false
        default: true
        }
    }
}

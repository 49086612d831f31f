public import ConvertProtocol

/// Why a converter refused a client's request before connecting anywhere; the raw value is the
/// `reason` label of `mptcp_relay_auth_failures_total`.
public enum AuthenticationFailure: String, Error, Sendable, CaseIterable {
    /// The request had no Cookie TLV.
    case missingCookie = "missing_cookie"
    /// The Cookie TLV was not mptcp-relay's construction.
    case malformed
    /// The cookie names a client the converter does not know.
    case unknownClient = "unknown_client"
    /// The MAC is wrong under every key of the named client (wrong key, or a changed destination).
    case badKey = "bad_key"
    /// The timestamp lies outside the accepted window around the converter's clock.
    case stale
    /// The same cookie was accepted before.
    case replayed
    /// The replay cache had no room for the cookie (more new requests inside the window than it holds).
    case replayCacheFull = "replay_cache_full"
    /// The client may not reach that destination (its own `allow` and `ports`).
    case destinationNotAllowed = "destination_not_allowed"
    /// The client is at its `max_connections`.
    case tooManyConnections = "too_many_connections"
    /// The client is over its `max_new_per_second`.
    case tooManyNew = "too_many_new"

    /// The RFC 8803 error the converter answers with. A missing cookie is Not Authorized too: Missing
    /// Cookie (3) MUST be sent "only if it computes a cookie for this client" (draft-19 section 6.2.8, with
    /// the computed cookie in its Value), and our cookies are made by the client, never by the converter.
    public var errorCode: ConvertErrorCode {
        switch self {
        case .replayCacheFull, .tooManyConnections, .tooManyNew: .resourceExceeded
        default: .notAuthorized
        }
    }

    /// The index of this reason in ``allCases`` (counter blocks are indexed by it).
    public var index: Int { Self.allCases.firstIndex(of: self)! }
}

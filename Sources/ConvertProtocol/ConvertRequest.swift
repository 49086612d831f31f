/// What a client sends the converter: where to connect, and a cookie when the converter asks for one.
///
/// On the wire this is a Convert message with one Connect TLV followed, when ``cookie`` is set, by one
/// Cookie TLV (RFC 8803 sections 4.2.4 and 4.2.6).
public struct ConvertRequest: Hashable, Sendable {
    /// The server the converter should connect to.
    public var destination: Endpoint
    /// The opaque cookie, if any.
    ///
    /// The Cookie TLV carries whole 32-bit words: a cookie whose length is not a multiple of 4 is sent
    /// zero-padded and parses back with the padding, so configure cookies in multiples of 4 bytes.
    public var cookie: [UInt8]?
    /// The request carried an Info TLV: the client asks which TCP extensions the converter supports, and
    /// the answer carries a Supported TCP Extensions TLV (RFC 8803, Info TLV).
    public var asksForExtensions = false

    /// The longest cookie that still fits one message beside the Connect TLV: 1020 - 4 (fixed header)
    /// - 20 (Connect TLV) - 4 (Cookie TLV header) = 992 bytes.
    public static let maximumCookieLength =
        ConvertFraming.maximumMessageLength - ConvertFraming.fixedHeaderLength - 20 - 4

    /// Creates a request.
    public init(destination: Endpoint, cookie: [UInt8]? = nil, asksForExtensions: Bool = false) {
        self.destination = destination
        self.cookie = cookie
        self.asksForExtensions = asksForExtensions
    }

    /// Whether `message` is an Info query alone: one Info TLV and nothing else (no Connect TLV), which asks
    /// only for the converter's Supported TCP Extensions.
    public static func isInfoQuery(_ message: ConvertMessage) -> Bool {
        guard message.tlvs.count == 1, case .info = message.tlvs[0] else { return false }
        return true
    }

    /// Reads a request out of a parsed message, as the converter does.
    ///
    /// Accepts exactly one Connect TLV, at most one Cookie TLV and at most one Info TLV. The Connect TLV may
    /// carry only the options the converter ignores (``ignoredOptionKinds``): this converter does not place
    /// client-chosen TCP options in its SYN.
    /// - Throws: ``ConvertErrorCode/unsupportedMessage`` for any other TLV, known or not;
    ///   ``ConvertErrorCode/unsupportedTCPOption`` for a Connect TLV with other TCP options;
    ///   ``ConvertErrorCode/malformedMessage`` when the Connect TLV is missing or repeated, the Cookie or
    ///   Info TLV is repeated, or the destination has port 0 or the unspecified address.
    public init(message: ConvertMessage) throws(ConvertProtocolError) {
        var destination: Endpoint?
        var cookie: [UInt8]?
        var info = false
        for tlv in message.tlvs {
            switch tlv {
            case .connect(let endpoint, let tcpOptions):
                guard destination == nil else { throw .malformed("more than one Connect TLV") }
                guard endpoint.port != 0 else { throw .malformed("Connect TLV to port 0") }
                guard !endpoint.address.isUnspecified else {
                    throw .malformed("Connect TLV to the unspecified address \(endpoint.address)")
                }
                let refused = Self.optionKinds(tcpOptions)
                if let kind = refused.first {
                    // The Error TLV's Value lists the refused kinds (RFC 8803 section 4.2.7).
                    throw ConvertProtocolError(
                        code: .unsupportedTCPOption,
                        reason: "Connect TLV asks for TCP option kind \(kind)",
                        value: refused
                    )
                }
                destination = endpoint
            case .cookie(let bytes):
                guard cookie == nil else { throw .malformed("more than one Cookie TLV") }
                cookie = bytes
            case .info:
                guard !info else { throw .malformed("more than one Info TLV") }
                info = true
            case .supportedTCPExtensions, .extendedTCPHeader, .error, .unknown:
                throw ConvertProtocolError(
                    code: .unsupportedMessage,
                    reason: "TLV type \(tlv.type) is not supported in a request"
                )
            }
        }
        guard let destination else { throw .malformed("no Connect TLV") }
        self.init(destination: destination, cookie: cookie, asksForExtensions: info)
    }

    /// The message this request is sent as.
    public var message: ConvertMessage {
        var tlvs: [ConvertTLV] = [.connect(destination, tcpOptions: [])]
        if let cookie { tlvs.append(.cookie(cookie)) }
        if asksForExtensions { tlvs.append(.info([])) }
        return ConvertMessage(tlvs: tlvs)
    }

    /// The wire bytes of ``message``.
    /// - Precondition: `cookie` is at most ``maximumCookieLength`` bytes.
    public func encoded() -> [UInt8] {
        message.encoded()
    }

    /// Whether `destination` is no destination a converter may connect to (RFC 8803 section 6.2.5: loopback,
    /// multicast and broadcast addresses are answered Malformed Message). IPv4-mapped addresses arrive here as
    /// IPv4 (``IPAddress/init(bytes16:)``).
    public static func isMalformedDestination(_ destination: Endpoint) -> Bool {
        let address = destination.address
        return address.isLoopback || address.isMulticast || address.isLimitedBroadcast
    }

    /// Option kinds a Connect TLV may carry that the converter ignores (RFC 8803 section 6.2.5): End of
    /// Option List, No-Operation, and the options that describe one TCP connection and that the converter's
    /// own SYN sets for itself: Maximum Segment Size (2), Window Scale (3) and SACK (5).
    static let ignoredOptionKinds: Set<UInt8> = [0, 1, 2, 3, 5]

    /// The kinds of the TCP options that are not ignored (``ignoredOptionKinds``) before End of Option
    /// List, each once, in order (options other than 0 and 1 are kind, length, data; a length that does not
    /// fit ends the list).
    static func optionKinds(_ options: [UInt8]) -> [UInt8] {
        var kinds: [UInt8] = []
        var index = 0
        while index < options.count {
            let kind = options[index]
            if kind == 0 { break }
            if kind == 1 {
                index += 1
                continue
            }
            if !Self.ignoredOptionKinds.contains(kind) && !kinds.contains(kind) { kinds.append(kind) }
            guard index + 1 < options.count, options[index + 1] >= 2 else { break }
            index += Int(options[index + 1])
        }
        return kinds
    }
}

/// One TLV of a Convert message (RFC 8803 section 4.2).
///
/// On the wire every TLV is `Type (8 bits) | Length (8 bits, in 32-bit words, including Type and Length)
/// | Value`, so each TLV fills whole words: encoding pads the variable part with zero bytes, and parsing
/// returns that padding as part of the variable bytes. Values whose length leaves no padding round trip
/// exactly. Unassigned fields are sent as zero and ignored on receipt, so they have no place here.
public enum ConvertTLV: Hashable, Sendable {
    /// Connect TLV, type 10 (RFC 8803 section 4.2.4): where the converter should connect.
    ///
    /// `Type | Length | Remote Peer Port (16) | Remote Peer IP Address (128) | TCP Options`: at least five
    /// words; an IPv4 destination travels as IPv4-mapped IPv6 (`::ffff:a.b.c.d`). `tcpOptions` are TCP
    /// options the client asks the converter to put in its SYN to the destination.
    case connect(Endpoint, tcpOptions: [UInt8])
    /// Cookie TLV, type 22 (RFC 8803 section 4.2.6): `Type | Length | Zero (16) | Opaque Cookie`.
    case cookie([UInt8])
    /// Error TLV, type 30 (RFC 8803 section 4.2.7): `Type | Length | Error Code (8) | Value`.
    case error(ConvertErrorCode, value: [UInt8])
    /// Info TLV, type 1 (RFC 8803 section 4.2.2): `Type | Length | Unassigned (16)`; the client asks for
    /// the converter's Supported TCP Extensions. Any bytes after the Unassigned field are carried here.
    case info([UInt8])
    /// Supported TCP Extensions TLV, type 21 (RFC 8803 section 4.2.3): `Type | Length | Unassigned (16) |
    /// Supported TCP Extension kinds`, one TCP option kind per byte.
    case supportedTCPExtensions([UInt8])
    /// Extended TCP Header TLV, type 20 (RFC 8803 section 4.2.5): `Type | Length | Unassigned (16) |
    /// Returned Extended TCP header`, the TCP header (with options) the destination sent the converter.
    case extendedTCPHeader([UInt8])
    /// A TLV of a type this codec does not know; `value` is everything after Type and Length.
    ///
    /// Use it only with unassigned or private-use types (192-255): an assigned type number encodes
    /// but parses back as that TLV.
    case unknown(type: UInt8, value: [UInt8])

    /// The Type byte this TLV is sent with (IANA "Convert TLVs" registry).
    public var type: UInt8 {
        switch self {
        case .info: Self.infoType
        case .connect: Self.connectType
        case .extendedTCPHeader: Self.extendedTCPHeaderType
        case .supportedTCPExtensions: Self.supportedTCPExtensionsType
        case .cookie: Self.cookieType
        case .error: Self.errorType
        case .unknown(let type, _): type
        }
    }

    static let infoType: UInt8 = 1
    static let connectType: UInt8 = 10
    static let extendedTCPHeaderType: UInt8 = 20
    static let supportedTCPExtensionsType: UInt8 = 21
    static let cookieType: UInt8 = 22
    static let errorType: UInt8 = 30
}

public import ConvertProtocol
import Crypto

/// The Cookie TLV value with which an mptcp-relay client proves who it is (docs/PROTOCOL.md,
/// "Client authentication").
///
/// ```
/// 0        version (1)
/// 1        client name length N (1-64)
/// 2-9      timestamp: seconds since 1970, big-endian
/// 10-25    nonce: 16 random bytes
/// 26..     client name (N bytes of UTF-8)
/// 26+N..   HMAC-SHA256 (32 bytes) under the client's key over
///          "mptcp-relay cookie" | bytes 0 to 25+N | the Connect TLV (type 10, length 5, port, address)
/// then zero bytes up to a whole number of 32-bit words (the TLV carries words)
/// ```
///
/// The MAC binds the cookie to the one destination it was made for; the timestamp and the nonce let the
/// converter refuse stale and replayed requests.
public struct ConvertCookie: Sendable, Hashable {
    /// The construction's version (byte 0).
    public static let version: UInt8 = 1
    /// The nonce's length in bytes.
    public static let nonceLength = 16
    /// The MAC's length in bytes.
    public static let macLength = 32
    /// The longest client name, in UTF-8 bytes.
    public static let maximumNameLength = 64
    /// What the MAC covers first, so that it can never be taken for a MAC of anything else.
    static let label = Array("mptcp-relay cookie".utf8)

    /// The client's name, as configured on both sides.
    public var clientName: String
    /// When the cookie was made: seconds since 1970.
    public var timestamp: UInt64
    /// 16 random bytes, unique per request.
    public var nonce: [UInt8]
    /// HMAC-SHA256 under the client's key (see the type's description).
    public var mac: [UInt8]

    /// A cookie for a request to `destination`, signed with `key`.
    /// - Precondition: `clientName` is 1 to 64 UTF-8 bytes and `nonce` is 16 bytes.
    public init(
        clientName: String,
        key: ClientKey,
        destination: Endpoint,
        timestamp: UInt64,
        nonce: [UInt8]
    ) {
        precondition((1...Self.maximumNameLength).contains(clientName.utf8.count), "client name of 1-64 bytes")
        precondition(nonce.count == Self.nonceLength, "16-byte nonce")
        self.clientName = clientName
        self.timestamp = timestamp
        self.nonce = nonce
        self.mac = []
        self.mac = Array(
            HMAC<SHA256>.authenticationCode(for: authenticatedBytes(destination), using: key.symmetricKey)
        )
    }

    /// A cookie for a request to `destination`, made now with a fresh random nonce.
    public static func make(clientName: String, key: ClientKey, destination: Endpoint) -> ConvertCookie {
        var generator = SystemRandomNumberGenerator()
        let nonce = (0..<nonceLength).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return ConvertCookie(
            clientName: clientName,
            key: key,
            destination: destination,
            timestamp: WallClock.secondsSince1970(),
            nonce: nonce
        )
    }

    /// Reads a cookie out of a Cookie TLV's value (after its two zero bytes, as ``ConvertTLV/cookie(_:)``
    /// carries it); nil when the bytes are not this construction.
    public init?(parsing bytes: [UInt8]) {
        let fixed = 2 + 8 + Self.nonceLength
        guard bytes.count >= fixed + 1 + Self.macLength, bytes[0] == Self.version else { return nil }
        let nameLength = Int(bytes[1])
        let end = fixed + nameLength + Self.macLength
        guard (1...Self.maximumNameLength).contains(nameLength), bytes.count >= end, bytes.count - end < 4,
            bytes[end...].allSatisfy({ $0 == 0 })
        else { return nil }
        var timestamp: UInt64 = 0
        for byte in bytes[2..<10] { timestamp = timestamp << 8 | UInt64(byte) }
        guard let name = String(validating: bytes[fixed..<(fixed + nameLength)], as: UTF8.self) else { return nil }
        self.clientName = name
        self.timestamp = timestamp
        self.nonce = Array(bytes[10..<fixed])
        self.mac = Array(bytes[(fixed + nameLength)..<end])
    }

    /// The bytes that go into the Cookie TLV, zero-padded to whole words.
    public func encoded() -> [UInt8] {
        var bytes = header()
        bytes += mac
        while bytes.count % 4 != 0 { bytes.append(0) }
        return bytes
    }

    /// Whether the MAC is right for `destination` under `key`, compared in constant time.
    public func isValid(for destination: Endpoint, key: ClientKey) -> Bool {
        HMAC<SHA256>.isValidAuthenticationCode(
            mac,
            authenticating: authenticatedBytes(destination),
            using: key.symmetricKey
        )
    }

    /// Version, name length, timestamp, nonce and name: everything before the MAC.
    func header() -> [UInt8] {
        var bytes: [UInt8] = [Self.version, UInt8(clientName.utf8.count)]
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: timestamp >> UInt64(shift)))
        }
        bytes += nonce
        bytes += Array(clientName.utf8)
        return bytes
    }

    /// What the MAC covers: the label, the header and the Connect TLV for `destination` without TCP options.
    func authenticatedBytes(_ destination: Endpoint) -> [UInt8] {
        let connect: [UInt8] = [
            10, 5, UInt8(truncatingIfNeeded: destination.port >> 8), UInt8(truncatingIfNeeded: destination.port),
        ]
        return Self.label + header() + connect + destination.address.bytes16
    }
}

public import ConvertProtocol

/// Where a converter may connect: the configured allow list, minus the special ranges no catch-all may
/// open, so that it never becomes an open relay into itself, its LAN or its cloud's metadata service.
///
/// The rule, in order (docs/PROTOCOL.md, "No open relay"):
/// 1. Port 0, unspecified (`0.0.0.0/8`, `::`), multicast (`224.0.0.0/4`, `ff00::/8`) and the limited
///    broadcast `255.255.255.255` are always refused (`invalid`): no TCP connection goes there.
/// 2. The converter's own addresses are always refused (`own_address`), except loopback ones, which
///    rule 3 governs.
/// 3. A destination inside a special range (``specialRanges``) is allowed only by an `allow` entry that
///    contains it and lies entirely within that range (equal or narrower). A broader entry, such as
///    `0.0.0.0/0`, `::/0` or `10.0.0.0/7`, does not count. Where special ranges nest (the metadata
///    address inside link-local), the innermost one applies: `169.254.0.0/16` does not open
///    `169.254.169.254`. Refused as `special` or `private`.
/// 4. Anything else is allowed by any `allow` entry that contains it, or refused as `not_allowed`.
///
/// IPv4-mapped IPv6 destinations (`::ffff:a.b.c.d`) are ``IPAddress/v4(_:)`` values, so each is decided
/// by its IPv4 address.
public struct DestinationPolicy: Sendable, Hashable {
    /// Destination networks that may be reached; empty allows nothing.
    public var allow: [IPNetwork]
    /// The host's own addresses, filled in when the engine starts.
    public var ownAddresses: Set<IPAddress>

    /// A policy allowing `allow` under the special-range rule, refusing `ownAddresses`.
    public init(allow: [IPNetwork], ownAddresses: Set<IPAddress> = []) {
        self.allow = allow
        self.ownAddresses = ownAddresses
    }

    /// Why a destination is refused, or nil when it is allowed.
    public func refusal(for destination: Endpoint) -> DestinationRefusal? {
        let address = destination.address
        if destination.port == 0 || Self.unreachableRanges.contains(where: { $0.contains(address) }) {
            return .invalid
        }
        if !address.isLoopback && ownAddresses.contains(address) {
            return .ownAddress
        }
        if let special = Self.specialRanges.first(where: { $0.network.contains(address) }) {
            let named = allow.contains { $0.contains(address) && $0.lies(within: special.network) }
            return named ? nil : special.refusal
        }
        return allow.contains { $0.contains(address) } ? nil : .notAllowed
    }

    /// Ranges no TCP connection can go to, refused whatever `allow` says.
    public static let unreachableRanges: [IPNetwork] = [
        "0.0.0.0/8", "224.0.0.0/4", "255.255.255.255/32", "::/128", "ff00::/8",
    ].map { IPNetwork($0)! }

    /// Ranges that only an `allow` entry within them opens, innermost first (a nested range comes
    /// before the range holding it, so that the first match is the one that applies).
    public static let specialRanges: [(network: IPNetwork, refusal: DestinationRefusal)] = specialRangeTable.map {
        (IPNetwork($0.0)!, $0.1)
    }

    /// ``specialRanges`` as text.
    private static let specialRangeTable: [(String, DestinationRefusal)] = [
        ("169.254.169.254/32", .special),  // cloud metadata (AWS, GCP, Azure IMDS, OpenStack)
        ("fd00:ec2::254/128", .special),  // AWS metadata over IPv6
        ("127.0.0.0/8", .special),  // loopback
        ("::1/128", .special),
        ("169.254.0.0/16", .special),  // link-local
        ("fe80::/10", .special),
        ("10.0.0.0/8", .privateNetwork),  // RFC 1918
        ("172.16.0.0/12", .privateNetwork),
        ("192.168.0.0/16", .privateNetwork),
        ("100.64.0.0/10", .privateNetwork),  // CGNAT, RFC 6598
        ("fc00::/7", .privateNetwork),  // unique local, RFC 4193
    ]
}

extension IPNetwork {
    /// Whether every address of this network lies in `other` (equal or narrower, same family).
    func lies(within other: IPNetwork) -> Bool {
        prefixLength >= other.prefixLength && other.contains(address)
    }
}

/// The reason a converter refuses a destination.
public enum DestinationRefusal: String, Sendable, Hashable, CaseIterable {
    /// Outside every `allow` network.
    case notAllowed = "not_allowed"
    /// Loopback, link-local or cloud metadata, and no `allow` entry within that range covers it.
    case special
    /// RFC 1918, CGNAT or IPv6 unique local, and no `allow` entry within that range covers it.
    case privateNetwork = "private"
    /// One of the converter's own (non-loopback) addresses: never allowed.
    case ownAddress = "own_address"
    /// Unspecified, "this network", multicast, limited broadcast or port 0: never allowed.
    case invalid
}

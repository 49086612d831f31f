public import ConvertProtocol

/// Where a converter may connect: the configured allow list, minus loopback, link-local, unspecified,
/// multicast and the converter's own addresses, so that it never becomes an open relay into itself.
public struct DestinationPolicy: Sendable, Hashable {
    /// Destination networks that may be reached; empty allows nothing.
    public var allow: [IPNetwork]
    /// Permit loopback, link-local and the host's own addresses when `allow` covers them (tests only,
    /// until a config option exists for it).
    public var allowLocalDestinations: Bool
    /// The host's own addresses, filled in when the engine starts.
    public var ownAddresses: Set<IPAddress>

    /// A policy allowing `allow`, refusing local destinations unless `allowLocalDestinations`.
    public init(allow: [IPNetwork], allowLocalDestinations: Bool = false, ownAddresses: Set<IPAddress> = []) {
        self.allow = allow
        self.allowLocalDestinations = allowLocalDestinations
        self.ownAddresses = ownAddresses
    }

    /// Why a destination is refused, or nil when it is allowed.
    public func refusal(for destination: Endpoint) -> DestinationRefusal? {
        let address = destination.address
        if address.isUnspecified || address.isMulticast || destination.port == 0 {
            return .invalid
        }
        if !allowLocalDestinations
            && (address.isLoopback || address.isLinkLocal || ownAddresses.contains(address))
        {
            return .local
        }
        if !allow.contains(where: { $0.contains(address) }) {
            return .notAllowed
        }
        return nil
    }
}

/// The reason a converter refuses a destination.
public enum DestinationRefusal: String, Sendable, Hashable {
    /// Outside every `allow` network.
    case notAllowed = "not_allowed"
    /// Loopback, link-local or one of the converter's own addresses.
    case local
    /// Unspecified, multicast or port 0.
    case invalid
}

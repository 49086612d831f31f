public import ConvertProtocol
import Synchronization

/// The converter's check of each request's cookie (docs/PROTOCOL.md, "Client authentication"), shared
/// by every worker thread: which client sent it, whether it is fresh and unreplayed, whether that
/// client may reach the destination, and whether it is within its limits.
///
/// Nothing is kept for a request before its cookie checks out; an accepted request holds one unit of
/// its client's concurrent-connection budget until ``release(_:)``.
public final class ClientAuthenticator: Sendable {
    /// The configured clients, in file order; an accepted request is identified by its index here.
    public let clients: [ClientCredentials]
    /// How far a cookie's timestamp may be from the converter's clock, either way, in seconds.
    public let windowSeconds: UInt64
    private let indexByName: [String: Int]
    private let replays: ReplayCache
    /// Per client: connections open now, and the current second's new ones (taken once per request and
    /// once per close, never per byte).
    private let usage: Mutex<[ClientUsage]>

    /// One client's consumption of its limits.
    struct ClientUsage {
        var open = 0
        var second: UInt64 = 0
        var newInSecond = 0
    }

    /// An authenticator for `clients`, accepting timestamps within `windowSeconds` of its clock and
    /// remembering up to `replayCacheCapacity` cookies.
    public convenience init(
        clients: [ClientCredentials],
        windowSeconds: UInt64 = 60,
        replayCacheCapacity: Int = 131_072
    ) {
        self.init(clients: clients, windowSeconds: windowSeconds, replays: ReplayCache(capacity: replayCacheCapacity))
    }

    /// An authenticator for `clients` that keeps this one's window and replay cache (a reload: a cookie
    /// seen before it is still refused after). Connections admitted by this one are released to it.
    public func withClients(_ clients: [ClientCredentials]) -> ClientAuthenticator {
        ClientAuthenticator(clients: clients, windowSeconds: windowSeconds, replays: replays)
    }

    private init(clients: [ClientCredentials], windowSeconds: UInt64, replays: ReplayCache) {
        self.clients = clients
        self.windowSeconds = windowSeconds
        var names: [String: Int] = [:]
        for (index, client) in clients.enumerated() { names[client.name] = index }
        indexByName = names
        self.replays = replays
        usage = Mutex(Array(repeating: ClientUsage(), count: clients.count))
    }

    /// Checks a request's cookie for `destination` at `now` (seconds since 1970): the client's index, or
    /// why it is refused. On success the client's open-connection count has been raised: call
    /// ``release(_:)`` when the connection ends.
    public func admit(
        cookie bytes: [UInt8]?,
        destination: Endpoint,
        now: UInt64 = WallClock.secondsSince1970()
    ) -> Result<Int, AuthenticationFailure> {
        guard let bytes else { return .failure(.missingCookie) }
        guard let cookie = ConvertCookie(parsing: bytes) else { return .failure(.malformed) }
        guard let index = indexByName[cookie.clientName] else { return .failure(.unknownClient) }
        let client = clients[index]
        let age = now >= cookie.timestamp ? now - cookie.timestamp : cookie.timestamp - now
        guard age <= windowSeconds else { return .failure(.stale) }
        guard client.keys.contains(where: { cookie.isValid(for: destination, key: $0) }) else {
            return .failure(.badKey)
        }
        if let allow = client.allow, !allow.contains(where: { $0.contains(destination.address) }) {
            return .failure(.destinationNotAllowed)
        }
        if let ports = client.ports, !ports.contains(destination.port) {
            return .failure(.destinationNotAllowed)
        }
        // Last among the checks of the cookie itself, so that only genuine cookies take room.
        switch replays.insert(mac: cookie.mac, expires: cookie.timestamp + windowSeconds + 1, now: now) {
        case .fresh: break
        case .replayed: return .failure(.replayed)
        case .full: return .failure(.replayCacheFull)
        }
        let admitted = usage.withLock { usage -> AuthenticationFailure? in
            if let limit = client.maxConnections, usage[index].open >= limit { return .tooManyConnections }
            if usage[index].second != now {
                usage[index].second = now
                usage[index].newInSecond = 0
            }
            if let limit = client.maxNewPerSecond, usage[index].newInSecond >= limit { return .tooManyNew }
            usage[index].newInSecond += 1
            usage[index].open += 1
            return nil
        }
        if let refusal = admitted { return .failure(refusal) }
        return .success(index)
    }

    /// Gives back the open-connection unit an admitted request of client `index` held.
    public func release(_ index: Int) {
        usage.withLock { $0[index].open -= 1 }
    }

    /// Connections of client `index` open now.
    public func openConnections(_ index: Int) -> Int {
        usage.withLock { $0[index].open }
    }
}

import ClientAuthentication
import ConvertProtocol
import Testing

@Suite("ClientAuthenticator: who may use the converter")
struct ClientAuthenticatorTests {
    let key = ClientKey.random()
    let newKey = ClientKey.random()
    let destination = Endpoint(address: IPAddress("198.19.0.2")!, port: 5201)
    let now: UInt64 = 1_800_000_000

    func cookie(
        _ name: String = "home",
        key: ClientKey? = nil,
        at timestamp: UInt64? = nil,
        to destination: Endpoint? = nil
    ) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return ConvertCookie(
            clientName: name,
            key: key ?? self.key,
            destination: destination ?? self.destination,
            timestamp: timestamp ?? now,
            nonce: (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        ).encoded()
    }

    func authenticator(_ client: ClientCredentials? = nil, replayCache: Int = 1024) -> ClientAuthenticator {
        ClientAuthenticator(
            clients: [client ?? ClientCredentials(name: "home", keys: [key])],
            windowSeconds: 60,
            replayCacheCapacity: replayCache
        )
    }

    @Test("a good cookie is admitted once; the same bytes again are a replay")
    func admitOnce() {
        let check = authenticator()
        let bytes = cookie()
        #expect(check.admit(cookie: bytes, destination: destination, now: now) == .success(0))
        #expect(check.admit(cookie: bytes, destination: destination, now: now + 1) == .failure(.replayed))
        #expect(check.openConnections(0) == 1)
        check.release(0)
        #expect(check.openConnections(0) == 0)
    }

    @Test("each refusal has its reason and its RFC 8803 error code")
    func refusals() {
        let check = authenticator()
        let expectations: [(Result<Int, AuthenticationFailure>, AuthenticationFailure, ConvertErrorCode)] = [
            (check.admit(cookie: nil, destination: destination, now: now), .missingCookie, .notAuthorized),
            (check.admit(cookie: [1, 2, 3, 4], destination: destination, now: now), .malformed, .notAuthorized),
            (
                check.admit(cookie: cookie("stranger"), destination: destination, now: now), .unknownClient,
                .notAuthorized
            ),
            (
                check.admit(cookie: cookie(key: ClientKey.random()), destination: destination, now: now), .badKey,
                .notAuthorized
            ),
            (
                check.admit(cookie: cookie(at: now - 61), destination: destination, now: now), .stale,
                .notAuthorized
            ),
            (
                check.admit(cookie: cookie(at: now + 61), destination: destination, now: now), .stale,
                .notAuthorized
            ),
            (
                check.admit(
                    cookie: cookie(),
                    destination: Endpoint(address: IPAddress("198.19.0.9")!, port: 5201),
                    now: now
                ), .badKey, .notAuthorized
            ),
        ]
        for (result, reason, code) in expectations {
            #expect(result == .failure(reason))
            #expect(reason.errorCode == code)
        }
        #expect(check.admit(cookie: cookie(at: now - 60), destination: destination, now: now) == .success(0))
        #expect(check.admit(cookie: cookie(at: now + 60), destination: destination, now: now) == .success(0))
    }

    @Test("two keys are valid during a rotation")
    func rotation() {
        let check = authenticator(ClientCredentials(name: "home", keys: [key, newKey]))
        #expect(check.admit(cookie: cookie(key: key), destination: destination, now: now) == .success(0))
        #expect(check.admit(cookie: cookie(key: newKey), destination: destination, now: now) == .success(0))
    }

    @Test("a client's own allow and ports narrow where it may go")
    func clientAllow() {
        let check = authenticator(
            ClientCredentials(name: "home", keys: [key], allow: [IPNetwork("198.19.0.0/30")!], ports: [5201])
        )
        let elsewhere = Endpoint(address: IPAddress("198.19.0.9")!, port: 5201)
        let otherPort = Endpoint(address: IPAddress("198.19.0.2")!, port: 22)
        #expect(check.admit(cookie: cookie(), destination: destination, now: now) == .success(0))
        #expect(
            check.admit(cookie: cookie(to: elsewhere), destination: elsewhere, now: now)
                == .failure(.destinationNotAllowed)
        )
        #expect(
            check.admit(cookie: cookie(to: otherPort), destination: otherPort, now: now)
                == .failure(.destinationNotAllowed)
        )
    }

    @Test("max_connections refuses beyond the limit and serves again below it")
    func connectionLimit() {
        let check = authenticator(ClientCredentials(name: "home", keys: [key], maxConnections: 2))
        #expect(check.admit(cookie: cookie(), destination: destination, now: now) == .success(0))
        #expect(check.admit(cookie: cookie(), destination: destination, now: now) == .success(0))
        #expect(check.admit(cookie: cookie(), destination: destination, now: now) == .failure(.tooManyConnections))
        #expect(AuthenticationFailure.tooManyConnections.errorCode == .resourceExceeded)
        check.release(0)
        #expect(check.admit(cookie: cookie(), destination: destination, now: now) == .success(0))
    }

    @Test("max_new_per_second counts each second afresh")
    func newPerSecond() {
        let check = authenticator(ClientCredentials(name: "home", keys: [key], maxNewPerSecond: 2))
        #expect(check.admit(cookie: cookie(), destination: destination, now: now) == .success(0))
        #expect(check.admit(cookie: cookie(), destination: destination, now: now) == .success(0))
        #expect(check.admit(cookie: cookie(), destination: destination, now: now) == .failure(.tooManyNew))
        #expect(check.admit(cookie: cookie(), destination: destination, now: now + 1) == .success(0))
    }

    @Test("a full replay cache refuses new cookies instead of forgetting live ones")
    func replayCacheFull() {
        let cache = ReplayCache(capacity: 64)
        var outcomes: [ReplayCache.Outcome] = []
        for index in 0..<200 {
            var mac = [UInt8](repeating: 0, count: 32)
            mac[0] = UInt8(index)  // high half differs, low half (the hash) the same: one probe run
            outcomes.append(cache.insert(mac: mac, expires: 100, now: 50))
        }
        #expect(outcomes.prefix(16).allSatisfy { $0 == .fresh })
        #expect(outcomes.dropFirst(16).allSatisfy { $0 == .full })
        var first = [UInt8](repeating: 0, count: 32)
        first[0] = 0
        #expect(cache.insert(mac: first, expires: 100, now: 99) == .replayed)
        #expect(cache.insert(mac: first, expires: 200, now: 100) == .fresh, "expired entries make room")
    }
}

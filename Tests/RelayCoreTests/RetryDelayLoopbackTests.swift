import ConvertProtocol
import Foundation
import Logging
import RelayCore
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// RFC 8803's retry delay on 127.0.0.1: a converter short of resources suggests one, and a forwarder told to
/// wait does not ask again before the delay has passed.
@Suite("Retry delay (Resource Exceeded, Network Failure)", .serialized, .timeLimit(.minutes(1)))
struct RetryDelayLoopbackTests {
    /// Counts what a fake converter accepted.
    final class Accepted: Sendable {
        let count = Atomic<Int>(0)
    }

    @Test("a forwarder answered Resource Exceeded with a 3 s delay refuses locally for 3 s, then asks again")
    func forwarderWaitsOutTheDelay() async throws {
        let accepted = Accepted()
        // A converter at its limit: every request is answered Resource Exceeded (64), retry after 3 s,
        // written by hand from RFC 8803's Error TLV figure.
        let converter = try TestServer { socket in
            accepted.count.wrappingAdd(1, ordering: .relaxed)
            try? socket.sendAll([0x01, 0x02, 0x22, 0x63, 0x1E, 0x01, 0x40, 0x03])
            socket.shutdownWrite()
            _ = socket.endOfStreamErrno()
        }
        defer { converter.close() }
        let forwarder = RelayEngine(
            settings: EngineSettings(workers: 2),
            listeners: [
                ListenerSpec(
                    name: "lan",
                    listen: RelayPair.loopback,
                    role: .forward(upstream: converter.endpoint, destination: Endpoint("198.18.0.9:80")!)
                )
            ],
            logger: Logger(label: "test")
        )
        try forwarder.start()
        let lan = forwarder.boundEndpoints["lan"]!
        let backoffIndex = ConnectionResult.labels.firstIndex(of: "converter_backoff")!
        let errorIndex = ConnectionResult.labels.firstIndex(of: "converter_error")!

        // Each LAN connection ends with a reset; returns how long after `start` it did.
        let refusedAt = { @Sendable (start: Date) throws -> (ending: Int32, seconds: Double) in
            let client = try BlockingSocket.connect(to: lan, timeoutSeconds: 10)
            // Nothing sent: a send would take the reset's error, and the read after it would see an EOF.
            let ending = client.endOfStreamErrno()
            return (ending, Date().timeIntervalSince(start))
        }
        let start = Date()
        let first = try await onThread { try refusedAt(start) }
        #expect(first.ending == ECONNRESET, "the refused LAN client saw \(first.ending), not a reset")
        #expect(accepted.count.load(ordering: .relaxed) == 1)

        // Within the delay: refused at once, on either worker, and the converter is not asked.
        var during: [Double] = []
        for _ in 0..<8 {
            let next = try await onThread { try refusedAt(start) }
            #expect(next.ending == ECONNRESET)
            during.append(next.seconds)
        }
        // Far inside the delay (each refusal takes milliseconds), or the count below means nothing.
        #expect(during.allSatisfy { $0 < 2.5 }, "the refusals took until \(during.last ?? 0) s")
        #expect(accepted.count.load(ordering: .relaxed) == 1, "the converter was asked during its delay")
        #expect(forwarder.statistics.total(listener: 0, RelayStatistics.Slot.closed(backoffIndex)) == 8)

        // After the delay: asked again.
        let waited = Date().timeIntervalSince(start)
        if waited < 3.3 { try await Task.sleep(for: .milliseconds(Int((3.3 - waited) * 1000))) }
        let after = try await onThread { try refusedAt(start) }
        #expect(after.ending == ECONNRESET)
        #expect(accepted.count.load(ordering: .relaxed) == 2, "the converter was not asked after its delay")
        // The close is counted just after the reset went out.
        var errors: UInt64 = 0
        for _ in 0..<50 {
            errors = forwarder.statistics.total(listener: 0, RelayStatistics.Slot.closed(errorIndex))
            if errors == 2 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(errors == 2)
        forwarder.stop()
        try await forwarder.waitUntilStopped()
    }
}

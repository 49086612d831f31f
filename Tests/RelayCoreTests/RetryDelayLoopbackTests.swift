import ConvertProtocol
import Foundation
import RelayCore
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// RFC 8803's retry delay on 127.0.0.1: a forwarder told to wait does not ask that converter again before
/// the delay has passed, and asks again after it. (What our converter suggests is checked in
/// `LoopbackRelayTests`, at accept, and in `RFC8803ConformanceTests`.)
@Suite("Retry delay (Resource Exceeded, Network Failure)", .serialized, .timeLimit(.minutes(1)))
struct RetryDelayLoopbackTests {
    /// A converter at its limit: it counts what it accepts and answers every request Resource Exceeded (64)
    /// with `delay` seconds in the Value, bytes written by hand from RFC 8803's Error TLV figure.
    final class BusyConverter: Sendable {
        final class Box: Sendable {
            let accepted = Atomic<Int>(0)
        }
        let counter: Box
        let server: TestServer

        init(delay: UInt8) throws {
            let counter = Box()
            self.counter = counter
            server = try TestServer { socket in
                counter.accepted.wrappingAdd(1, ordering: .relaxed)
                try? socket.sendAll([0x01, 0x02, 0x22, 0x63, 0x1E, 0x01, 0x40, delay])
                socket.shutdownWrite()
                _ = socket.endOfStreamErrno()
            }
        }

        var count: Int { counter.accepted.load(ordering: .relaxed) }
    }

    /// One LAN connection through `lan` that sends nothing (a send would take the reset's error, and the read
    /// after it would see an EOF); how it ended: ECONNRESET for a reset.
    static func refused(_ lan: Endpoint) async throws -> Int32 {
        try await onThread { try BlockingSocket.connect(to: lan, timeoutSeconds: 10).endOfStreamErrno() }
    }

    @Test("within the delay (60 s) new LAN connections are reset at once, on every worker, without asking")
    func holdsOffWithinTheDelay() async throws {
        let converter = try BusyConverter(delay: 60)
        defer { converter.server.close() }
        let (forwarder, lan) = try startForwarder(to: converter.server.endpoint, workers: 2)
        #expect(try await Self.refused(lan) == ECONNRESET, "the refused LAN client saw no reset")
        #expect(converter.count == 1)
        for _ in 0..<8 {
            #expect(try await Self.refused(lan) == ECONNRESET)
        }
        #expect(converter.count == 1, "the converter was asked during its delay")
        let backoff = ConnectionResult.labels.firstIndex(of: "converter_backoff")!
        #expect(forwarder.statistics.total(listener: 0, RelayStatistics.Slot.closed(backoff)) == 8)
        forwarder.stop()
        try await forwarder.waitUntilStopped()
    }

    @Test("after the delay (1 s) the converter is asked again")
    func asksAgainAfterTheDelay() async throws {
        let converter = try BusyConverter(delay: 1)
        defer { converter.server.close() }
        let (forwarder, lan) = try startForwarder(to: converter.server.endpoint, workers: 2)
        #expect(try await Self.refused(lan) == ECONNRESET)
        #expect(converter.count == 1)
        try await Task.sleep(for: .milliseconds(1500))
        #expect(try await Self.refused(lan) == ECONNRESET)
        #expect(converter.count == 2, "the converter was not asked after its delay")
        forwarder.stop()
        try await forwarder.waitUntilStopped()
    }
}

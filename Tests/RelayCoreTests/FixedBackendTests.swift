import ConvertProtocol
import Foundation
import InMemoryLogging
import Logging
import RelayCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A convert listener in front of one fixed backend: no Convert header, plain-TCP clients served.
@Suite("Fixed backend and timeouts", .serialized, .timeLimit(.minutes(1)))
struct FixedBackendTests {
    private func startConverter(
        backend: Endpoint,
        settings: EngineSettings = EngineSettings(workers: 1),
        log: InMemoryLogHandler = InMemoryLogHandler()
    ) throws -> (RelayEngine, Endpoint) {
        let engine = RelayEngine(
            settings: settings,
            listeners: [
                ListenerSpec(
                    name: "front",
                    listen: RelayPair.loopback,
                    role: .convert(policy: DestinationPolicy(allow: []), backend: backend)
                )
            ],
            logger: Logger(label: "test", factory: { _ in log })
        )
        try engine.start()
        return (engine, engine.boundEndpoints["front"]!)
    }

    @Test("A plain-TCP client (MPTCP fallback) reaches the fixed backend without any header")
    func plainClientReachesBackend() async throws {
        let size = 4 << 20
        let serverSide = ServerReports()
        let server = try TestServer { socket in
            serverSide.add(try? HashedTransfer.run(on: socket, sending: size))
        }
        defer { server.close() }
        let log = InMemoryLogHandler()
        let (engine, front) = try startConverter(backend: server.endpoint, log: log)
        let client = try await onThread {
            try HashedTransfer.run(on: BlockingSocket.connect(to: front), sending: size)
        }
        let backendView = try #require(await serverSide.first())
        #expect(client.sentDigest == backendView.receivedDigest)
        #expect(backendView.sentDigest == client.receivedDigest)
        #expect(client.received == size)
        engine.stop()
        try await engine.waitUntilStopped()
        let closes = log.entries.filter { $0.message == "connection closed" }
        #expect(closes.count == 1)
        #expect(closes.first?.metadata["transport"] == "tcp")
        #expect(closes.first?.metadata["result"] == "completed")
        let stopped = log.entries.filter { $0.message == "worker stopped" }
        #expect(stopped.first?.metadata["mptcp_fallbacks"] == "1")
    }

    @Test("A connection without bytes for idle_timeout is closed")
    func idleConnectionIsClosed() async throws {
        let server = try TestServer { socket in _ = try? socket.receiveAll() }
        defer { server.close() }
        let (engine, front) = try startConverter(
            backend: server.endpoint,
            settings: EngineSettings(workers: 1, idleTimeout: .milliseconds(700))
        )
        let outcome = try await onThread { () -> Int32 in
            let socket = try BlockingSocket.connect(to: front, timeoutSeconds: 10)
            try socket.sendAll(Array("one".utf8))
            return socket.endOfStreamErrno()
        }
        // Reset by the relay, not the 10 s receive timeout (EAGAIN).
        #expect(outcome == ECONNRESET)
        engine.stop()
        try await engine.waitUntilStopped()
    }

    @Test("Stopping the engine ends live connections and every worker thread")
    func stopEndsConnections() async throws {
        let server = try TestServer { socket in _ = try? socket.receiveAll() }
        defer { server.close() }
        // A drain far shorter than the test server's 30 s receive timeout: with the default 30 s drain the two
        // raced, and on a loaded machine the server's clean close sometimes came first (a FIN, not a reset).
        let (engine, front) = try startConverter(
            backend: server.endpoint,
            settings: EngineSettings(workers: 2, drainTimeout: .seconds(1))
        )
        let socket = try BlockingSocket.connect(to: front, timeoutSeconds: 10)
        try socket.sendAll(Array("hello".utf8))
        engine.stop()
        try await engine.waitUntilStopped()
        let outcome = try await onThread { socket.endOfStreamErrno() }
        #expect(outcome == ECONNRESET)
    }
}

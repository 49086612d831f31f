import ConvertProtocol
import Foundation
import InMemoryLogging
import Logging
import RelayCore
import Testing

/// The epoll backend runs the same connection state machine as io_uring: chosen in the settings, it
/// relays concurrent connections intact, and `auto` picks io_uring where the kernel allows it.
///
/// The whole loopback suite also runs on epoll in CI (`MPTCP_RELAY_IO_BACKEND=epoll`, scripts/test.sh);
/// the network suite proves the fallback when a seccomp filter refuses io_uring.
@Suite("Event backends", .serialized, .timeLimit(.minutes(2)))
struct EventBackendTests {
    /// What the environment forces, if anything (CI's second pass sets epoll).
    static let forced = ProcessInfo.processInfo.environment[IOBackend.environmentVariable].flatMap(IOBackend.init)

    @Test(
        "io_backend = epoll: eight concurrent connections, 4 MiB each way, arrive intact",
        arguments: [DataPath.splice, .copy]
    )
    func epollRelaysConcurrentConnections(dataPath: DataPath) async throws {
        let size = 4 << 20
        let connections = 8
        let serverSide = ServerReports()
        let server = try TestServer { socket in
            serverSide.add(try? HashedTransfer.run(on: socket, sending: size))
        }
        defer { server.close() }
        let relays = try RelayPair(
            destination: server.endpoint,
            settings: EngineSettings(workers: 2, dataPath: dataPath, ioBackend: .epoll)
        )
        if Self.forced == nil {
            #expect(relays.forwarder.ioBackend == .epoll)
            #expect(relays.converter.ioBackend == .epoll)
        }
        let endpoint = relays.forwardEndpoint
        let outcomes = await withTaskGroup(of: Result<HashedTransfer, any Error>.self) { group in
            for _ in 0..<connections {
                group.addTask {
                    do {
                        return .success(
                            try await onThread {
                                try HashedTransfer.run(on: BlockingSocket.connect(to: endpoint), sending: size)
                            }
                        )
                    } catch {
                        return .failure(error)
                    }
                }
            }
            return await group.reduce(into: [Result<HashedTransfer, any Error>]()) { $0.append($1) }
        }
        let clients = outcomes.compactMap { try? $0.get() }
        guard clients.count == connections else {
            // Say why: the relays' view of the connections that failed (a rare reset seen once under load).
            try await relays.stop()
            let errors = outcomes.compactMap { outcome -> String? in
                if case .failure(let error) = outcome { return "\(error)" }
                return nil
            }
            Issue.record("clients failed: \(errors)\n\(relays.troubles)")
            return
        }
        let servers = await serverSide.first(connections)
        #expect(clients.count == connections)
        #expect(servers.count == connections)
        // Every client's upload is some server's download and the other way round, byte for byte.
        let uploads = Set(clients.map(\.sentDigest))
        let downloads = Set(servers.map(\.sentDigest))
        #expect(Set(servers.map(\.receivedDigest)) == uploads)
        #expect(Set(clients.map(\.receivedDigest)) == downloads)
        #expect(clients.allSatisfy { $0.received == size })
        #expect(servers.allSatisfy { $0.received == size })
        try await relays.stop()
        let closes = relays.converterLog.entries.filter { $0.message == "connection closed" }
        #expect(closes.count == connections)
        #expect(closes.allSatisfy { $0.metadata["result"] == "completed" })
    }

    @Test("auto runs on io_uring where the kernel allows it")
    func autoPrefersIOUring() async throws {
        let server = try TestServer { _ in }
        defer { server.close() }
        let relays = try RelayPair(destination: server.endpoint, settings: EngineSettings(workers: 1))
        #expect(relays.forwarder.ioBackend == (Self.forced ?? .ioUring))
        try await relays.stop()
    }
}

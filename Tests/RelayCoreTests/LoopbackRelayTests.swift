import ConvertProtocol
import Crypto
import Foundation
import InMemoryLogging
import Logging
import RelayCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// forward → convert → a test server, all on 127.0.0.1 over real kernel MPTCP, in this process.
@Suite("Loopback relay", .serialized, .timeLimit(.minutes(2)))
struct LoopbackRelayTests {
    @Test("64 MiB of random bytes each way arrive with the same SHA-256", arguments: [DataPath.splice, .copy, .auto])
    func bulkBothWays(dataPath: DataPath) async throws {
        let size = 64 << 20
        let serverSide = ServerReports()
        let reportingServer = try TestServer { socket in
            serverSide.add(try? HashedTransfer.run(on: socket, sending: size))
        }
        defer { reportingServer.close() }
        let relays = try RelayPair(
            destination: reportingServer.endpoint,
            settings: EngineSettings(workers: 2, dataPath: dataPath)
        )
        let client = try await onThread {
            try HashedTransfer.run(on: BlockingSocket.connect(to: relays.forwardEndpoint), sending: size)
        }
        let server1 = try #require(await serverSide.first())
        #expect(client.received == size)
        #expect(server1.received == size)
        #expect(client.sentDigest == server1.receivedDigest)
        #expect(server1.sentDigest == client.receivedDigest)
        try await relays.stop()
        let closes = relays.converterLog.entries.filter { $0.message == "connection closed" }
        #expect(closes.count == 1)
        #expect(closes.first?.metadata["transport"] == "mptcp")
        #expect(closes.first?.metadata["bytes_up"] == "\(size)")
        #expect(closes.first?.metadata["bytes_down"] == "\(size)")
    }

    @Test(
        "A slow reader gets every byte: the relay holds back instead of dropping",
        arguments: [DataPath.splice, .copy, .auto]
    )
    func slowReaderBackpressure(dataPath: DataPath) async throws {
        let size = 8 << 20
        let serverSide = ServerReports()
        let server = try TestServer { socket in
            serverSide.add(try? HashedTransfer.run(on: socket, sending: size))
        }
        defer { server.close() }
        let relays = try RelayPair(
            destination: server.endpoint,
            settings: EngineSettings(workers: 1, dataPath: dataPath)
        )
        let received = try await onThread { () -> (Int, String) in
            let socket = try BlockingSocket.connect(to: relays.forwardEndpoint)
            socket.shutdownWrite()
            // Read nothing for a while: the sender outpaces the socket buffers, the relay must hold back.
            usleep(1_500_000)
            var hasher = SHA256()
            var count = 0
            for round in 0..<100_000 {
                let chunk = try socket.receive(upTo: 65536)
                if chunk.isEmpty { break }
                hasher.update(data: chunk)
                count += chunk.count
                if round % 16 == 0 { usleep(1000) }
            }
            return (count, hasher.finalize().hexString)
        }
        let serverView = try #require(await serverSide.first())
        #expect(received.0 == size)
        #expect(received.1 == serverView.sentDigest)
        try await relays.stop()
    }

    @Test(
        "EOF from the client is passed on while the server keeps sending",
        arguments: [DataPath.splice, .copy, .auto]
    )
    func halfCloseFromClient(dataPath: DataPath) async throws {
        let server = try TestServer { socket in
            // Read to EOF first: only a propagated FIN lets this return; then answer.
            guard let request = try? socket.receiveAll() else { return }
            try? socket.sendAll(Array("got \(request.count)".utf8))
            socket.shutdownWrite()
        }
        defer { server.close() }
        let relays = try RelayPair(
            destination: server.endpoint,
            settings: EngineSettings(workers: 2, dataPath: dataPath)
        )
        let answer = try await onThread {
            let socket = try BlockingSocket.connect(to: relays.forwardEndpoint)
            try socket.sendAll([UInt8](repeating: 7, count: 100_000))
            socket.shutdownWrite()
            return try socket.receiveAll()
        }
        #expect(String(decoding: answer, as: UTF8.self) == "got 100000")
        try await relays.stop()
    }

    @Test(
        "EOF from the server is passed on while the client keeps sending",
        arguments: [DataPath.splice, .copy, .auto]
    )
    func halfCloseFromServer(dataPath: DataPath) async throws {
        let received = ServerReports()
        let echoCount = try TestServer { socket in
            try? socket.sendAll(Array("hello".utf8))
            socket.shutdownWrite()
            // The client learns of our EOF first, then sends: that must still arrive here.
            let rest = (try? socket.receiveAll()) ?? []
            received.add(HashedTransfer(received: rest.count))
        }
        defer { echoCount.close() }
        let relays = try RelayPair(
            destination: echoCount.endpoint,
            settings: EngineSettings(workers: 2, dataPath: dataPath)
        )
        let greeting = try await onThread {
            let socket = try BlockingSocket.connect(to: relays.forwardEndpoint)
            let greeting = try socket.receiveAll()
            try socket.sendAll([UInt8](repeating: 1, count: 50_000))
            socket.shutdownWrite()
            _ = try socket.receiveAll()
            return greeting
        }
        #expect(String(decoding: greeting, as: UTF8.self) == "hello")
        #expect(await received.first()?.received == 50_000)
        try await relays.stop()
    }

    @Test("A destination that refuses the connection gives the LAN client a reset")
    func refusedDestinationResetsClient() async throws {
        let relays = try RelayPair(destination: TestServer.closedPort())
        let outcome = try await onThread { () -> Int32 in
            let socket = try BlockingSocket.connect(to: relays.forwardEndpoint)
            return socket.endOfStreamErrno()
        }
        #expect(outcome == ECONNRESET)
        try await relays.stop()
    }

    @Test("A destination outside allow is refused with Not Authorized, and the LAN client is reset")
    func destinationOutsideAllow() async throws {
        let server = try TestServer { socket in try? socket.sendAll(Array("must not be reached".utf8)) }
        defer { server.close() }
        let relays = try RelayPair(destination: server.endpoint, allow: [IPNetwork("198.18.0.0/15")!])
        let viaForward = try await onThread { () -> Int32 in
            let socket = try BlockingSocket.connect(to: relays.forwardEndpoint)
            return socket.endOfStreamErrno()
        }
        #expect(viaForward == ECONNRESET)
        let answer = try await ConverterProbe.ask(
            relays.converterEndpoint,
            ConvertRequest(destination: server.endpoint).encoded()
        )
        #expect(answer == ConvertResponse.failure(.notAuthorized).encoded())
        try await relays.stop()
    }

    @Test("Loopback destinations are refused when only a catch-all allow covers them")
    func loopbackRefusedUnderCatchAll() async throws {
        let server = try TestServer { socket in try? socket.sendAll(Array("must not be reached".utf8)) }
        defer { server.close() }
        let relays = try RelayPair(destination: server.endpoint, allow: [IPNetwork("0.0.0.0/0")!])
        let answer = try await ConverterProbe.ask(
            relays.converterEndpoint,
            ConvertRequest(destination: server.endpoint).encoded()
        )
        #expect(answer == ConvertResponse.failure(.notAuthorized).encoded())
        try await relays.stop()
    }

    @Test("Garbage instead of a Convert header is refused while a parallel good connection completes")
    func garbageRefusedWhileGoodConnectionCompletes() async throws {
        let size = 16 << 20
        let serverSide = ServerReports()
        let server = try TestServer { socket in
            serverSide.add(try? HashedTransfer.run(on: socket, sending: size))
        }
        defer { server.close() }
        let relays = try RelayPair(destination: server.endpoint)
        async let good = onThread {
            try HashedTransfer.run(on: BlockingSocket.connect(to: relays.forwardEndpoint), sending: size)
        }
        let garbage = try await ConverterProbe.ask(relays.converterEndpoint, Array("GET / HTTP/1.1\r\n\r\n".utf8))
        #expect(garbage == ConvertResponse.failure(.unsupportedVersion).encoded())
        let truncated = try await ConverterProbe.ask(relays.converterEndpoint, [1, 9, 0x22, 0x63, 10])
        // Malformed Message echoes what was received (RFC 8803 section 6.2.8).
        #expect(truncated == ConvertResponse.failure(.malformedMessage, value: [1, 9, 0x22, 0x63, 10]).encoded())
        let client = try await good
        let server1 = try #require(await serverSide.first())
        #expect(client.sentDigest == server1.receivedDigest)
        #expect(server1.sentDigest == client.receivedDigest)
        #expect(client.received == size)
        try await relays.stop()
    }

    @Test("A request without the RFC 8803 Magic Number is answered Unsupported Version and closed")
    func requestWithoutMagicRefused() async throws {
        let server = try TestServer { socket in try? socket.sendAll(Array("must not be reached".utf8)) }
        defer { server.close() }
        let relays = try RelayPair(destination: server.endpoint)
        // A request as drafts before RFC 8803 sent it: Connect TLV to the server, magic 0x0000.
        let port = server.endpoint.port
        let oldRequest: [UInt8] =
            [
                0x01, 0x06, 0x00, 0x00,  // version 1, 6 words, magic 0x0000
                0x0A, 0x05, UInt8(port >> 8), UInt8(port & 0xFF),  // Connect TLV, 5 words, port
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 127, 0, 0, 1,  // ::ffff:127.0.0.1
            ]
        let answer = try await ConverterProbe.ask(relays.converterEndpoint, oldRequest)
        #expect(
            answer == [
                0x01, 0x02, 0x22, 0x63,  // version 1, 2 words, magic 0x2263
                0x1E, 0x01, 0x00, 0x01,  // Error TLV, 1 word, Unsupported Version (0), supported version 1
            ]
        )
        try await relays.stop()
    }

    @Test("a full worker table refuses with Resource Exceeded, and a flood of refusals is one warning")
    func tableFullRefusals() async throws {
        let relays = try RelayPair(
            destination: TestServer.closedPort(),
            settings: EngineSettings(workers: 1, maxConnectionsPerWorker: 1)
        )
        let answers = try await onThread { () -> [[UInt8]] in
            let holder = try BlockingSocket.connect(to: relays.converterEndpoint, timeoutSeconds: 2)
            try holder.sendAll([0x01])  // the first byte of a header: it holds the only slot
            usleep(100_000)
            let refused = (0..<5).map { _ in
                (try? BlockingSocket.connect(to: relays.converterEndpoint, timeoutSeconds: 2).receiveAll(limit: 64))
                    ?? []
            }
            _ = holder
            return refused
        }
        let resourceExceeded: [UInt8] = [0x01, 0x02, 0x22, 0x63, 0x1E, 0x01, 0x40, 0x01]
        #expect(answers.allSatisfy { $0 == resourceExceeded }, "\(answers)")
        #expect(relays.converter.statistics.total(listener: 0, RelayStatistics.Slot.refusedFull) == 5)
        let lines = relays.converterLog.entries.filter { $0.message.description.contains("worker table full") }
        #expect(lines.count == 1, "\(lines.count) warnings for 5 refusals")
        try await relays.stop()
    }

    @Test(
        "Beyond max_pending_headers, header-less connections are refused at accept; a request still gets through after"
    )
    func pendingHeadersBounded() async throws {
        let relays = try RelayPair(
            destination: TestServer.closedPort(),
            settings: EngineSettings(workers: 1, headerTimeout: .seconds(30), maxPendingHeadersPerWorker: 4)
        )
        let endings = try await onThread { () -> [(answer: [UInt8], ending: Int32)] in
            // Ten clients that send the first byte of a header and no more; each one waits 1 s for what the
            // converter does. (The byte means the refused ones end FIN then reset, with the reset unread:
            // `ending == 0` is the FIN, which Linux reports first.)
            let silent = try (0..<10).map { _ in
                let socket = try BlockingSocket.connect(to: relays.converterEndpoint, timeoutSeconds: 1)
                try socket.sendAll([0x01])
                usleep(20_000)  // in the order they connected
                return socket
            }
            return silent.map { socket in
                do throws(SocketReadError) {
                    return (try socket.receive(upTo: 64), socket.endOfStreamErrno())
                } catch {
                    return ([], error.errno)
                }
            }
        }
        // RFC 8803: a converter short of resources says so, Resource Exceeded (64) with its retry delay (1 s).
        let resourceExceeded: [UInt8] = [0x01, 0x02, 0x22, 0x63, 0x1E, 0x01, 0x40, 0x01]
        let refused = endings.filter { $0.answer == resourceExceeded && $0.ending == 0 }
        #expect(refused.count == 6, "six refused with Resource Exceeded and a FIN: \(endings)")
        #expect(
            endings.filter { $0.answer.isEmpty && $0.ending == EAGAIN }.count == 4,
            "four held, waiting for their header: \(endings)"
        )
        #expect(
            relays.converter.statistics.total(listener: 0, RelayStatistics.Slot.refusedPendingHeaders) == 6
        )
        // The held ones are gone (their sockets closed): a real request is served again.
        var answer: [UInt8] = []
        for _ in 0..<20 where answer.isEmpty {  // bounded: the converter frees the held slots as it sees EOF
            answer = try await ConverterProbe.ask(
                relays.converterEndpoint,
                ConvertRequest(destination: TestServer.closedPort()).encoded()
            )
            if answer.isEmpty { try await Task.sleep(nanoseconds: 100_000_000) }
        }
        #expect(answer.count >= 4 && answer[0] == 1, "a Convert answer after the silent clients: \(answer)")
        try await relays.stop()
    }

    @Test("A client that sends nothing is closed after the header timeout")
    func silentClientTimesOut() async throws {
        let relays = try RelayPair(
            destination: TestServer.closedPort(),
            settings: EngineSettings(workers: 1, headerTimeout: .milliseconds(500))
        )
        let answer = try await onThread { () -> [UInt8] in
            let socket = try BlockingSocket.connect(to: relays.converterEndpoint, timeoutSeconds: 10)
            return (try? socket.receiveAll()) ?? []
        }
        #expect(answer.isEmpty)
        try await relays.stop()
    }
}

/// Talks to a converter directly: sends `bytes`, half-closes, returns everything it answers.
enum ConverterProbe {
    static func ask(_ converter: Endpoint, _ bytes: [UInt8]) async throws -> [UInt8] {
        try await onThread {
            let socket = try BlockingSocket.connect(to: converter, timeoutSeconds: 10)
            try socket.sendAll(bytes)
            socket.shutdownWrite()
            var answer: [UInt8] = []
            while let chunk = try? socket.receive(upTo: 4096), !chunk.isEmpty { answer += chunk }
            return answer
        }
    }
}

/// Reports from server-side handlers, collected across threads.
actor ServerReports {
    private var reports: [HashedTransfer] = []

    nonisolated func add(_ report: HashedTransfer?) {
        Task { await self.append(report) }
    }

    private func append(_ report: HashedTransfer?) {
        if let report { reports.append(report) }
    }

    /// The first `count` reports, waiting up to 10 s for them (fewer when they do not come).
    func first(_ count: Int) async -> [HashedTransfer] {
        for _ in 0..<1000 {
            if reports.count >= count { break }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return Array(reports.prefix(count))
    }

    /// The first report, waiting up to 10 s for it.
    func first() async -> HashedTransfer? {
        for _ in 0..<1000 {
            if let report = reports.first { return report }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }
}

import ConvertProtocol
import Foundation
import Logging
import RelayCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// RFC 8803 rules that end a connection with a reset or a particular answer, through the real relays on
/// 127.0.0.1. The bytes are written by hand from the RFC's figures.
@Suite("RFC 8803 resets and answers, through the relays", .serialized, .timeLimit(.minutes(1)))
struct ConformanceLoopbackTests {
    @Test("a request whose Total Length is 0 is reset, with no Error TLV (section 4.1)")
    func zeroTotalLengthResets() async throws {
        let server = try TestServer { socket in try? socket.sendAll(Array("must not be reached".utf8)) }
        defer { server.close() }
        let relays = try RelayPair(destination: server.endpoint)
        let converter = relays.converterEndpoint
        let (answer, ending) = try await onThread { () -> ([UInt8], Int32) in
            let socket = try BlockingSocket.connect(to: converter, timeoutSeconds: 10)
            try socket.sendAll([0x01, 0x00, 0x22, 0x63])  // Version 1, Total Length 0, Magic Number 0x2263
            var answer: [UInt8] = []
            do throws(SocketReadError) {
                for _ in 0..<100 {
                    let chunk = try socket.receive(upTo: 4096)
                    if chunk.isEmpty { return (answer, 0) }
                    answer += chunk
                }
                return (answer, -1)
            } catch {
                return (answer, error.errno)
            }
        }
        #expect(answer.isEmpty, "an answer was sent: \(answer)")
        #expect(ending == ECONNRESET, "ended with \(ending), not a reset")
        try await relays.stop()
    }

    @Test("a Connect TLV asking for a TCP option is answered Unsupported TCP Option naming its kind (4.2.7)")
    func unsupportedOptionAnswerNamesTheKinds() async throws {
        let server = try TestServer { socket in try? socket.sendAll(Array("must not be reached".utf8)) }
        defer { server.close() }
        let relays = try RelayPair(destination: server.endpoint)
        let converter = relays.converterEndpoint
        let answer = try await onThread { () -> [UInt8] in
            let socket = try BlockingSocket.connect(to: converter, timeoutSeconds: 10)
            try socket.sendAll([
                0x01, 0x08, 0x22, 0x63,  // Version 1, Total Length 8 words, Magic Number 0x2263
                0x0A, 0x07, 0x00, 0x50,  // Connect TLV, 7 words, Remote Peer Port 80
                0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // ::ffff:127.0.0.1
                0x00, 0x00, 0xFF, 0xFF, 0x7F, 0x00, 0x00, 0x01,
                0x02, 0x04, 0x05, 0xB4,  // MSS 1460
                0x01, 0x04, 0x02, 0x00,  // No-Operation, SACK Permitted, End of Option List
            ])
            var answer: [UInt8] = []
            for _ in 0..<100 {
                let chunk = try socket.receive(upTo: 4096)
                if chunk.isEmpty { break }
                answer += chunk
            }
            return answer
        }
        #expect(
            answer == [0x01, 0x02, 0x22, 0x63, 0x1E, 0x01, 0x21, 0x04],  // 33, Value: kind 4 (MSS is ignored)
            "answer: \(answer.map { String($0, radix: 16) })"
        )
        try await relays.stop()
    }

    @Test("Unsupported Message echoes the request it refuses in the Error TLV's Value (section 6.2.8)")
    func unsupportedMessageEchoesTheRequest() async throws {
        let server = try TestServer { socket in try? socket.sendAll(Array("must not be reached".utf8)) }
        defer { server.close() }
        let relays = try RelayPair(destination: server.endpoint)
        let request: [UInt8] = [
            0x01, 0x07, 0x22, 0x63,  // Version 1, Total Length 7 words, Magic Number 0x2263
            0x0A, 0x05, 0x00, 0x50,  // Connect TLV, 5 words, Remote Peer Port 80
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // ::ffff:198.18.0.9
            0x00, 0x00, 0xFF, 0xFF, 0xC6, 0x12, 0x00, 0x09,
            0xC8, 0x01, 0x00, 0x00,  // TLV Type 200 (private use), 1 word: not one a converter serves
        ]
        let answer = try await ConverterProbe.ask(relays.converterEndpoint, request)
        let expected: [UInt8] =
            [
                0x01, 0x09, 0x22, 0x63,  // Version 1, Total Length 9 words, Magic Number 0x2263
                0x1E, 0x08,  // Error TLV, 8 words
                0x02,  // Error Code 2: Unsupported Message
            ] + request + [0x00]  // Value: the request as received, then padding to the word
        #expect(answer == expected, "answer: \(answer.map { String($0, radix: 16) })")
        try await relays.stop()
    }

    @Test("an answer with a TLV type twice makes the forwarder reset the LAN client (section 4.2.1)")
    func repeatedTLVInAnswerResets() async throws {
        // A converter that answers success but repeats a TLV, then stays silent for a while.
        let converter = try TestServer { socket in
            _ = try? socket.receive(upTo: 4096)
            try? socket.sendAll([
                0x01,  // Version 1
                0x03,  // Total Length: 3 words
                0x22, 0x63,  // Magic Number 0x2263
                0xC8, 0x01, 0x00, 0x00,  // TLV Type 200 (private use), 1 word
                0xC8, 0x01, 0x00, 0x00,  // the same TLV again
            ])
            usleep(2_000_000)
        }
        defer { converter.close() }
        let (forwarder, lan) = try startForwarder(to: converter.endpoint, workers: 1)
        let ending = try await onThread {
            try BlockingSocket.connect(to: lan, timeoutSeconds: 10).endOfStreamErrno()
        }
        #expect(ending == ECONNRESET, "the LAN client saw \(ending), not a reset")
        forwarder.stop()
        try await forwarder.waitUntilStopped()
    }

    @Test("error answers are rate-limited: past max_error_answers a refusal closes without its Error TLV (6.2.8)")
    func errorAnswersRateLimited() async throws {
        let server = try TestServer { socket in try? socket.sendAll(Array("must not be reached".utf8)) }
        defer { server.close() }
        var settings = EngineSettings(workers: 1)
        settings.maxErrorAnswersPerSecond = 3
        let relays = try RelayPair(destination: server.endpoint, settings: settings)
        // Ten requests that are not Convert at all, one after the other: each is refused.
        let started = ContinuousClock.now
        var answers: [[UInt8]] = []
        for _ in 0..<10 {
            answers.append(try await ConverterProbe.ask(relays.converterEndpoint, Array("GET / HTTP/1.0\r\n\r\n".utf8)))
        }
        let took = ContinuousClock.now - started
        let unsupportedVersion: [UInt8] = [0x01, 0x02, 0x22, 0x63, 0x1E, 0x01, 0x00, 0x01]
        let answered = answers.filter { $0 == unsupportedVersion }.count
        // Three tokens, and one more for every third of a second the ten took.
        let earned = Int(took / .milliseconds(333))
        #expect(answered >= 3 && answered <= 3 + earned, "\(answered) answered in \(took): \(answers)")
        #expect(answers.allSatisfy { $0 == unsupportedVersion || $0.isEmpty }, "\(answers)")
        let suppressed = relays.converter.statistics.total(listener: 0, RelayStatistics.Slot.errorAnswersSuppressed)
        #expect(Int(suppressed) == 10 - answered)
        try await relays.stop()
    }

    @Test("an Info TLV is answered with the Supported TCP Extensions: alone, and beside a Connect TLV")
    func infoQueries() async throws {
        let server = try TestServer { socket in
            try? socket.sendAll(Array("hello".utf8))
            socket.shutdownWrite()
            _ = socket.endOfStreamErrno()
        }
        defer { server.close() }
        let relays = try RelayPair(destination: server.endpoint)
        // Alone: the answer, then the converter closes.
        let alone = try await ConverterProbe.ask(
            relays.converterEndpoint,
            [0x01, 0x02, 0x22, 0x63, 0x01, 0x01, 0x00, 0x00]  // Info TLV, 1 word, Unassigned
        )
        let parsed = ConvertResponse(message: try ConvertMessage.parse(alone))
        #expect(parsed.error == nil, "\(alone)")
        #expect(alone.count >= 12 && alone[4] == 0x15, "a Supported TCP Extensions TLV: \(alone)")
        #expect(parsed.supportedTCPExtensions?.first == 0x02, "MSS first: \(alone)")
        // Beside a Connect TLV: the same TLV in the success answer, then the destination's bytes.
        let port = server.endpoint.port
        let request: [UInt8] =
            [
                0x01, 0x07, 0x22, 0x63,  // Version 1, 7 words, Magic Number 0x2263
                0x0A, 0x05, UInt8(port >> 8), UInt8(port & 0xFF),  // Connect TLV, 5 words, port
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 127, 0, 0, 1,  // ::ffff:127.0.0.1
                0x01, 0x01, 0x00, 0x00,  // Info TLV
            ]
        let answer = try await ConverterProbe.ask(relays.converterEndpoint, request)
        #expect(Array(answer.prefix(alone.count)) == alone, "answer: \(answer)")
        #expect(Array(answer.dropFirst(alone.count)) == Array("hello".utf8), "then the destination: \(answer)")
        try await relays.stop()
    }
}

import Foundation
import Testing

extension NetworkTestSuites {

    /// forward (gw) → MPTCP → convert (srv), a destination outside the converter's `allow`, and a LAN
    /// client that uploads megabytes without waiting: the converter answers Not Authorized and closes
    /// with the upload unread (a reset), often while the forwarder is still writing into the connection.
    /// The forwarder must still read and report the converter's answer, not a bare "upstream reset"
    /// (CI once logged `upstream_reset (Broken pipe)` for such a refusal, and an operator would not have
    /// learned why the connection failed).
    @Suite(
        "a refused upload reports the converter's answer",
        .serialized,
        .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
        .timeLimit(.minutes(3))
    )
    struct RefusedUploadNetworkTests {
        /// How many refused uploads; each one races the converter's reset against the forwarder's writes.
        static let attempts = 40
        /// Enough that the forwarder is still writing when the converter's reset arrives.
        static let uploadBytes = 8 * 1024 * 1024

        @Test("every refused upload closes as converter_error (not_authorized) on the forwarder")
        func refusedUploadsReportTheAnswer() async throws {
            try await RelayTestHarness.run(tag: "ru") { harness, topology in
                let converter = try harness.startRelay(
                    "converter",
                    in: topology.srv,
                    config: ForwardConvertNetworkTests.converterConfig
                )
                let forwarder = try harness.startRelay("forwarder", in: topology.gw, config: Self.forwarderConfig)
                try await converter.waitListening(on: 8443, in: topology, namespace: topology.srv)
                try await forwarder.waitListening(on: 8000, in: topology, namespace: topology.gw)

                // All at once: the more the relays have to do, the likelier a reset beats the answer's read.
                var clients: [ChildProcess] = []
                for attempt in 0..<Self.attempts {
                    clients.append(
                        try harness.send(
                            "198.18.0.1:8000",
                            bytes: Self.uploadBytes,
                            in: topology.cli,
                            name: "send-refused-\(attempt)"
                        )
                    )
                }
                for (attempt, client) in clients.enumerated() {
                    let status = try await client.wait(seconds: 60)
                    #expect(status != nil && status != 0, "upload \(attempt) was not refused")
                }
                let refused = try await converter.countLogLines(
                    containing: ["result=destination_refused"],
                    atLeast: Self.attempts
                )
                #expect(refused == Self.attempts, "converter refused \(refused):\n\(converter.log)")
                _ = try await forwarder.countLogLines(containing: ["connection closed"], atLeast: Self.attempts)
                let closes = forwarder.log.split(separator: "\n").filter { $0.contains("connection closed") }
                let misreported = closes.filter { !$0.contains("reason=converter_error (not_authorized)") }
                #expect(closes.count == Self.attempts, "forwarder logged \(closes.count) closes:\n\(forwarder.log)")
                #expect(
                    misreported.isEmpty,
                    "\(misreported.count) of \(closes.count) refusals not reported as the converter's answer:\n\(misreported.joined(separator: "\n"))"
                )
            }
        }

        /// A forward listener whose destination (dst's 198.19.1.10) the converter does not allow.
        static let forwarderConfig = """
            [runtime]
            workers = 2

            [[listener]]
            name = "lan"
            role = "forward"
            listen = "198.18.0.1:8000"
            upstream = "198.18.1.2:8443"
            destination = "198.19.1.10:5201"

            """
    }
}

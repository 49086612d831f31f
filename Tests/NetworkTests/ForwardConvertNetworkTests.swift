import Foundation
import Testing

/// forward (gw) → MPTCP over two uplinks → convert (srv) → TCP to dst, on the reference topology.
@Suite(
    "forward and convert across two uplinks",
    .serialized,
    .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
    .timeLimit(.minutes(3))
)
struct ForwardConvertNetworkTests {
    static let payloadBytes = 32 * 1024 * 1024

    @Test("32 MiB each way arrive intact, over MPTCP, on both uplinks")
    func bothWaysIntactOverBothUplinks() async throws {
        try #require(NetworkTestEnvironment.isRoot, "CI=true but not root: the network suite must run as root in CI")
        let binary = NetworkTestEnvironment.relayBinary
        try #require(
            FileManager.default.isExecutableFile(atPath: binary.path),
            "no relay binary at \(binary.path): run `swift build` or set MPTCP_RELAY_BINARY"
        )

        let scratch = try NetworkTestEnvironment.makeScratchDirectory()
        let prefix = NetworkTestEnvironment.uniquePrefix("fc")
        var relays: [RelayProcess] = []
        var peers: [ChildProcess] = []
        var topology: Topology?

        do {
            let topo = try await Topology.create(prefix: prefix, packageRoot: NetworkTestEnvironment.packageRoot)
            topology = topo
            try await runTransfer(in: topo, binary: binary, scratch: scratch, relays: &relays, peers: &peers)
        } catch {
            await tearDown(topology: topology, relays: relays, peers: peers, scratch: scratch, keep: true)
            throw error
        }
        await tearDown(
            topology: topology,
            relays: relays,
            peers: peers,
            scratch: scratch,
            keep: NetworkTestEnvironment.keepScratch
        )
    }

    private func runTransfer(
        in topology: Topology,
        binary: URL,
        scratch: URL,
        relays: inout [RelayProcess],
        peers: inout [ChildProcess]
    ) async throws {
        let bytes = Self.payloadBytes
        let converter = try RelayProcess(
            name: "converter",
            namespace: topology.srv,
            binary: binary,
            config: Self.converterConfig,
            directory: scratch
        )
        relays.append(converter)
        let forwarder = try RelayProcess(
            name: "forwarder",
            namespace: topology.gw,
            binary: binary,
            config: Self.forwarderConfig,
            directory: scratch
        )
        relays.append(forwarder)
        try await converter.waitListening(on: 8443, in: topology, namespace: topology.srv)
        try await forwarder.waitListening(on: 8000, in: topology, namespace: topology.gw)

        let hashPeer = NetworkTestEnvironment.hashPeer.path
        let server = try ChildProcess(
            [
                "ip", "netns", "exec", topology.dst, "python3", hashPeer, "serve",
                "--listen", "198.19.0.2:5201", "--bytes", String(bytes), "--timeout", "30",
            ],
            name: "hashpeer-serve",
            directory: scratch
        )
        peers.append(server)
        try await topology.waitListening(topology.dst, port: 5201)

        let upA = try await topology.txBytes(topology.gw, "upa0")
        let upB = try await topology.txBytes(topology.gw, "upb0")

        let client = try ChildProcess(
            [
                "ip", "netns", "exec", topology.cli, "python3", hashPeer, "send",
                "--connect", "198.18.0.1:8000", "--bytes", String(bytes), "--timeout", "30",
            ],
            name: "hashpeer-send",
            directory: scratch
        )
        peers.append(client)
        let sent = try await client.expectSuccess(seconds: 120)
        let served = try await server.expectSuccess(seconds: 30)

        let upADelta = try await topology.txBytes(topology.gw, "upa0") - upA
        let upBDelta = try await topology.txBytes(topology.gw, "upb0") - upB

        let clientReport = try Self.report(sent.stdout, from: "hashpeer send")
        let serverReport = try Self.report(served.stdout, from: "hashpeer serve")

        // Integrity: exact byte counts and matching SHA-256 in both directions.
        #expect(clientReport.sent == bytes)
        #expect(serverReport.sent == bytes)
        #expect(serverReport.received == bytes, "dst received \(serverReport.received) of \(bytes) bytes")
        #expect(clientReport.received == bytes, "cli received \(clientReport.received) of \(bytes) bytes")
        #expect(serverReport.receivedSHA256 == clientReport.sentSHA256, "upstream data corrupted")
        #expect(clientReport.receivedSHA256 == serverReport.sentSHA256, "downstream data corrupted")

        // Multipath: each uplink carried a real share of the upstream bytes.
        let share = UInt64(bytes / 10)
        #expect(upADelta >= share, "uplink A carried \(upADelta) bytes, expected at least \(share)")
        #expect(upBDelta >= share, "uplink B carried \(upBDelta) bytes, expected at least \(share)")

        // The converter saw MPTCP, never the plain TCP fallback.
        let sawMPTCP = try await converter.waitForLogLine(containing: ["listener=converter", "transport=mptcp"])
        #expect(sawMPTCP, "converter log has no close line with transport=mptcp:\n\(converter.log)")
        #expect(!converter.log.contains("transport=tcp"), "converter fell back to TCP:\n\(converter.log)")
    }

    private func tearDown(
        topology: Topology?,
        relays: [RelayProcess],
        peers: [ChildProcess],
        scratch: URL,
        keep: Bool
    ) async {
        for peer in peers { await peer.stop() }
        for relay in relays { await relay.stop() }
        await topology?.destroy()
        if keep {
            print("network test: configs and logs kept in \(scratch.path)")
            for relay in relays {
                print("--- \(relay.name) log (last 40 lines) ---")
                print(relay.log.split(separator: "\n").suffix(40).joined(separator: "\n"))
            }
        } else {
            try? FileManager.default.removeItem(at: scratch)
        }
    }

    private static func report(_ stdout: String, from name: String) throws -> HashPeerReport {
        guard let line = stdout.split(separator: "\n").last(where: { $0.hasPrefix("{") }) else {
            throw ShellCommandError(command: [name], reason: "no JSON report", output: stdout)
        }
        return try JSONDecoder().decode(HashPeerReport.self, from: Data(line.utf8))
    }

    static let forwarderConfig = """
        [runtime]
        workers = 2

        [[listener]]
        name = "lan"
        role = "forward"
        listen = "198.18.0.1:8000"
        upstream = "198.18.1.2:8443"
        destination = "198.19.0.2:5201"

        """

    static let converterConfig = """
        [runtime]
        workers = 2

        [[listener]]
        name = "converter"
        role = "convert"
        listen = "0.0.0.0:8443"
        allow = ["198.19.0.0/24"]

        """
}

import Foundation
import Testing

/// What the relay suites on the reference topology share: the root and relay binary checks, a
/// scratch directory for configs and logs, the topology, the relays and peers a test starts in it,
/// and the teardown that stops them all (keeping the scratch directory and printing the relays'
/// logs when a step threw, or with `MPTCP_RELAY_TEST_KEEP=1`).
final class RelayTestHarness {
    let binary: URL
    let scratch: URL
    private var topology: Topology?
    private var relays: [RelayProcess] = []
    private var peers: [ChildProcess] = []

    private init(binary: URL, scratch: URL) {
        self.binary = binary
        self.scratch = scratch
    }

    /// Requires root and the relay binary, creates the reference topology (namespaces prefixed
    /// with `tag`), runs `body` on it and tears everything down, also when `body` throws.
    ///
    /// `rate` (tc syntax) limits the uplinks with tbf; `uplinkC` adds the third uplink of the path-manager
    /// suites (with the same rate).
    static func run(
        tag: String,
        rate: String? = nil,
        uplinkC: Bool = false,
        sourceLocation: SourceLocation = #_sourceLocation,
        _ body: (RelayTestHarness, Topology) async throws -> Void
    ) async throws {
        try #require(
            NetworkTestEnvironment.isRoot,
            "CI=true but not root: the network suite must run as root in CI",
            sourceLocation: sourceLocation
        )
        let binary = NetworkTestEnvironment.relayBinary
        try #require(
            FileManager.default.isExecutableFile(atPath: binary.path),
            "no relay binary at \(binary.path): run `swift build` or set MPTCP_RELAY_BINARY",
            sourceLocation: sourceLocation
        )

        let harness = RelayTestHarness(binary: binary, scratch: try NetworkTestEnvironment.makeScratchDirectory())
        let prefix = NetworkTestEnvironment.uniquePrefix(tag)
        do {
            let topology = try await Topology.create(
                prefix: prefix,
                rate: rate,
                packageRoot: NetworkTestEnvironment.packageRoot
            )
            harness.topology = topology
            if uplinkC {
                try await topology.call("topo_add_uplink_c", [prefix, rate ?? ""], seconds: 30)
            }
            try await body(harness, topology)
        } catch {
            await harness.tearDown(keep: true)
            throw error
        }
        await harness.tearDown(keep: NetworkTestEnvironment.keepScratch)
    }

    /// Starts `mptcp-relay run` with `config` in `namespace` (behind `wrapper`, if any; at `logLevel`,
    /// debug by default); it is stopped at teardown.
    func startRelay(
        _ name: String,
        in namespace: String,
        config: String,
        wrapper: [String] = [],
        logLevel: String = "debug"
    ) throws -> RelayProcess {
        let relay = try RelayProcess(
            name: name,
            namespace: namespace,
            binary: binary,
            config: config,
            directory: scratch,
            wrapper: wrapper,
            logLevel: logLevel
        )
        relays.append(relay)
        return relay
    }

    /// `HashPeer.serve` with the scratch directory; the peer is stopped at teardown.
    func serve(
        _ endpoint: String,
        bytes: Int,
        in namespace: String,
        name: String,
        count: Int = 1
    ) async throws -> ChildProcess {
        let peer = try await HashPeer.serve(
            endpoint,
            bytes: bytes,
            in: namespace,
            name: name,
            directory: scratch,
            count: count
        )
        peers.append(peer)
        return peer
    }

    /// `HashPeer.send` with the scratch directory; the peer is stopped at teardown.
    func send(
        _ endpoint: String,
        bytes: Int,
        in namespace: String,
        name: String,
        timeout: Int = 30
    ) throws -> ChildProcess {
        let peer = try HashPeer.send(
            endpoint,
            bytes: bytes,
            in: namespace,
            name: name,
            directory: scratch,
            timeout: timeout
        )
        peers.append(peer)
        return peer
    }

    /// Starts any command (`ip netns exec` it yourself); it is stopped at teardown.
    func start(_ command: [String], name: String) throws -> ChildProcess {
        let child = try ChildProcess(command, name: name, directory: scratch)
        peers.append(child)
        return child
    }

    private func tearDown(keep: Bool) async {
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
}

/// Expectations the relay suites share; each failure is reported at the caller's line.
enum RelayExpectations {
    /// A transfer between two hashpeer peers arrived intact both ways: each side sent `bytes`, the
    /// other received them all, with the SHA-256 the sender computed. `label` starts each message.
    static func intact(
        client: HashPeerReport,
        server: HashPeerReport,
        bytes: Int,
        _ label: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(client.sent == bytes, "\(label): cli sent \(client.sent)", sourceLocation: sourceLocation)
        #expect(server.sent == bytes, "\(label): dst sent \(server.sent)", sourceLocation: sourceLocation)
        #expect(
            server.received == bytes,
            "\(label): dst received \(server.received) of \(bytes)",
            sourceLocation: sourceLocation
        )
        #expect(
            client.received == bytes,
            "\(label): cli received \(client.received) of \(bytes)",
            sourceLocation: sourceLocation
        )
        #expect(
            server.receivedSHA256 == client.sentSHA256,
            "\(label): upstream data corrupted\(server.patternSummary)",
            sourceLocation: sourceLocation
        )
        #expect(
            client.receivedSHA256 == server.sentSHA256,
            "\(label): downstream data corrupted\(client.patternSummary)",
            sourceLocation: sourceLocation
        )
    }

    /// Each uplink carried at least `share` (counted in `unit`, e.g. "bytes").
    static func bothUplinks(
        upA: UInt64,
        upB: UInt64,
        share: UInt64,
        unit: String = "bytes",
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(
            upA >= share,
            "uplink A carried \(upA) \(unit), expected at least \(share)",
            sourceLocation: sourceLocation
        )
        #expect(
            upB >= share,
            "uplink B carried \(upB) \(unit), expected at least \(share)",
            sourceLocation: sourceLocation
        )
    }
}

extension RelayProcess {
    /// Expects (after the bounded wait of `waitForLogLine`) a log line containing every one of
    /// `fragments`; `comment` is built only on failure, so it shows the log as it is then.
    func expectLogLine(
        containing fragments: [String],
        _ comment: @autoclosure () -> Comment,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let found = try await waitForLogLine(containing: fragments)
        #expect(found, comment(), sourceLocation: sourceLocation)
    }
}

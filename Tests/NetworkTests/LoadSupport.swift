import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What a relay process holds, read from /proc: resident memory and its descriptors by kind.
struct ProcessResources: CustomStringConvertible {
    var residentKiB: Int
    /// RssAnon: private anonymous pages (heap, tables, stacks), what connections can make grow.
    var anonymousKiB: Int
    /// RssFile: pages of the binary and libraries, which grow as code paths run for the first time.
    var fileKiB: Int
    var descriptors: Int
    var sockets: Int
    var pipeEnds: Int

    /// Reads /proc/PID/status (VmRSS) and the links in /proc/PID/fd.
    static func sample(_ pid: Int32) throws -> ProcessResources {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        func field(_ name: String) -> Int? {
            status.split(separator: "\n").first { $0.hasPrefix(name + ":") }
                .flatMap { line in line.split(separator: " ").dropFirst().first.flatMap { Int($0) } }
        }
        guard let rss = field("VmRSS"), let anonymous = field("RssAnon"), let file = field("RssFile") else {
            throw ShellCommandError(command: ["/proc/\(pid)/status"], reason: "no VmRSS", output: status)
        }
        let entries = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")
        var sockets = 0
        var pipes = 0
        for entry in entries {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(entry)")
            else { continue }
            if target.hasPrefix("socket:") { sockets += 1 }
            if target.hasPrefix("pipe:") { pipes += 1 }
        }
        return ProcessResources(
            residentKiB: rss,
            anonymousKiB: anonymous,
            fileKiB: file,
            descriptors: entries.count,
            sockets: sockets,
            pipeEnds: pipes
        )
    }

    var description: String {
        "RSS \(residentKiB) KiB (anon \(anonymousKiB), file \(fileKiB)), \(descriptors) descriptors (\(sockets) sockets, \(pipeEnds) pipe ends)"
    }
}

/// The relay's own figures from its metrics port (127.0.0.1:9090 in its namespace).
struct RelayGauges: CustomStringConvertible {
    var activeConnections: Double
    var pipesInUse: Double
    var pipesIdle: Double
    var text: String

    /// Scrapes `/metrics` in `namespace`.
    static func scrape(_ namespace: String) async throws -> RelayGauges {
        let text = try await ShellCommand.run(
            ["ip", "netns", "exec", namespace, "curl", "-sf", "http://127.0.0.1:9090/metrics"],
            seconds: 10
        ).stdout
        return RelayGauges(
            activeConnections: sum(text, "mptcp_relay_connections_active"),
            pipesInUse: sum(text, "mptcp_relay_pipes", matching: "state=\"in_use\""),
            pipesIdle: sum(text, "mptcp_relay_pipes", matching: "state=\"idle\""),
            text: text
        )
    }

    /// Polls (at most `seconds`) until no connection is open and no pipe is held; returns the last scrape.
    static func waitQuiet(_ namespace: String, seconds: Double = 30) async throws -> RelayGauges {
        let deadline = Date().addingTimeInterval(seconds)
        var last = try await scrape(namespace)
        while (last.activeConnections != 0 || last.pipesInUse != 0) && Date() < deadline {
            try await Task.sleep(nanoseconds: 250_000_000)
            last = try await scrape(namespace)
        }
        return last
    }

    /// The sum of every sample of `name` (with `fragment` among its labels, when given).
    static func sum(_ text: String, _ name: String, matching fragment: String? = nil) -> Double {
        text.split(separator: "\n").reduce(0) { total, line in
            guard line.hasPrefix(name + "{") || line.hasPrefix(name + " ") else { return total }
            if let fragment, !line.contains(fragment) { return total }
            return total + (line.split(separator: " ").last.flatMap { Double($0) } ?? 0)
        }
    }

    /// The value of one counter series of `/metrics`, e.g. `mptcp_relay_connections_closed_total{…}`.
    func sample(_ series: String) -> Double {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }
            .flatMap { $0.split(separator: " ").last.flatMap { Double($0) } } ?? 0
    }

    var description: String {
        "\(activeConnections) connections open, pipes \(pipesInUse) in use and \(pipesIdle) idle"
    }
}

/// One JSON line of `scripts/lib/loadpeer.py`.
struct LoadPeerReport: Decodable, CustomStringConvertible {
    var connections: Int
    var ok: Int
    var errors: [String: Int]
    var seconds: Double
    var peakOpen: Int?
    /// The peer's first error messages (its "loadpeer LABEL: ..." lines on standard error), so that a
    /// failure says which connection, from where, and how many bytes.
    var examples: [String] = []

    enum CodingKeys: String, CodingKey {
        case connections, ok, errors, seconds
        case peakOpen = "peak_open"
    }

    var description: String {
        "\(ok) of \(connections) ok in \(seconds) s"
            + (errors.isEmpty ? "" : ", errors \(errors)")
            + (examples.isEmpty ? "" : "; " + examples.joined(separator: "; "))
    }
}

/// Starts `scripts/lib/loadpeer.py` commands through the harness (stopped at teardown) and reads their
/// reports.
enum LoadPeer {
    static var script: URL { NetworkTestEnvironment.packageRoot.appendingPathComponent("scripts/lib/loadpeer.py") }

    /// `loadpeer.py COMMAND ARGUMENTS` in `namespace`.
    static func start(
        _ harness: RelayTestHarness,
        _ command: String,
        _ arguments: [String],
        in namespace: String,
        name: String
    ) throws -> ChildProcess {
        try harness.start(["ip", "netns", "exec", namespace, "python3", script.path, command] + arguments, name: name)
    }

    /// `loadpeer.py serve` on `endpoint` in `namespace`, waiting until it listens.
    static func serve(
        _ harness: RelayTestHarness,
        _ endpoint: String,
        in namespace: String,
        name: String,
        arguments: [String]
    ) async throws -> ChildProcess {
        let child = try start(harness, "serve", ["--listen", endpoint] + arguments, in: namespace, name: name)
        try await waitFor(child, stderrContaining: "listening on", seconds: 10)
        return child
    }

    /// Waits (bounded) until `child` writes `fragment` to its standard error; throws if it exits first.
    static func waitFor(_ child: ChildProcess, stderrContaining fragment: String, seconds: Double) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !child.stderr.contains(fragment) {
            guard child.isRunning, Date() < deadline else {
                throw ShellCommandError(command: child.command, reason: "no \"\(fragment)\"", output: child.stderr)
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
    }

    /// Waits (at most `seconds`) for `child` to exit and decodes its report, whatever its exit status.
    static func report(_ child: ChildProcess, seconds: Double) async throws -> LoadPeerReport {
        guard try await child.wait(seconds: seconds) != nil else {
            await child.stop()
            throw ShellCommandError(
                command: child.command,
                reason: "still running after \(seconds) s",
                output: child.stderr
            )
        }
        guard let line = child.stdout.split(separator: "\n").last(where: { $0.hasPrefix("{") }) else {
            throw ShellCommandError(command: child.command, reason: "no report", output: child.stdout + child.stderr)
        }
        var report = try JSONDecoder().decode(LoadPeerReport.self, from: Data(line.utf8))
        report.examples = child.stderr.split(separator: "\n")
            .filter {
                $0.hasPrefix("loadpeer ") && !$0.contains("listening on") && !$0.contains("uploads in")
                    && !$0.contains("holding")
            }
            .map(String.init)
        return report
    }
}

extension Topology {
    /// Makes room for thousands of connections (`topo_tune_load`): TIME_WAIT reuse and a wide port range on
    /// the dialing hosts, and socket buffers of at most 1 MiB so that stuck peers hold little kernel memory.
    func tuneForLoad() async throws {
        try await call("topo_tune_load", [prefix], seconds: 30)
    }

    /// Takes gw's `subflow` endpoint away (`topo_no_joins`): connections keep their initial subflow only.
    /// The suites of many connections do this because joins opened at establishment reach a Linux MPTCP bug
    /// that damages about one short stream in 100 000 under load (docs/RELIABILITY.md finding 2): what
    /// they test is the relay's handling of many connections, and a kernel failure there would hide it.
    /// `MPTCP_RELAY_KEEP_JOINS=1` keeps the endpoint (`scripts/stress/churn.sh` sets it, so that the long
    /// pass still catches the kernel bug).
    func withoutJoins() async throws {
        guard ProcessInfo.processInfo.environment["MPTCP_RELAY_KEEP_JOINS"] != "1" else { return }
        try await call("topo_no_joins", [prefix], seconds: 10)
    }
}

extension NetworkTestEnvironment {
    /// The hard open-file limit this process (and so each relay and peer it starts) runs under.
    static var openFileLimit: Int {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        return Int(clamping: limit.rlim_max)
    }
}

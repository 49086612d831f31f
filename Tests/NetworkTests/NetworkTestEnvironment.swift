import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the network suites find the package, the relay binary and the helper scripts, and
/// whether they may run: namespaces need root; outside CI a non-root run skips, in CI it fails.
enum NetworkTestEnvironment {
    static let isRoot = geteuid() == 0
    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"

    /// `MPTCP_RELAY_TEST_KEEP=1` keeps each test's configs and logs (always kept when a step throws).
    static let keepScratch = ProcessInfo.processInfo.environment["MPTCP_RELAY_TEST_KEEP"] == "1"

    /// True when the suites should run: as root, or in CI (where a missing root is a failure).
    static let shouldRun = isRoot || isCI

    /// Why a suite is skipped when `shouldRun` is false.
    static let skipReason: Comment =
        "network suites need root (network namespaces); run as root or set CI=true to fail instead of skipping"

    /// The package root, found from this file's path (symlinks resolved, so a scratch package
    /// that links this folder still finds the real scripts).
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .resolvingSymlinksInPath()
        .deletingLastPathComponent()  // NetworkTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    /// `MPTCP_RELAY_BINARY` if set, else `<package root>/.build/debug/mptcp-relay`.
    static var relayBinary: URL {
        if let path = ProcessInfo.processInfo.environment["MPTCP_RELAY_BINARY"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        return packageRoot.appendingPathComponent(".build/debug/mptcp-relay")
    }

    /// A relay wrapper (`RelayTestHarness.startRelay(wrapper:)`) that runs it as nobody with only
    /// CAP_NET_ADMIN and CAP_NET_BIND_SERVICE, as the issue on least privilege asks relays to run.
    static let unprivileged = [
        "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
        "--bounding-set=-all,+net_admin,+net_bind_service",
        "--inh-caps=-all,+net_admin,+net_bind_service",
        "--ambient-caps=+net_admin,+net_bind_service",
    ]

    static var hashPeer: URL { packageRoot.appendingPathComponent("scripts/lib/hashpeer.py") }

    /// A namespace prefix unique to this process and call.
    static func uniquePrefix(_ tag: String) -> String {
        "mr\(tag)\(getpid() % 100_000)\(UInt8.random(in: 0...255))-"
    }

    /// A fresh scratch directory for configs and logs.
    static func makeScratchDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mptcp-relay-net-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

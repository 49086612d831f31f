// swift-tools-version:6.1
import PackageDescription

// The commit `mptcp-relay --version` prints: packaging/deb/build.sh sets MPTCP_RELAY_COMMIT to `git rev-parse
// --short=12 HEAD`; a plain `swift build` leaves it out and the binary says "commit unknown". Only hex digits (and a
// "-dirty" suffix) pass, so the value cannot inject compiler flags.
let buildCommit = Context.environment["MPTCP_RELAY_COMMIT"].flatMap { value -> String? in
    let hex = value.hasSuffix("-dirty") ? String(value.dropLast(6)) : value
    guard (4...40).contains(hex.count), hex.allSatisfy({ $0.isHexDigit }) else { return nil }
    return value
}

let package = Package(
    name: "mptcp-relay",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "mptcp-relay", targets: ["mptcp-relay"]),
        // The parsers, as libraries for the fuzz package in Fuzz/ (a path dependency sees only products).
        .library(name: "ConvertProtocol", targets: ["ConvertProtocol"]),
        .library(name: "Netlink", targets: ["Netlink"]),
        .library(name: "RelayConfig", targets: ["RelayConfig"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
    ],
    targets: [
        // The only C in the project: liburing's inline functions and what glibc hides behind _GNU_SOURCE.
        .target(
            name: "CLiburing",
            cSettings: [.define("_GNU_SOURCE")],
            linkerSettings: [.linkedLibrary("uring")]
        ),
        // The build's commit, in a C file of its own so that a new commit recompiles one file (Swift has no
        // string-valued compile-time defines; see buildCommit above).
        .target(
            name: "CBuildInfo",
            cSettings: buildCommit.map { [.define("MPTCP_RELAY_COMMIT", to: "\"\($0)\"")] } ?? []
        ),
        .target(name: "ConvertProtocol"),
        // Our own netlink: generic netlink (mptcp_pm commands and events) and rtnetlink, messages and socket.
        .target(name: "Netlink", dependencies: ["CLiburing", "ConvertProtocol"]),
        // Paths, policies and the relay as userspace MPTCP path manager.
        .target(
            name: "PathManager",
            dependencies: [
                "Netlink",
                "ConvertProtocol",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Client authentication on the converter: the HMAC cookie (swift-crypto), the replay cache, limits.
        .target(
            name: "ClientAuthentication",
            dependencies: [
                "ConvertProtocol",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "RelayConfig",
            dependencies: [
                "ClientAuthentication",
                "ConvertProtocol",
                "PathManager",
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),
        .target(
            name: "RelayCore",
            dependencies: [
                "CLiburing",
                "ClientAuthentication",
                "ConvertProtocol",
                "PathManager",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Prometheus /metrics, /healthz and /connections on a side port (SwiftNIO HTTP/1.1, swift-prometheus).
        .target(
            name: "RelayMetrics",
            dependencies: [
                "ClientAuthentication",
                "RelayCore",
                "PathManager",
                "ConvertProtocol",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "MPTCPRelay",
            dependencies: [
                "ClientAuthentication",
                "RelayCore",
                "RelayConfig",
                "RelayMetrics",
                "PathManager",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "mptcp-relay",
            dependencies: [
                "CBuildInfo",
                "ClientAuthentication",
                "MPTCPRelay",
                "RelayConfig",
                "RelayCore",
                "RelayMetrics",
                "ConvertProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(name: "ConvertProtocolTests", dependencies: ["ConvertProtocol"]),
        .testTarget(name: "NetlinkTests", dependencies: ["Netlink", "ConvertProtocol"]),
        .testTarget(name: "ClientAuthenticationTests", dependencies: ["ClientAuthentication", "ConvertProtocol"]),
        .testTarget(
            name: "PathManagerTests",
            dependencies: ["PathManager", "Netlink", "ConvertProtocol"]
        ),
        .testTarget(
            name: "RelayMetricsTests",
            dependencies: ["RelayMetrics", "RelayCore", "PathManager", "ConvertProtocol"]
        ),
        .testTarget(
            name: "RelayConfigTests",
            dependencies: ["RelayConfig", "ConvertProtocol", "PathManager", "ClientAuthentication"]
        ),
        .testTarget(
            name: "RelayCoreTests",
            dependencies: [
                "RelayCore",
                "ConvertProtocol",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "MPTCPRelayTests", dependencies: ["MPTCPRelay", "PathManager"]),
        // Namespace suites: drive the built binary, the shipped scripts and real kernel MPTCP.
        .testTarget(name: "NetworkTests", dependencies: ["RelayCore"]),
    ]
)

// The same upcoming features for every Swift target, as swift-log does; system libraries are skipped.
for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    target.swiftSettings = settings
}

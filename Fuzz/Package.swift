// swift-tools-version:6.1
import PackageDescription

// libFuzzer targets for the parsers that read bytes from outside the process: the Convert codec (peers),
// the config loader (operators' files) and the netlink decoder (the kernel). A package of its own so that
// the main package's `swift build` never compiles them; built and run by `scripts/fuzz.sh`, which passes
// `--sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address`. Without those flags the executables have no
// `main` and do not link.
let package = Package(
    name: "mptcp-relay-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "mptcp-relay", path: "..")
    ],
    targets: [
        .executableTarget(
            name: "ConvertProtocolFuzzer",
            dependencies: [.product(name: "ConvertProtocol", package: "mptcp-relay")]
        ),
        .executableTarget(
            name: "RelayConfigFuzzer",
            dependencies: [.product(name: "RelayConfig", package: "mptcp-relay")]
        ),
        .executableTarget(
            name: "NetlinkFuzzer",
            dependencies: [
                .product(name: "Netlink", package: "mptcp-relay"),
                .product(name: "ConvertProtocol", package: "mptcp-relay"),
            ]
        ),
    ]
)

// The same upcoming features as the main package applies to its targets.
for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    target.swiftSettings = settings
}

import ConvertProtocol
import PathManager
import TOMLKit

#if canImport(Glibc)
import Glibc
#endif

/// The `[[path]]` tables and `[runtime] path_manager`.
extension ConfigDecoder {
    /// The keys of a `[[path]]` table, in documented order.
    static let pathKeys = ["name", "interface", "source", "table", "class", "quota", "probe"]
    /// The keys of a path's `probe` table.
    static let probeKeys = ["target", "interval"]

    /// Decodes the `path` array (absent means no paths), skipping paths with problems after reporting them.
    mutating func decodePaths(_ value: (any TOMLValueConvertible)?) -> [PathDefinition] {
        guard let value else { return [] }
        guard let array = value.array, array.allSatisfy({ $0.type == .table }) else {
            self.report("path", "expected [[path]] tables (an array of tables), found \(Self.describe(value))")
            return []
        }
        var paths: [PathDefinition] = []
        var seen: [String: String] = [:]
        for (offset, element) in array.enumerated() {
            let path = "path[\(offset + 1)]"
            guard let table = element.table else { continue }
            if let definition = self.decodePath(table, path: path, seen: &seen) {
                paths.append(definition)
            }
        }
        if array.count > PathPlan.maximumPaths {
            self.report(
                "path[\(PathPlan.maximumPaths + 1)]",
                "too many paths: \(array.count); at most \(PathPlan.maximumPaths) [[path]] tables"
            )
        }
        return paths
    }

    /// Decodes one `[[path]]`; `path` is `path[N]`.
    mutating func decodePath(_ table: TOMLTable, path: String, seen: inout [String: String]) -> PathDefinition? {
        self.reportUnknownKeys(in: table, path: path, allowed: Self.pathKeys)
        let name = self.uniqueName(table["name"], key: "\(path).name", kind: "path", seen: &seen)
        var valid = name != nil
        var interface: String?
        if let value = table["interface"], let text = self.string(value, key: "\(path).interface") {
            let forbidden = text.utf8.contains { $0 <= 0x20 || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ":") }
            if text.isEmpty || text.utf8.count > 15 || forbidden {
                self.report(
                    "\(path).interface",
                    "\"\(text)\" is not an interface name; expected 1 to 15 characters without spaces, / or :"
                )
                valid = false
            } else {
                interface = text
                if if_nametoindex(text) == 0 {
                    self.warn(
                        "\(path).interface",
                        "no interface \"\(text)\" on this host (yet): the path stays down until it appears"
                    )
                }
            }
        } else if table.contains(key: "interface") {
            valid = false
        }
        var source: IPAddress?
        if let value = table["source"], let text = self.string(value, key: "\(path).source") {
            if let address = IPAddress(text), !address.isUnspecified, !address.isMulticast {
                source = address
            } else {
                self.report("\(path).source", "\"\(text)\" is not a unicast address; expected one such as 198.18.1.1")
                valid = false
            }
        } else if table.contains(key: "source") {
            valid = false
        }
        if interface == nil && source == nil && valid {
            self.report(
                "\(path).interface",
                "missing required key; a path needs interface (\"eth1\"), source (\"198.18.1.1\") or both"
            )
            valid = false
        }
        var routingTable: UInt32?
        if let value = table["table"] {
            if let number = self.integer(value, key: "\(path).table", in: 1...0xFFFF_FFFF) {
                routingTable = UInt32(number)
            } else {
                valid = false
            }
        }
        var pathClass = PathClass.primary
        if let value = table["class"], let text = self.string(value, key: "\(path).class") {
            if let parsed = PathClass(rawValue: text) {
                pathClass = parsed
            } else {
                self.report("\(path).class", "\"\(text)\" is not a path class; expected \"primary\" or \"backup\"")
                valid = false
            }
        } else if table.contains(key: "class") {
            valid = false
        }
        var quota: PathQuota?
        if let value = table["quota"] {
            quota = self.decodeQuota(value, key: "\(path).quota")
            if quota == nil { valid = false }
        }
        var probe: PathProbe?
        if let value = table["probe"] {
            probe = self.decodeProbe(value, key: "\(path).probe", source: source)
            if probe == nil { valid = false }
        }
        guard valid, let name else { return nil }
        return PathDefinition(
            name: name,
            interface: interface,
            source: source,
            table: routingTable,
            pathClass: pathClass,
            quota: quota,
            probe: probe
        )
    }

    /// A path's `probe = { target = "198.51.100.7:443", interval = "5s" }`: an address and port to connect
    /// to (of the source's family, when the path names one) and 1 s to 1 h between probes (default 5 s).
    mutating func decodeProbe(_ value: any TOMLValueConvertible, key: String, source: IPAddress?) -> PathProbe? {
        let example = "{ target = \"198.51.100.7:443\", interval = \"5s\" }"
        guard let table = value.table else {
            self.report(key, "expected a table such as \(example), found \(Self.describe(value))")
            return nil
        }
        self.reportUnknownKeys(in: table, path: key, allowed: Self.probeKeys)
        guard
            let targetValue = self.required(
                table["target"],
                key: "\(key).target",
                expected: "an address and port to connect to, such as \"198.51.100.7:443\""
            ),
            let target = self.endpoint(targetValue, key: "\(key).target", connectable: true)
        else { return nil }
        if let source, source.isIPv4 != target.address.isIPv4 {
            self.report(
                "\(key).target",
                "\(target) is not of the family of the path's source \(source); probe an address of the same family"
            )
            return nil
        }
        var probe = PathProbe(target: target)
        if let value = table["interval"] {
            guard let milliseconds = self.milliseconds(value, key: "\(key).interval", in: 1000...3_600_000) else {
                return nil
            }
            probe.intervalMilliseconds = milliseconds
        }
        return probe
    }

    /// A required name of 1 to 64 of `A-Z a-z 0-9 _ . -`, unique within `seen` (key path of first use).
    mutating func uniqueName(
        _ value: (any TOMLValueConvertible)?,
        key: String,
        kind: String,
        seen: inout [String: String]
    ) -> String? {
        let expected = "expected 1 to 64 of the characters A-Z a-z 0-9 _ . -"
        guard let value = self.required(value, key: key, expected: "\(expected), unique among \(kind)s"),
            let name = self.string(value, key: key)
        else { return nil }
        guard Self.isValidName(name) else {
            self.report(key, "\"\(name)\" is not a valid \(kind) name; \(expected)")
            return nil
        }
        if let first = seen[name] {
            self.report(key, "\"\(name)\" is already the name of \(first); names must be unique")
            return nil
        }
        seen[name] = String(key.dropLast(".name".count))
        return name
    }

    /// Whether `name` is 1 to 64 of `A-Z a-z 0-9 _ . -`.
    static func isValidName(_ name: String) -> Bool {
        let allowed = name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
                true
            default:
                false
            }
        }
        return allowed && (1...64).contains(name.utf8.count)
    }

    /// `[runtime] announce`: unicast addresses, announced through in-kernel `signal` endpoints, which the
    /// userspace path manager (`path_manager = "relay"`) does not use.
    mutating func decodeAnnouncements(_ runtime: TOMLTable?, mode: PathManagerMode) -> [IPAddress] {
        let key = "runtime.announce"
        guard let value = runtime?["announce"] else { return [] }
        guard let array = value.array else {
            self.report(key, "expected an array of addresses such as [\"198.18.2.2\"], found \(Self.describe(value))")
            return []
        }
        var addresses: [IPAddress] = []
        for (offset, element) in array.enumerated() {
            let elementKey = "\(key)[\(offset + 1)]"
            guard let text = self.string(element, key: elementKey) else { continue }
            guard let address = IPAddress(text), !address.isUnspecified, !address.isMulticast, !address.isLoopback
            else {
                self.report(
                    elementKey,
                    "\"\(text)\" is not an address to announce; expected one of this host's unicast addresses"
                )
                continue
            }
            if addresses.contains(address) {
                self.report(elementKey, "\"\(text)\" is listed twice")
                continue
            }
            addresses.append(address)
        }
        if addresses.count > PathPlan.maximumAnnouncements {
            self.report(key, "too many addresses: \(addresses.count); at most \(PathPlan.maximumAnnouncements)")
            return []
        }
        if mode == .relay && !addresses.isEmpty {
            self.report(
                key,
                "announce works through the kernel path manager; it cannot be combined with path_manager = \"relay\""
            )
            return []
        }
        return addresses
    }

    /// `[runtime] join_delay`: seconds between a connection's establishment and its join subflows (`relay`
    /// mode), up to 10; absent, the plan's default.
    mutating func decodeJoinDelay(runtime: TOMLTable?) -> Int64 {
        guard let value = runtime?["join_delay"] else { return PathPlan.defaultJoinDelayMilliseconds }
        return self.joinMilliseconds(value, key: "runtime.join_delay") ?? PathPlan.defaultJoinDelayMilliseconds
    }

    /// A join delay (`join_delay`, a policy's `join_after`): seconds from 0 up to 10, in milliseconds; nil
    /// after reporting why not.
    mutating func joinMilliseconds(_ value: any TOMLValueConvertible, key: String) -> Int64? {
        guard let delay = self.seconds(value, key: key, allowZero: true) else { return nil }
        guard delay <= .seconds(10) else {
            self.report(key, "\(Self.describe(value)) is out of range; expected seconds from 0 up to 10")
            return nil
        }
        let (seconds, attoseconds) = delay.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// Why `path_manager = "kernel"` is a warning: its `subflow` endpoints open every join at once.
    static let kernelJoinWarning =
        "the in-kernel path manager opens join subflows the moment a connection is established, which Linux 6.18 has been seen to answer with a damaged stream (about one short connection in 100 000 under load, docs/RELIABILITY.md finding 2); \"relay\" (the default) opens them after join_delay"

    /// `[runtime] path_manager`, checked against the paths: `relay` and `kernel` need at least one path.
    /// Absent, it is `relay` when paths are configured and `none` otherwise.
    mutating func decodePathManagerMode(runtime: TOMLTable?, paths: [PathDefinition]) -> PathManagerMode {
        let key = "runtime.path_manager"
        guard let value = runtime?["path_manager"] else { return paths.isEmpty ? .none : .relay }
        guard let text = self.string(value, key: key) else { return .none }
        guard let mode = PathManagerMode(rawValue: text) else {
            self.report(key, "\"\(text)\" is not a path manager; expected \"relay\", \"kernel\" or \"none\"")
            return .none
        }
        if mode != .none && paths.isEmpty {
            self.report(key, "path_manager = \"\(text)\" needs at least one [[path]] table to manage")
        }
        if mode == .kernel {
            self.warn(key, Self.kernelJoinWarning)
        }
        return mode
    }
}

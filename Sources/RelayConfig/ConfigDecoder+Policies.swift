import ConvertProtocol
import PathManager
import TOMLKit

/// The `[[policy]]` tables.
extension ConfigDecoder {
    /// The keys of a `[[policy]]` table, in documented order.
    static let policyKeys = [
        "name", "match", "paths", "backup", "backup_mode", "mode", "weights", "congestion", "join_after",
        "join_announced",
    ]
    /// The keys of a policy's `match` table.
    static let matchKeys = ["destination_ports", "destinations"]

    /// Decodes the `policy` array against the decoded `paths` (names are resolved to indices).
    mutating func decodePolicies(_ value: (any TOMLValueConvertible)?, paths: [PathDefinition]) -> [SubflowPolicy] {
        guard let value else { return [] }
        guard let array = value.array, array.allSatisfy({ $0.type == .table }) else {
            self.report("policy", "expected [[policy]] tables (an array of tables), found \(Self.describe(value))")
            return []
        }
        if paths.isEmpty && !array.isEmpty {
            self.report("policy[1]", "a policy names paths, but there is no [[path]] table; add the uplinks first")
            return []
        }
        var policies: [SubflowPolicy] = []
        var seen: [String: String] = ["default": "the implicit default policy"]
        for (offset, element) in array.enumerated() {
            guard let table = element.table else { continue }
            if let policy = self.decodePolicy(table, path: "policy[\(offset + 1)]", paths: paths, seen: &seen) {
                policies.append(policy)
            }
        }
        if array.count >= PathPlan.maximumPolicies {
            self.report("policy", "too many policies: \(array.count); at most \(PathPlan.maximumPolicies - 1)")
        }
        return policies
    }

    /// Decodes one `[[policy]]`; `path` is `policy[N]`.
    mutating func decodePolicy(
        _ table: TOMLTable,
        path: String,
        paths: [PathDefinition],
        seen: inout [String: String]
    ) -> SubflowPolicy? {
        self.reportUnknownKeys(in: table, path: path, allowed: Self.policyKeys)
        let name = self.uniqueName(table["name"], key: "\(path).name", kind: "policy", seen: &seen)
        var valid = name != nil
        let match = table["match"].flatMap { self.decodeMatch($0, path: "\(path).match") }
        if table.contains(key: "match") && match == nil {
            valid = false
        }
        let primaries = self.required(
            table["paths"],
            key: "\(path).paths",
            expected: "expected the names of the paths that carry this policy's subflows, such as [\"dsl\"]"
        ).flatMap { self.pathIndices($0, key: "\(path).paths", paths: paths, allowEmpty: false) }
        if primaries == nil {
            valid = false
        }
        var backups: [Int] = []
        if let value = table["backup"] {
            if let indices = self.pathIndices(value, key: "\(path).backup", paths: paths, allowEmpty: true) {
                backups = indices
                for index in indices where primaries?.contains(index) == true {
                    self.report(
                        "\(path).backup",
                        "\"\(paths[index].name)\" is in both paths and backup; name each path in one of them"
                    )
                    valid = false
                }
            } else {
                valid = false
            }
        }
        var mode = BackupMode.onDemand
        if let value = table["backup_mode"], let text = self.string(value, key: "\(path).backup_mode") {
            if let parsed = BackupMode(rawValue: text) {
                mode = parsed
            } else {
                self.report(
                    "\(path).backup_mode",
                    "\"\(text)\" is not a backup mode; expected \"standby\" or \"on-demand\""
                )
                valid = false
            }
        } else if table.contains(key: "backup_mode") {
            valid = false
        }
        let steering = self.decodeSteering(table, path: path, primaries: primaries, paths: paths)
        if steering == nil { valid = false }
        var congestion: String?
        if let value = table["congestion"], let text = self.string(value, key: "\(path).congestion") {
            let allowed = text.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
            }
            if allowed && (1...15).contains(text.utf8.count) {
                congestion = text
            } else {
                self.report(
                    "\(path).congestion",
                    "\"\(text)\" is not a congestion control name; expected one such as \"bbr\" or \"cubic\""
                )
                valid = false
            }
        } else if table.contains(key: "congestion") {
            valid = false
        }
        var joinAfter: Int64?
        if let value = table["join_after"] {
            joinAfter = self.joinMilliseconds(value, key: "\(path).join_after")
            if joinAfter == nil { valid = false }
        }
        var joinAnnounced: [IPNetwork] = []
        if let value = table["join_announced"] {
            if let networks = self.networks(value, key: "\(path).join_announced") {
                joinAnnounced = networks
            } else {
                valid = false
            }
        }
        guard valid, let name, let primaries, let steering else { return nil }
        return SubflowPolicy(
            name: name,
            match: match ?? PolicyMatch(),
            paths: primaries,
            backups: backups,
            backupMode: mode,
            steering: steering.mode,
            weights: steering.weights,
            congestion: congestion,
            joinAfterMilliseconds: joinAfter,
            joinAnnounced: joinAnnounced
        )
    }

    /// A policy's `mode` and `weights` (weights only with `mode = "weighted"`, each naming one of the
    /// policy's primaries, 1 to 1000; a primary without one weighs 1). Nil after reporting a mistake.
    mutating func decodeSteering(
        _ table: TOMLTable,
        path: String,
        primaries: [Int]?,
        paths: [PathDefinition]
    ) -> (mode: SteeringMode, weights: [Int]?)? {
        var mode = SteeringMode.aggregate
        if let value = table["mode"] {
            guard let text = self.string(value, key: "\(path).mode") else { return nil }
            guard let parsed = SteeringMode(rawValue: text) else {
                let known = SteeringMode.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
                self.report("\(path).mode", "\"\(text)\" is not a steering mode; expected one of \(known)")
                return nil
            }
            mode = parsed
        }
        guard let value = table["weights"] else { return (mode, nil) }
        guard mode == .weighted else {
            self.report("\(path).weights", "weights apply only with mode = \"weighted\"; add it or remove weights")
            return nil
        }
        guard let weightTable = value.table else {
            self.report(
                "\(path).weights",
                "expected a table of path weights such as { cable = 3, dsl = 1 }, found \(Self.describe(value))"
            )
            return nil
        }
        guard let primaries else { return nil }
        var weights = Array(repeating: 1, count: primaries.count)
        var valid = true
        for (name, weight) in weightTable {
            let key = "\(path).weights.\(name)"
            guard let position = primaries.firstIndex(where: { paths[$0].name == name }) else {
                let names = primaries.map { paths[$0].name }
                self.report(
                    key,
                    "\"\(name)\" is not one of this policy's paths; weights name its paths: \(names.joined(separator: ", "))"
                )
                valid = false
                continue
            }
            if let parsed = self.integer(weight, key: key, in: 1...1000) {
                weights[position] = parsed
            } else {
                valid = false
            }
        }
        return valid ? (mode, weights) : nil
    }

    /// A policy's `match = { destination_ports = [...], destinations = [...] }`.
    mutating func decodeMatch(_ value: any TOMLValueConvertible, path: String) -> PolicyMatch? {
        guard let table = value.table else {
            self.report(path, "expected a table such as { destination_ports = [22] }, found \(Self.describe(value))")
            return nil
        }
        self.reportUnknownKeys(in: table, path: path, allowed: Self.matchKeys)
        var valid = true
        var ports: [UInt16] = []
        if let value = table["destination_ports"] {
            if let array = value.array {
                for (offset, element) in array.enumerated() {
                    if let port = self.integer(element, key: "\(path).destination_ports[\(offset + 1)]", in: 1...65535)
                    {
                        ports.append(UInt16(port))
                    } else {
                        valid = false
                    }
                }
            } else {
                self.report("\(path).destination_ports", "expected an array of ports such as [22, 443]")
                valid = false
            }
        }
        var networks: [IPNetwork] = []
        if let value = table["destinations"] {
            if let array = value.array {
                for (offset, element) in array.enumerated() {
                    let key = "\(path).destinations[\(offset + 1)]"
                    guard let text = self.string(element, key: key) else {
                        valid = false
                        continue
                    }
                    if let network = IPNetwork(text) {
                        networks.append(network)
                    } else {
                        self.report(key, "\"\(text)\" is not a network; expected ADDRESS/PREFIX such as 0.0.0.0/0")
                        valid = false
                    }
                }
            } else {
                self.report("\(path).destinations", "expected an array of networks such as [\"0.0.0.0/0\"]")
                valid = false
            }
        }
        return valid ? PolicyMatch(destinationPorts: ports, destinations: networks) : nil
    }

    /// Path names resolved to indices into `paths`; reports unknown names and repeats.
    mutating func pathIndices(
        _ value: any TOMLValueConvertible,
        key: String,
        paths: [PathDefinition],
        allowEmpty: Bool
    ) -> [Int]? {
        guard let array = value.array else {
            self.report(key, "expected an array of path names such as [\"dsl\"], found \(Self.describe(value))")
            return nil
        }
        if array.isEmpty && !allowEmpty {
            self.report(key, "expected at least one path name")
            return nil
        }
        var indices: [Int] = []
        var valid = true
        let names = paths.map(\.name)
        for (offset, element) in array.enumerated() {
            let elementKey = "\(key)[\(offset + 1)]"
            guard let name = self.string(element, key: elementKey) else {
                valid = false
                continue
            }
            guard let index = names.firstIndex(of: name) else {
                let hint = Self.closest(to: name, among: names).map { "; did you mean \"\($0)\"?" }
                self.report(
                    elementKey,
                    "no [[path]] is named \"\(name)\"" + (hint ?? "; expected one of \(names.joined(separator: ", "))")
                )
                valid = false
                continue
            }
            if indices.contains(index) {
                self.report(elementKey, "\"\(name)\" is named twice")
                valid = false
                continue
            }
            indices.append(index)
        }
        return valid ? indices : nil
    }
}

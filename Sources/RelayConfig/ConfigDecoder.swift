import ConvertProtocol
import PathManager
import TOMLKit

/// Turns a parsed TOML document into a ``RelayConfiguration``, checking every value and collecting
/// every problem as a ``ConfigError`` located through the ``ConfigSourceMap``.
///
/// The decode functions keep going after a problem so that one run reports them all; the result is
/// only meaningful when ``errors`` is empty.
struct ConfigDecoder {
    /// The file name put into every error.
    let file: String

    /// Where each key path sits in the text.
    let sourceMap: ConfigSourceMap

    /// The problems found so far, in the order they were found.
    private(set) var errors: [ConfigError] = []
    /// What is valid but worth a look, such as a path naming an interface this host does not have yet.
    private(set) var warnings: [ConfigError] = []

    /// Listener names seen so far, with the key path of the listener that used each first.
    var seenNames: [String: String] = [:]

    /// Listen endpoints seen so far, with the key path of the listener that used each first.
    var seenEndpoints: [Endpoint: String] = [:]

    /// Whether the file has `[[client]]` tables (decoded before the listeners that need them).
    var haveClients = false

    init(file: String, sourceMap: ConfigSourceMap) {
        self.file = file
        self.sourceMap = sourceMap
    }

    /// The errors ordered by line, keeping the order they were found in within a line.
    var sortedErrors: [ConfigError] {
        self.errors.enumerated()
            .sorted { ($0.element.line, $0.offset) < ($1.element.line, $1.offset) }
            .map(\.element)
    }

    /// Records something that is valid but probably not what was meant (the relay still starts).
    mutating func warn(_ key: String, _ message: String) {
        let line = self.sourceMap.nearestLine(for: key)
        self.warnings.append(ConfigError(file: self.file, line: line, key: key, message: message))
    }

    /// Records a problem with `key`, located at the key's line or, if it is not written, at its table.
    mutating func report(_ key: String, _ message: String) {
        let line = self.sourceMap.nearestLine(for: key)
        self.errors.append(ConfigError(file: self.file, line: line, key: key, message: message))
    }

    /// Decodes the whole document; check ``errors`` before using the result.
    mutating func decode(root: TOMLTable) -> RelayConfiguration? {
        let known = [Key.runtime, Key.listener, Key.path, Key.policy, Key.metrics, Key.client, Key.health]
        for key in root.keys where !known.contains(key) {
            let value = root[key]
            let what: String
            if value?.type == .table {
                what = "unknown table [\(key)]"
            } else if let array = value?.array, !array.isEmpty, array.allSatisfy({ $0.type == .table }) {
                what = "unknown table [[\(key)]]"
            } else {
                what = "unknown top-level key"
            }
            let suggestion = Self.closest(to: key, among: known)
            let expected =
                suggestion.map { "did you mean \"\($0)\"?" }
                ?? "expected only [runtime], [metrics], [health], [[listener]], [[client]], [[path]] and [[policy]] tables"
            self.report(key, "\(what); \(expected)")
        }
        let runtime = self.decodeRuntime(root[Key.runtime])
        let clients = self.decodeClients(root[Key.client])
        // Tables that failed to decode count too: their own errors say what is wrong, not "no clients".
        self.haveClients = root[Key.client]?.array?.isEmpty == false
        let listeners = self.decodeListeners(root[Key.listener])
        let paths = self.decodePaths(root[Key.path])
        let policies = self.decodePolicies(root[Key.policy], paths: paths)
        let mode = self.decodePathManagerMode(runtime: root[Key.runtime]?.table, paths: paths)
        let announcements = self.decodeAnnouncements(root[Key.runtime]?.table, mode: mode)
        let joinDelay = self.decodeJoinDelay(runtime: root[Key.runtime]?.table)
        let health = self.decodeHealth(root[Key.health], paths: paths)
        if health == nil, root[Key.health] == nil, let tables = root[Key.policy]?.array {
            for (offset, table) in tables.enumerated() where table.table?["mode"]?.string == "lowest-rtt" {
                self.report(
                    "policy[\(offset + 1)].mode",
                    "\"lowest-rtt\" compares the RTT the health checks measure; add a [health] table"
                )
            }
        }
        if health == nil, root[Key.health] == nil, let tables = root[Key.path]?.array {
            for (offset, table) in tables.enumerated() where table.table?.contains(key: "probe") == true {
                self.report(
                    "path[\(offset + 1)].probe",
                    "a probe's results are judged by the health checks; add a [health] table (empty for the defaults)"
                )
            }
        }
        let metrics = self.decodeMetrics(root[Key.metrics])
        self.checkMetricsPort(runtime: runtime, metrics: metrics)
        guard let runtime else { return nil }
        return RelayConfiguration(
            runtime: runtime,
            metrics: metrics,
            listeners: listeners,
            pathPlan: PathPlan(
                mode: mode,
                paths: paths,
                policies: policies,
                announcements: announcements,
                joinDelayMilliseconds: joinDelay,
                health: health
            ),
            clients: clients
        )
    }

    /// The key names of the format, as written in files.
    enum Key {
        static let runtime = "runtime"
        static let listener = "listener"
        static let path = "path"
        static let policy = "policy"
        static let metrics = "metrics"
        static let client = "client"
        static let health = "health"
    }
}

// MARK: - Shared value checks

extension ConfigDecoder {
    /// Reports every key of `table` that is not in `allowed` (with a spelling suggestion when one is close).
    mutating func reportUnknownKeys(in table: TOMLTable, path: String, allowed: [String]) {
        for key in table.keys where !allowed.contains(key) {
            let kind = table[key]?.type == .table ? "unknown table" : "unknown key"
            if let suggestion = Self.closest(to: key, among: allowed) {
                self.report("\(path).\(key)", "\(kind); did you mean \"\(suggestion)\"?")
            } else {
                self.report("\(path).\(key)", "\(kind); expected one of \(allowed.joined(separator: ", "))")
            }
        }
    }

    /// An integer within `range`, or `nil` after reporting why not.
    mutating func integer(_ value: any TOMLValueConvertible, key: String, in range: ClosedRange<Int>) -> Int? {
        guard let number = value.int else {
            self.report(key, "expected an integer, found \(Self.describe(value))")
            return nil
        }
        guard range.contains(number) else {
            self.report(key, "\(number) is out of range; expected \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return number
    }

    /// A number of seconds (integer or fractional), greater than 0 (or also 0 when `allowZero`) and
    /// at most one day, as a `Duration`.
    mutating func seconds(_ value: any TOMLValueConvertible, key: String, allowZero: Bool) -> Duration? {
        let expected = "expected seconds \(allowZero ? "from 0" : "greater than 0") up to 86400"
        let seconds: Double
        if let integer = value.int {
            seconds = Double(integer)
        } else if let double = value.double {
            seconds = double
        } else {
            self.report(key, "expected a number of seconds, found \(Self.describe(value))")
            return nil
        }
        guard seconds.isFinite, seconds <= 86400, seconds > 0 || (allowZero && seconds == 0) else {
            self.report(key, "\(Self.describe(value)) is out of range; \(expected)")
            return nil
        }
        if let integer = value.int {
            return .seconds(integer)
        }
        return .nanoseconds(Int64((seconds * 1e9).rounded()))
    }

    /// A boolean, or `nil` after reporting why not.
    mutating func boolean(_ value: any TOMLValueConvertible, key: String) -> Bool? {
        guard let flag = value.bool else {
            self.report(key, "expected true or false, found \(Self.describe(value))")
            return nil
        }
        return flag
    }

    /// A string, or `nil` after reporting a value of another type.
    mutating func string(_ value: any TOMLValueConvertible, key: String) -> String? {
        guard let text = value.string else {
            self.report(key, "expected a string, found \(Self.describe(value))")
            return nil
        }
        return text
    }

    /// An `ADDRESS:PORT` or `[IPv6]:PORT` string with a port other than 0. When `connectable`, the
    /// address must also be one a connection can be made to (not unspecified, not multicast).
    mutating func endpoint(_ value: any TOMLValueConvertible, key: String, connectable: Bool) -> Endpoint? {
        guard let text = self.string(value, key: key) else { return nil }
        guard let endpoint = Endpoint(text) else {
            self.report(key, "\"\(text)\" is not an endpoint; expected ADDRESS:PORT or [IPv6]:PORT")
            return nil
        }
        guard endpoint.port != 0 else {
            self.report(key, "\"\(text)\" has port 0; expected a port from 1 to 65535")
            return nil
        }
        if endpoint.address.isMulticast {
            self.report(key, "\"\(text)\" is a multicast address; expected a unicast address")
            return nil
        }
        if connectable && endpoint.address.isUnspecified {
            self.report(
                key,
                "\"\(text)\" has an unspecified address, which cannot be connected to; expected the host's address"
            )
            return nil
        }
        return endpoint
    }

    /// A short description of a value for messages: `string "2"`, `integer 2`, `a table`.
    static func describe(_ value: any TOMLValueConvertible) -> String {
        switch value.type {
        case .string: "string \"\(value.string ?? "")\""
        case .int: "integer \(value.int.map(String.init) ?? "")"
        case .double: "number \(value.double.map { "\($0)" } ?? "")"
        case .bool: "boolean \(value.bool.map { "\($0)" } ?? "")"
        case .table: "a table"
        case .array: "an array"
        case .date, .time, .dateTime: "a date or time"
        }
    }

    /// The candidate within two edits of `key`, for "did you mean" hints on typos.
    static func closest(to key: String, among candidates: [String]) -> String? {
        candidates
            .map { (candidate: $0, distance: Self.editDistance(key, $0)) }
            .filter { $0.distance <= 2 }
            .min { $0.distance < $1.distance }?
            .candidate
    }

    /// Levenshtein distance over characters.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            previous = current
        }
        return previous[b.count]
    }
}

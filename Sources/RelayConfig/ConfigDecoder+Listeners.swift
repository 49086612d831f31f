import ClientAuthentication
import ConvertProtocol
import TOMLKit

/// The `[[listener]]` tables.
extension ConfigDecoder {
    /// Keys every listener takes.
    static let commonListenerKeys = ["name", "role", "listen"]
    /// The keys each role takes beyond the common ones, in documented order.
    static let roleKeys: [(role: String, keys: [String])] = [
        ("forward", ["upstream", "destination", "mark", "client", "key", "key_file"]),
        ("transparent", ["upstream", "mark", "client", "key", "key_file"]),
        ("convert", ["allow", "backend", "authentication"]),
    ]
    /// Every role-specific key.
    static let allRoleKeys = [
        "upstream", "destination", "mark", "client", "key", "key_file", "allow", "backend", "authentication",
    ]
    /// The roles the format names.
    static let expectedRoles = "expected \"forward\", \"transparent\" or \"convert\""

    /// Decodes the `listener` array, reporting an absent or empty one, and skipping (after reporting)
    /// listeners that have problems.
    mutating func decodeListeners(_ value: (any TOMLValueConvertible)?) -> [ListenerConfiguration] {
        let noListener = "no listener; add at least one [[listener]] table with name, role and listen"
        guard let value else {
            self.report("listener", noListener)
            return []
        }
        guard let array = value.array else {
            if value.type == .table {
                self.report(
                    "listener",
                    "expected [[listener]] tables (an array of tables), found [listener]; write [[listener]]"
                )
            } else {
                self.report("listener", "expected [[listener]] tables, found \(Self.describe(value))")
            }
            return []
        }
        guard !array.isEmpty else {
            self.report("listener", noListener)
            return []
        }
        var listeners: [ListenerConfiguration] = []
        for (offset, element) in array.enumerated() {
            let path = "listener[\(offset + 1)]"
            guard let table = element.table else {
                self.report(path, "expected a [[listener]] table, found \(Self.describe(element))")
                continue
            }
            if let listener = self.decodeListener(table, path: path) {
                listeners.append(listener)
            }
        }
        return listeners
    }

    /// Decodes one listener; `path` is `listener[N]`.
    mutating func decodeListener(_ table: TOMLTable, path: String) -> ListenerConfiguration? {
        let allKeys = Self.commonListenerKeys + Self.allRoleKeys
        self.reportUnknownKeys(in: table, path: path, allowed: allKeys)

        // In the documented key order, so that errors on one line (missing keys) read naturally.
        let name = self.decodeListenerName(table["name"], path: path)
        let roleName = self.required(table["role"], key: "\(path).role", expected: Self.expectedRoles).flatMap {
            self.string($0, key: "\(path).role")
        }
        let listen = self.decodeListenAddress(table["listen"], path: path)
        let role: ListenerRole?
        if let roleName, Self.roleKeys.contains(where: { $0.role == roleName }) {
            self.reportMisplacedKeys(in: table, path: path, role: roleName)
        }
        switch roleName {
        case "forward":
            role = self.decodeForward(table, path: path)
        case "transparent":
            role = self.decodeTransparent(table, path: path)
        case "convert":
            role = self.decodeConvert(table, path: path)
        case let other?:
            self.report("\(path).role", "\"\(other)\" is not a role; \(Self.expectedRoles)")
            role = nil
        case nil:
            role = nil
        }
        let mark = table["mark"].flatMap { self.integer($0, key: "\(path).mark", in: 1...0xFFFF_FFFF) }
        if table.contains(key: "mark") && mark == nil { return nil }
        var valid = true
        var identity: ClientIdentity?
        var authenticates = false
        switch role {
        case .forward, .transparent:
            identity = self.decodeIdentity(table, path: path, valid: &valid)
        case .convert(_, let backend):
            authenticates = self.decodeAuthentication(table["authentication"], path: path, backend: backend)
        case nil:
            break
        }
        guard valid, let name, let listen, let role else { return nil }
        return ListenerConfiguration(
            name: name,
            listen: listen,
            role: role,
            upstreamMark: mark.map(UInt32.init),
            clientIdentity: identity,
            authenticatesClients: authenticates
        )
    }

    /// `value`, or `nil` after reporting that the key is missing.
    mutating func required(
        _ value: (any TOMLValueConvertible)?,
        key: String,
        expected: String
    ) -> (any TOMLValueConvertible)? {
        if value == nil {
            self.report(key, "missing required key; \(expected)")
        }
        return value
    }

    /// `name`: required, `[A-Za-z0-9_.-]{1,64}`, unique among listeners.
    mutating func decodeListenerName(_ value: (any TOMLValueConvertible)?, path: String) -> String? {
        var seen = self.seenNames
        defer { self.seenNames = seen }
        return self.uniqueName(value, key: "\(path).name", kind: "listener", seen: &seen)
    }

    /// `listen`: required, a local endpoint not already used by another listener.
    mutating func decodeListenAddress(_ value: (any TOMLValueConvertible)?, path: String) -> Endpoint? {
        let key = "\(path).listen"
        guard
            let value = self.required(
                value,
                key: key,
                expected: "expected the ADDRESS:PORT or [IPv6]:PORT to accept on"
            ),
            let endpoint = self.endpoint(value, key: key, connectable: false)
        else { return nil }
        if let first = self.seenEndpoints[endpoint] {
            self.report(key, "\(endpoint) is already the listen endpoint of \(first); each listener needs its own")
            return nil
        }
        self.seenEndpoints[endpoint] = path
        return endpoint
    }

    /// Reports each role-specific key present in a listener whose role does not take it.
    mutating func reportMisplacedKeys(in table: TOMLTable, path: String, role: String) {
        let own = Self.roleKeys.first { $0.role == role }?.keys ?? []
        for key in Self.allRoleKeys where table.contains(key: key) && !own.contains(key) {
            let owners = Self.roleKeys.filter { $0.keys.contains(key) }.map { "\"\($0.role)\"" }
            let ownList = own.count > 1 ? own.dropLast().joined(separator: ", ") + " and " + own.last! : own.joined()
            self.report(
                "\(path).\(key)",
                "\(key) belongs to role \(owners.joined(separator: " or ")); a \(role) listener takes \(ownList)"
            )
        }
    }

    /// `upstream` and `destination`, both required.
    mutating func decodeForward(_ table: TOMLTable, path: String) -> ListenerRole? {
        let upstream = self.required(
            table["upstream"],
            key: "\(path).upstream",
            expected: "expected the server-side converter's ADDRESS:PORT, reached over MPTCP"
        ).flatMap { self.endpoint($0, key: "\(path).upstream", connectable: true) }
        let destination = self.required(
            table["destination"],
            key: "\(path).destination",
            expected: "expected the ADDRESS:PORT the converter must connect to"
        ).flatMap { self.endpoint($0, key: "\(path).destination", connectable: true) }
        guard let upstream, let destination else { return nil }
        return .forward(upstream: upstream, destination: destination)
    }

    /// `upstream`, required: the original destination comes from each accepted socket.
    mutating func decodeTransparent(_ table: TOMLTable, path: String) -> ListenerRole? {
        self.required(
            table["upstream"],
            key: "\(path).upstream",
            expected: "expected the server-side converter's ADDRESS:PORT, reached over MPTCP"
        ).flatMap { self.endpoint($0, key: "\(path).upstream", connectable: true) }
            .map { .transparent(upstream: $0) }
    }

    /// `allow` (networks, default none) and `backend` (optional), which exclude each other: with a
    /// fixed backend clients send no Convert header, so there is no destination to allow.
    mutating func decodeConvert(_ table: TOMLTable, path: String) -> ListenerRole? {
        var valid = true
        var networks: [IPNetwork] = []
        if let value = table["allow"] {
            if let decoded = self.networks(value, key: "\(path).allow") {
                networks = decoded
            } else {
                valid = false
            }
        }
        var backend: Endpoint?
        if let value = table["backend"] {
            backend = self.endpoint(value, key: "\(path).backend", connectable: true)
            if backend == nil {
                valid = false
            }
            if table.contains(key: "allow") {
                self.report(
                    "\(path).allow",
                    "allow cannot be combined with backend: with a fixed backend clients send no Convert header, so there is no destination to allow; remove one of them"
                )
                valid = false
            }
        }
        return valid ? .convert(allow: networks, backend: backend) : nil
    }

    /// A convert listener's `authentication`: `"clients"` (the default: a Cookie TLV from a `[[client]]`
    /// is required) or `"none"` (anyone reaching the port is relayed, within `allow`). A fixed `backend`
    /// reads no header, so it authenticates nobody: `"clients"` is an error there.
    mutating func decodeAuthentication(
        _ value: (any TOMLValueConvertible)?,
        path: String,
        backend: Endpoint?
    ) -> Bool {
        let key = "\(path).authentication"
        guard let value else {
            guard backend == nil else { return false }
            if !self.haveClients {
                self.report(
                    key,
                    "this converter would relay for anyone who reaches it: add [[client]] tables (mptcp-relay keygen --name NAME prints one) or say authentication = \"none\" explicitly"
                )
            }
            return true
        }
        guard let text = self.string(value, key: key) else { return true }
        switch text {
        case "none":
            return false
        case "clients":
            if backend != nil {
                self.report(
                    key,
                    "a listener with a fixed backend reads no Convert header, so it cannot check clients; remove authentication or backend"
                )
            } else if !self.haveClients {
                self.report(
                    key,
                    "authentication = \"clients\" needs [[client]] tables (mptcp-relay keygen --name NAME)"
                )
            }
            return true
        default:
            self.report(key, "\"\(text)\" is not an authentication mode; expected \"clients\" or \"none\"")
            return true
        }
    }
}

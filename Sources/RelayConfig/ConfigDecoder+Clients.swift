import ClientAuthentication
import ConvertProtocol
import PathManager
import TOMLKit

#if canImport(Glibc)
import Glibc
#endif

/// The `[[client]]` tables (a converter's clients) and the key settings of forward and transparent
/// listeners.
extension ConfigDecoder {
    /// The keys of a `[[client]]` table, in documented order.
    static let clientKeys = ["name", "key", "key_file", "allow", "ports", "max_connections", "max_new_per_second"]

    /// Decodes the `client` array (absent: no clients).
    mutating func decodeClients(_ value: (any TOMLValueConvertible)?) -> [ClientCredentials] {
        guard let value else { return [] }
        guard let array = value.array, array.allSatisfy({ $0.type == .table }) else {
            self.report("client", "expected [[client]] tables (an array of tables), found \(Self.describe(value))")
            return []
        }
        var clients: [ClientCredentials] = []
        var seen: [String: String] = [:]
        for (offset, element) in array.enumerated() {
            let path = "client[\(offset + 1)]"
            guard let table = element.table else { continue }
            if let client = self.decodeClient(table, path: path, seen: &seen) {
                clients.append(client)
            }
        }
        return clients
    }

    /// Decodes one `[[client]]`; `path` is `client[N]`.
    mutating func decodeClient(
        _ table: TOMLTable,
        path: String,
        seen: inout [String: String]
    ) -> ClientCredentials? {
        self.reportUnknownKeys(in: table, path: path, allowed: Self.clientKeys)
        let name = self.uniqueName(table["name"], key: "\(path).name", kind: "client", seen: &seen)
        var keys: [ClientKey] = []
        var valid = true
        for keyName in ["key", "key_file"] {
            guard let value = table[keyName] else { continue }
            let entries: [(any TOMLValueConvertible, String)]
            if let array = value.array {
                entries = array.enumerated().map { ($0.element, "\(path).\(keyName)[\($0.offset + 1)]") }
            } else {
                entries = [(value, "\(path).\(keyName)")]
            }
            for (element, key) in entries {
                guard let text = self.string(element, key: key) else {
                    valid = false
                    continue
                }
                let decoded = keyName == "key" ? self.clientKey(text, key: key) : self.clientKey(file: text, key: key)
                if let decoded { keys.append(decoded) } else { valid = false }
            }
        }
        if valid && keys.isEmpty {
            self.report(
                "\(path).key",
                "missing key; expected key = \"BASE64\" or key_file = \"PATH\" (mptcp-relay keygen makes one)"
            )
            valid = false
        }
        if keys.count > 2 {
            self.report("\(path).key", "\(keys.count) keys; at most two are valid at once (the old and the new one)")
            valid = false
        }
        let allow = table["allow"].map { self.networks($0, key: "\(path).allow") }
        if allow.map({ $0 == nil }) == true { valid = false }
        var ports: Set<UInt16>?
        if let value = table["ports"] {
            if let array = value.array {
                var set: Set<UInt16> = []
                for (offset, element) in array.enumerated() {
                    if let port = self.integer(element, key: "\(path).ports[\(offset + 1)]", in: 1...65535) {
                        set.insert(UInt16(port))
                    } else {
                        valid = false
                    }
                }
                ports = set
            } else {
                self.report(
                    "\(path).ports",
                    "expected an array of ports such as [80, 443], found \(Self.describe(value))"
                )
                valid = false
            }
        }
        let maxConnections = table["max_connections"].flatMap {
            self.integer($0, key: "\(path).max_connections", in: 1...10_000_000)
        }
        let maxNew = table["max_new_per_second"].flatMap {
            self.integer($0, key: "\(path).max_new_per_second", in: 1...10_000_000)
        }
        if (table.contains(key: "max_connections") && maxConnections == nil)
            || (table.contains(key: "max_new_per_second") && maxNew == nil)
        {
            valid = false
        }
        guard valid, let name else { return nil }
        return ClientCredentials(
            name: name,
            keys: keys,
            allow: allow ?? nil,
            ports: ports,
            maxConnections: maxConnections,
            maxNewPerSecond: maxNew
        )
    }

    /// A key written in the file, or nil after reporting why not.
    mutating func clientKey(_ text: String, key: String) -> ClientKey? {
        guard let decoded = ClientKey(base64: text) else {
            self.report(key, "not a key; expected 256 bits in base64 (44 characters), as mptcp-relay keygen prints")
            return nil
        }
        return decoded
    }

    /// The key in file `name` (relative to the config file's folder), or nil after reporting why not: a
    /// file that group or others may read is refused, so that a key never lies open by mistake.
    mutating func clientKey(file name: String, key: String) -> ClientKey? {
        let path: String
        if name.hasPrefix("/") {
            path = name
        } else if let slash = self.file.lastIndex(of: "/") {
            path = String(self.file[...slash]) + name
        } else {
            path = name
        }
        var status = stat()
        guard stat(path, &status) == 0 else {
            self.report(key, "cannot read key file \(path): \(String(cString: strerror(errno)))")
            return nil
        }
        let mode = status.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            self.report(
                key,
                "key file \(path) is readable by group or others (mode \(String(mode, radix: 8))); run chmod 600 \(path)"
            )
            return nil
        }
        guard let text = SmallTextFile.read(path) else {
            self.report(key, "cannot read key file \(path): \(String(cString: strerror(errno)))")
            return nil
        }
        guard let decoded = ClientKey(base64: text) else {
            self.report(key, "key file \(path) holds no key; expected 256 bits in base64 (mptcp-relay keygen)")
            return nil
        }
        return decoded
    }

    /// An array of networks, or nil after reporting what is wrong with it.
    mutating func networks(_ value: any TOMLValueConvertible, key: String) -> [IPNetwork]? {
        guard let array = value.array else {
            self.report(key, "expected an array of networks such as [\"198.19.0.0/24\"], found \(Self.describe(value))")
            return nil
        }
        var networks: [IPNetwork] = []
        var valid = true
        for (offset, element) in array.enumerated() {
            let elementKey = "\(key)[\(offset + 1)]"
            guard let text = self.string(element, key: elementKey) else {
                valid = false
                continue
            }
            guard let network = IPNetwork(text) else {
                self.report(
                    elementKey,
                    "\"\(text)\" is not a network; expected ADDRESS/PREFIX such as 198.19.0.0/24, or an address"
                )
                valid = false
                continue
            }
            networks.append(network)
        }
        return valid ? networks : nil
    }

    /// A forward or transparent listener's `client`, `key` and `key_file`: the identity it sends, or nil
    /// when it sends none; `valid` is cleared after a reported problem.
    mutating func decodeIdentity(_ table: TOMLTable, path: String, valid: inout Bool) -> ClientIdentity? {
        let name = table["client"].flatMap { self.string($0, key: "\(path).client") }
        var key: ClientKey?
        if let value = table["key"], let text = self.string(value, key: "\(path).key") {
            key = self.clientKey(text, key: "\(path).key")
        }
        if let value = table["key_file"], let text = self.string(value, key: "\(path).key_file") {
            if table.contains(key: "key") {
                self.report("\(path).key_file", "key and key_file both given; keep one")
                valid = false
            }
            key = self.clientKey(file: text, key: "\(path).key_file")
        }
        let hasKey = table.contains(key: "key") || table.contains(key: "key_file")
        if table.contains(key: "client") && !hasKey {
            self.report("\(path).client", "a client name needs its key: add key = \"BASE64\" or key_file = \"PATH\"")
            valid = false
        }
        if hasKey && !table.contains(key: "client") {
            self.report("\(path).key", "a key needs the client name the converter knows it by: add client = \"NAME\"")
            valid = false
        }
        if let name, !Self.isValidName(name) {
            self.report(
                "\(path).client",
                "\"\(name)\" is not a valid client name; expected 1 to 64 of the characters A-Z a-z 0-9 _ . -"
            )
            valid = false
        }
        guard let name, let key else {
            if table.contains(key: "client") || hasKey { valid = false }
            return nil
        }
        return ClientIdentity(name: name, key: key)
    }
}

import ConvertProtocol
import TOMLKit

#if canImport(Glibc)
import Glibc
#endif

/// The `[runtime]` table.
extension ConfigDecoder {
    /// The keys of `[runtime]`, in the order the documentation lists them.
    static let runtimeKeys = [
        "workers", "connect_timeout", "header_timeout", "idle_timeout", "max_connections", "pipe_size",
        "data_path", "io_backend", "fast_open", "path_manager", "join_delay", "announce", "cookie_window",
        "replay_cache", "drain_timeout", "max_pending_headers", "max_error_answers", "keepalive", "user", "group",
        "state_directory",
    ]

    /// The keys of `[runtime] keepalive`.
    static let keepaliveKeys = ["idle", "interval", "count"]

    /// Decodes `[runtime]`, using defaults for absent keys (and for the whole table when absent).
    /// Returns `nil` only when `runtime` is not a table at all.
    mutating func decodeRuntime(_ value: (any TOMLValueConvertible)?) -> RuntimeSettings? {
        var settings = RuntimeSettings()
        guard let value else { return settings }
        guard let table = value.table else {
            self.report("runtime", "expected a [runtime] table, found \(Self.describe(value))")
            return nil
        }
        self.reportUnknownKeys(in: table, path: "runtime", allowed: Self.runtimeKeys)

        if let value = table["workers"] {
            settings.workers = self.integer(value, key: "runtime.workers", in: 1...1024)
        }
        if let value = table["connect_timeout"],
            let duration = self.seconds(value, key: "runtime.connect_timeout", allowZero: false)
        {
            settings.connectTimeout = duration
        }
        if let value = table["header_timeout"],
            let duration = self.seconds(value, key: "runtime.header_timeout", allowZero: false)
        {
            settings.headerTimeout = duration
        }
        if let value = table["idle_timeout"],
            let duration = self.seconds(value, key: "runtime.idle_timeout", allowZero: true)
        {
            settings.idleTimeout = duration == .zero ? nil : duration
        }
        if let value = table["max_connections"],
            let count = self.integer(value, key: "runtime.max_connections", in: 1...1_000_000)
        {
            settings.maxConnections = count
        }
        if let value = table["pipe_size"],
            let size = self.integer(value, key: "runtime.pipe_size", in: 4096...1_048_576)
        {
            if size.nonzeroBitCount == 1 {
                settings.pipeSize = size
            } else {
                self.report("runtime.pipe_size", "\(size) is not a power of two; expected one of 4096, 8192, … 1048576")
            }
        }
        if let value = table["data_path"], let text = self.string(value, key: "runtime.data_path") {
            if let path = DataPathSetting(rawValue: text) {
                settings.dataPath = path
            } else {
                self.report(
                    "runtime.data_path",
                    "\"\(text)\" is not a data path; expected \"auto\", \"splice\" or \"copy\""
                )
            }
        }
        if let value = table["io_backend"], let text = self.string(value, key: "runtime.io_backend") {
            if let backend = IOBackendSetting(rawValue: text) {
                settings.ioBackend = backend
            } else {
                self.report(
                    "runtime.io_backend",
                    "\"\(text)\" is not an I/O backend; expected \"auto\", \"io_uring\" or \"epoll\""
                )
            }
        }
        if let value = table["fast_open"], let flag = self.boolean(value, key: "runtime.fast_open") {
            settings.fastOpen = flag
        }
        if let value = table["max_pending_headers"],
            let count = self.integer(value, key: "runtime.max_pending_headers", in: 1...1_000_000)
        {
            settings.maxPendingHeaders = count
        }
        if let value = table["max_error_answers"],
            let count = self.integer(value, key: "runtime.max_error_answers", in: 0...1_000_000)
        {
            settings.maxErrorAnswers = count
        }
        if let value = table["drain_timeout"],
            let duration = self.seconds(value, key: "runtime.drain_timeout", allowZero: true)
        {
            settings.drainTimeout = duration
        }
        if let value = table["keepalive"] {
            settings.keepalive = decodeKeepalive(value)
        }
        if let value = table["cookie_window"],
            let seconds = self.integer(value, key: "runtime.cookie_window", in: 1...3600)
        {
            settings.cookieWindow = seconds
        }
        if let value = table["replay_cache"],
            let entries = self.integer(value, key: "runtime.replay_cache", in: 1024...16_777_216)
        {
            settings.replayCache = entries
        }
        if let value = table["user"], let name = self.string(value, key: "runtime.user") {
            if getpwnam(name) == nil {
                self.report(
                    "runtime.user",
                    "no user \"\(name)\" on this system; create it (useradd --system mptcp-relay) or name another"
                )
            } else {
                settings.user = name
            }
        }
        if let value = table["state_directory"], let text = self.string(value, key: "runtime.state_directory") {
            if text.hasPrefix("/") && !text.utf8.contains(0) {
                settings.stateDirectory = text
            } else {
                self.report(
                    "runtime.state_directory",
                    "\"\(text)\" is not an absolute path; expected one such as /var/lib/mptcp-relay"
                )
            }
        }
        if let value = table["group"], let name = self.string(value, key: "runtime.group") {
            if table["user"] == nil {
                self.report("runtime.group", "needs runtime.user: the group is taken when the relay switches user")
            } else if getgrnam(name) == nil {
                self.report("runtime.group", "no group \"\(name)\" on this system; create it or name another")
            } else {
                settings.group = name
            }
        }
        return settings
    }

    /// Decodes `keepalive = { idle = …, interval = …, count = … }` (each key optional), or reports why not.
    mutating func decodeKeepalive(_ value: any TOMLValueConvertible) -> KeepaliveSettings? {
        guard let table = value.table else {
            self.report(
                "runtime.keepalive",
                "expected a table such as { idle = 60, interval = 10, count = 6 }, found \(Self.describe(value))"
            )
            return nil
        }
        self.reportUnknownKeys(in: table, path: "runtime.keepalive", allowed: Self.keepaliveKeys)
        var keepalive = KeepaliveSettings()
        var valid = true
        if let value = table["idle"] {
            if let seconds = self.integer(value, key: "runtime.keepalive.idle", in: 1...32767) {
                keepalive.idle = seconds
            } else {
                valid = false
            }
        }
        if let value = table["interval"] {
            if let seconds = self.integer(value, key: "runtime.keepalive.interval", in: 1...32767) {
                keepalive.interval = seconds
            } else {
                valid = false
            }
        }
        if let value = table["count"] {
            if let count = self.integer(value, key: "runtime.keepalive.count", in: 1...127) {
                keepalive.count = count
            } else {
                valid = false
            }
        }
        return valid ? keepalive : nil
    }

    /// With `[runtime] user`, the metrics side port is bound after the switch (by threads without
    /// CAP_NET_BIND_SERVICE), so it must not be below 1024.
    mutating func checkMetricsPort(runtime: RuntimeSettings?, metrics: MetricsConfiguration) {
        guard runtime?.user != nil, let listen = metrics.listen, listen.port < 1024 else { return }
        self.report(
            "metrics.listen",
            "port \(listen.port) is below 1024, which runtime.user cannot bind; use a port from 1024 up"
        )
    }
}

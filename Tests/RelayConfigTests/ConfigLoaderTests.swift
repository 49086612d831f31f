import ConvertProtocol
import RelayConfig
import Testing

@Suite("ConfigLoader: valid files")
struct ConfigLoaderTests {
    @Test("a full file with both roles and every runtime key")
    func fullConfiguration() throws {
        let configuration = try ConfigLoader.parse(
            """
            [runtime]
            workers = 2
            connect_timeout = 2.5
            header_timeout = 3
            idle_timeout = 0
            max_connections = 1000
            pipe_size = 65536

            [[listener]]
            name = "lan"
            role = "forward"
            listen = "198.18.0.1:8000"
            upstream = "198.18.1.2:8443"
            destination = "198.19.0.2:5201"

            [[listener]]
            name = "converter"
            role = "convert"
            authentication = "none"
            listen = "0.0.0.0:8443"
            allow = ["198.19.0.0/24", "2001:db8::/32", "198.19.1.7"]

            [[listener]]
            name = "fixed.backend-1"
            role = "convert"
            authentication = "none"
            listen = "[::]:9443"
            backend = "[2001:db8::2]:80"
            """,
            file: "full.toml"
        )
        #expect(
            configuration.runtime
                == RuntimeSettings(
                    workers: 2,
                    connectTimeout: .milliseconds(2500),
                    headerTimeout: .seconds(3),
                    idleTimeout: nil,
                    maxConnections: 1000,
                    pipeSize: 65536
                )
        )
        #expect(
            configuration.listeners == [
                ListenerConfiguration(
                    name: "lan",
                    listen: try endpoint("198.18.0.1:8000"),
                    role: .forward(
                        upstream: try endpoint("198.18.1.2:8443"),
                        destination: try endpoint("198.19.0.2:5201")
                    )
                ),
                ListenerConfiguration(
                    name: "converter",
                    listen: try endpoint("0.0.0.0:8443"),
                    role: .convert(
                        allow: [
                            try network("198.19.0.0/24"),
                            try network("2001:db8::/32"),
                            try network("198.19.1.7/32"),
                        ],
                        backend: nil
                    )
                ),
                ListenerConfiguration(
                    name: "fixed.backend-1",
                    listen: try endpoint("[::]:9443"),
                    role: .convert(allow: [], backend: try endpoint("[2001:db8::2]:80"))
                ),
            ]
        )
        #expect(configuration.listeners.map(\.role.name) == ["forward", "convert", "convert"])
    }

    @Test("a minimal file gets every runtime default")
    func minimalConfigurationAndDefaults() throws {
        let configuration = try ConfigLoader.parse(
            """
            [[listener]]
            name = "c"
            role = "convert"
            authentication = "none"
            listen = "198.18.1.2:8443"
            """,
            file: "min.toml"
        )
        let runtime = configuration.runtime
        #expect(runtime.workers == nil)
        #expect(runtime.connectTimeout == .seconds(10))
        #expect(runtime.headerTimeout == .seconds(10))
        #expect(runtime.idleTimeout == .seconds(300))
        #expect(runtime.maxConnections == 16384)
        #expect(runtime.pipeSize == 262_144)
        #expect(runtime == RuntimeSettings())
        #expect(configuration.listeners.count == 1)
        #expect(configuration.listeners[0].role == .convert(allow: [], backend: nil))
    }

    @Test("an empty [runtime] table and fractional timeouts")
    func fractionalTimeouts() throws {
        let configuration = try ConfigLoader.parse(
            """
            [runtime]
            connect_timeout = 0.1
            idle_timeout = 86400

            [[listener]]
            name = "c"
            role = "convert"
            authentication = "none"
            listen = "0.0.0.0:1"
            """,
            file: "t.toml"
        )
        #expect(configuration.runtime.connectTimeout == .milliseconds(100))
        #expect(configuration.runtime.idleTimeout == .seconds(86400))
    }

    @Test("IPv6 listen, upstream and destination")
    func ipv6Listen() throws {
        let configuration = try ConfigLoader.parse(
            """
            [[listener]]
            name = "v6"
            role = "forward"
            listen = "[2001:db8::1]:8000"
            upstream = "[2001:db8:1::2]:8443"
            destination = "[2001:db8:2::2]:5201"
            """,
            file: "v6.toml"
        )
        let listener = try #require(configuration.listeners.first)
        #expect(listener.listen == Endpoint(address: try #require(IPAddress("2001:db8::1")), port: 8000))
        #expect(listener.listen.description == "[2001:db8::1]:8000")
        guard case .forward(let upstream, let destination) = listener.role else {
            Issue.record("expected a forward role, got \(listener.role)")
            return
        }
        #expect(upstream.description == "[2001:db8:1::2]:8443")
        #expect(destination.description == "[2001:db8:2::2]:5201")
    }

    @Test("transparent listeners for both families, with an upstream mark")
    func transparentListeners() throws {
        let configuration = try ConfigLoader.parse(
            """
            [[listener]]
            name = "tproxy4"
            role = "transparent"
            listen = "127.0.0.1:7000"
            upstream = "198.18.1.2:8443"
            mark = 1

            [[listener]]
            name = "tproxy6"
            role = "transparent"
            listen = "[::1]:7000"
            upstream = "[2001:db8:1::2]:8443"
            """,
            file: "tproxy.toml"
        )
        #expect(configuration.listeners.map(\.role.name) == ["transparent", "transparent"])
        #expect(configuration.listeners.map(\.upstreamMark) == [1, nil])
        #expect(
            configuration.listeners[1].role == .transparent(upstream: try #require(Endpoint("[2001:db8:1::2]:8443")))
        )
    }

    @Test("data_path and fast_open: defaults, values and errors")
    func dataPathAndFastOpen() throws {
        let listener = """

            [[listener]]
            name = "c"
            role = "convert"
            authentication = "none"
            listen = "0.0.0.0:8443"
            """
        let defaults = try ConfigLoader.parse(listener, file: "d.toml")
        #expect(defaults.runtime.dataPath == .auto)
        #expect(defaults.runtime.fastOpen == false)
        let chosen = try ConfigLoader.parse(
            "[runtime]\ndata_path = \"splice\"\nfast_open = true\n" + listener,
            file: "c.toml"
        )
        #expect(chosen.runtime.dataPath == .splice)
        #expect(chosen.runtime.fastOpen == true)
        do {
            _ = try ConfigLoader.parse(
                "[runtime]\ndata_path = \"fast\"\nfast_open = \"yes\"\n" + listener,
                file: "e.toml"
            )
            Issue.record("bad data_path and fast_open were accepted")
        } catch {
            #expect(
                error.errors.map(\.description) == [
                    "e.toml:2: runtime.data_path: \"fast\" is not a data path; expected \"auto\", \"splice\" or \"copy\"",
                    "e.toml:3: runtime.fast_open: expected true or false, found string \"yes\"",
                ]
            )
        }
    }

    @Test("io_backend: auto by default, io_uring or epoll when chosen, anything else named")
    func ioBackend() throws {
        let listener = """

            [[listener]]
            name = "c"
            role = "convert"
            authentication = "none"
            listen = "0.0.0.0:8443"
            """
        #expect(try ConfigLoader.parse(listener, file: "d.toml").runtime.ioBackend == .auto)
        for backend in IOBackendSetting.allCases {
            let chosen = try ConfigLoader.parse(
                "[runtime]\nio_backend = \"\(backend.rawValue)\"\n" + listener,
                file: "c.toml"
            )
            #expect(chosen.runtime.ioBackend == backend)
        }
        do {
            _ = try ConfigLoader.parse("[runtime]\nio_backend = \"uring\"\n" + listener, file: "e.toml")
            Issue.record("a bad io_backend was accepted")
        } catch {
            #expect(
                error.errors.map(\.description) == [
                    "e.toml:2: runtime.io_backend: \"uring\" is not an I/O backend; expected \"auto\", \"io_uring\" or \"epoll\""
                ]
            )
        }
    }

    @Test("mark must be a 32-bit integer above 0")
    func markRange() {
        do {
            _ = try ConfigLoader.parse(
                """
                [[listener]]
                name = "t"
                role = "transparent"
                listen = "127.0.0.1:7000"
                upstream = "198.18.1.2:8443"
                mark = 0
                """,
                file: "mark.toml"
            )
            Issue.record("mark = 0 was accepted")
        } catch {
            #expect(
                error.errors.map(\.description) == [
                    "mark.toml:6: listener[1].mark: 0 is out of range; expected 1...4294967295"
                ]
            )
        }
    }

    @Test("the same port on different addresses is not a duplicate")
    func samePortDifferentAddress() throws {
        let configuration = try ConfigLoader.parse(
            """
            [[listener]]
            name = "a"
            role = "convert"
            authentication = "none"
            listen = "198.18.1.2:8443"
            [[listener]]
            name = "b"
            role = "convert"
            authentication = "none"
            listen = "198.18.2.2:8443"
            """,
            file: "t.toml"
        )
        #expect(configuration.listeners.map(\.name) == ["a", "b"])
    }

    @Test("load reads a file from disk")
    func loadFromDisk() throws {
        let path = ExampleConfigTests.configDirectory + "/gateway.toml"
        let configuration = try ConfigLoader.load(path: path)
        #expect(configuration.listeners.first?.name == "lan")
    }
}

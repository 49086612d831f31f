import RelayConfig
import Testing

/// The errors `ConfigLoader.parse` throws for `text`, or none.
func configErrors(_ text: String, file: String = "test.toml") -> [ConfigError] {
    do {
        _ = try ConfigLoader.parse(text, file: file)
        return []
    } catch {
        return error.errors
    }
}

/// A valid forward listener to append problems to.
let validForward = """
    [[listener]]
    name = "lan"
    role = "forward"
    listen = "198.18.0.1:8000"
    upstream = "198.18.1.2:8443"
    destination = "198.19.0.2:5201"
    """

@Suite("ConfigLoader: errors name file, line and key")
struct ConfigErrorTests {
    @Test("description is FILE:LINE: KEY: MESSAGE")
    func descriptionFormat() {
        let error = ConfigError(
            file: "config/x.toml",
            line: 14,
            key: "listener[2].upstream",
            message: "\"198.18.1.2\" is not an endpoint; expected ADDRESS:PORT or [IPv6]:PORT"
        )
        #expect(
            error.description
                == "config/x.toml:14: listener[2].upstream: \"198.18.1.2\" is not an endpoint; expected ADDRESS:PORT or [IPv6]:PORT"
        )
        #expect(ConfigError(file: "f.toml", line: 0, key: "", message: "m").description == "f.toml: m")
        #expect(ConfigError(file: "f.toml", line: 3, key: "", message: "m").description == "f.toml:3: m")
        let errors = ConfigErrors([error, ConfigError(file: "f.toml", line: 0, key: "", message: "m")])
        #expect(errors.description == error.description + "\nf.toml: m")
    }

    @Test("a bad endpoint, as in the documentation")
    func badEndpoint() {
        let errors = configErrors(
            validForward + """

                [[listener]]
                name = "second"
                role = "forward"
                listen = "198.18.0.1:8001"
                upstream = "198.18.1.2"
                destination = "198.19.0.2:5201"
                """,
            file: "config/x.toml"
        )
        #expect(
            errors.map(\.description) == [
                "config/x.toml:11: listener[2].upstream: \"198.18.1.2\" is not an endpoint; expected ADDRESS:PORT or [IPv6]:PORT"
            ]
        )
    }

    @Test("a TOML syntax error reports the parser's line and nothing else")
    func syntaxError() throws {
        let errors = configErrors(
            """
            [runtime]
            workers = 2

            [[listener]]
            name = "lan
            role = "forward"
            """
        )
        let error = try #require(errors.first)
        #expect(errors.count == 1)
        #expect(error.file == "test.toml")
        #expect(error.line == 5)
        #expect(error.key == "")
        #expect(error.message.hasPrefix("TOML syntax error at column "))
    }

    @Test("a duplicate key is a syntax error")
    func duplicateKey() {
        let errors = configErrors(validForward + "\nname = \"again\"")
        #expect(errors.map(\.line) == [7])
        #expect(errors.map(\.key) == [""])
    }

    @Test("an unknown key, with a suggestion for a typo")
    func unknownKey() {
        let errors = configErrors(
            """
            [runtime]
            wokers = 2
            colour = "blue"
            """ + "\n" + validForward
        )
        #expect(errors.map(\.line) == [2, 3])
        #expect(errors.map(\.key) == ["runtime.wokers", "runtime.colour"])
        #expect(errors[0].message == "unknown key; did you mean \"workers\"?")
        #expect(errors[1].message.hasPrefix("unknown key; expected one of workers, connect_timeout"))
    }

    @Test("an unknown table and an unknown listener key")
    func unknownTable() {
        let errors = configErrors(
            validForward + """

                upsteam = "198.18.1.2:8443"

                [metricz]
                listen = "127.0.0.1:9100"

                [runtim]
                workers = 1
                """
        )
        #expect(errors.map(\.key) == ["listener[1].upsteam", "metricz", "runtim"])
        #expect(errors.map(\.line) == [7, 9, 12])
        #expect(errors[0].message == "unknown key; did you mean \"upstream\"?")
        #expect(
            errors[1].message
                == "unknown table [metricz]; did you mean \"metrics\"?"
        )
        #expect(errors[2].message == "unknown table [runtim]; did you mean \"runtime\"?")
    }

    @Test("a key that belongs to the other role")
    func misplacedKeys() {
        let errors = configErrors(
            validForward + """

                allow = ["198.19.0.0/24"]

                [[listener]]
                name = "conv"
                role = "convert"
                listen = "0.0.0.0:8443"
                upstream = "198.18.1.2:8443"
                """ + anyClient
        )
        #expect(errors.map(\.key) == ["listener[1].allow", "listener[2].upstream"])
        #expect(errors.map(\.line) == [7, 13])
        #expect(
            errors[0].message
                == "allow belongs to role \"convert\"; a forward listener takes upstream, destination, mark, client, key and key_file"
        )
        #expect(
            errors[1].message
                == "upstream belongs to role \"forward\" or \"transparent\"; a convert listener takes allow, backend and authentication"
        )
    }

    @Test("missing required keys point at the listener's header")
    func missingRequiredKeys() {
        let errors = configErrors(
            validForward + """


                [[listener]]
                role = "forward"
                """
        )
        #expect(
            errors.map(\.key) == [
                "listener[2].name", "listener[2].listen", "listener[2].upstream", "listener[2].destination",
            ]
        )
        #expect(errors.map(\.line) == [8, 8, 8, 8])
        #expect(errors.allSatisfy { $0.message.hasPrefix("missing required key; expected ") })
    }

    @Test("a missing role")
    func missingRole() {
        let errors = configErrors("# header\n[[listener]]\nname = \"a\"\nlisten = \"0.0.0.0:1\"\n")
        #expect(errors.map(\.key) == ["listener[1].role"])
        #expect(errors.map(\.line) == [2])
        #expect(
            errors.map(\.message) == ["missing required key; expected \"forward\", \"transparent\" or \"convert\""]
        )
    }

    @Test("transparent needs an upstream and takes no destination; unknown roles are named")
    func roles() {
        let errors = configErrors(
            """
            [[listener]]
            name = "t"
            role = "transparent"
            listen = "0.0.0.0:1"
            destination = "198.19.0.2:80"
            [[listener]]
            name = "x"
            role = "reverse"
            listen = "0.0.0.0:2"
            """
        )
        #expect(errors.map(\.key) == ["listener[1].upstream", "listener[1].destination", "listener[2].role"])
        #expect(errors.map(\.line) == [1, 5, 8])
        #expect(errors[0].message.hasPrefix("missing required key; expected the server-side converter's"))
        #expect(
            errors[1].message
                == "destination belongs to role \"forward\"; a transparent listener takes upstream, mark, client, key and key_file"
        )
        #expect(errors[2].message == "\"reverse\" is not a role; expected \"forward\", \"transparent\" or \"convert\"")
    }

    @Test("no listener at all")
    func noListener() {
        for text in ["[runtime]\nworkers = 2\n", "", "listener = []\n"] {
            let errors = configErrors(text)
            #expect(errors.map(\.key) == ["listener"])
            #expect(errors.first?.message.hasPrefix("no listener; add at least one [[listener]]") == true)
        }
        #expect(configErrors("[runtime]\n").first?.line == 0)
        #expect(configErrors("listener = []\n").first?.line == 1)
    }

    @Test("[listener] instead of [[listener]]")
    func singleListenerTable() {
        let errors = configErrors("\n[listener]\nname = \"a\"\n")
        #expect(errors.map(\.key) == ["listener"])
        #expect(errors.map(\.line) == [2])
        #expect(errors.first?.message.contains("write [[listener]]") == true)
    }

    @Test("duplicate names and listen endpoints")
    func duplicates() {
        let errors = configErrors(
            validForward + """

                [[listener]]
                name = "lan"
                role = "convert"
                listen = "198.18.0.1:8000"
                """ + anyClient
        )
        #expect(errors.map(\.key) == ["listener[2].name", "listener[2].listen"])
        #expect(errors.map(\.line) == [8, 10])
        #expect(errors[0].message == "\"lan\" is already the name of listener[1]; names must be unique")
        #expect(
            errors[1].message
                == "198.18.0.1:8000 is already the listen endpoint of listener[1]; each listener needs its own"
        )
    }

    @Test("port 0, unspecified and multicast addresses")
    func badAddresses() {
        let errors = configErrors(
            """
            [[listener]]
            name = "a"
            role = "forward"
            listen = "198.18.0.1:0"
            upstream = "0.0.0.0:8443"
            destination = "[2001:db8::1]:0"
            [[listener]]
            name = "b"
            role = "convert"
            listen = "224.0.0.1:80"
            backend = "[::]:80"
            """
        )
        #expect(
            errors.map(\.key) == [
                "listener[1].listen", "listener[1].upstream", "listener[1].destination", "listener[2].listen",
                "listener[2].backend",
            ]
        )
        #expect(errors.map(\.line) == [4, 5, 6, 10, 11])
        #expect(errors[0].message == "\"198.18.0.1:0\" has port 0; expected a port from 1 to 65535")
        #expect(errors[1].message.hasPrefix("\"0.0.0.0:8443\" has an unspecified address"))
        #expect(errors[2].message == "\"[2001:db8::1]:0\" has port 0; expected a port from 1 to 65535")
        #expect(errors[3].message == "\"224.0.0.1:80\" is a multicast address; expected a unicast address")
        #expect(errors[4].message.hasPrefix("\"[::]:80\" has an unspecified address"))
    }

    @Test("bad allow entries are located by element")
    func badAllow() {
        let errors = configErrors(
            """
            [[listener]]
            name = "c"
            role = "convert"
            listen = "0.0.0.0:8443"
            allow = [
                "198.19.0.0/24",
                "198.19.0.0/33",
                8,
            ]
            [[listener]]
            name = "d"
            role = "convert"
            listen = "0.0.0.0:8444"
            allow = "198.19.0.0/24"
            [[listener]]
            name = "e"
            role = "convert"
            listen = "0.0.0.0:8445"
            allow = ["198.19.0.0/24"]
            backend = "198.19.0.2:80"
            """
        )
        #expect(
            errors.map(\.key) == [
                "listener[1].allow[2]", "listener[1].allow[3]", "listener[2].allow", "listener[3].allow",
            ]
        )
        #expect(errors.map(\.line) == [7, 8, 14, 19])
        #expect(errors[0].message.hasPrefix("\"198.19.0.0/33\" is not a network; expected ADDRESS/PREFIX"))
        #expect(errors[1].message == "expected a string, found integer 8")
        #expect(errors[2].message.hasPrefix("expected an array of networks"))
        #expect(errors[3].message.hasPrefix("allow cannot be combined with backend"))
    }

    @Test("invalid listener names")
    func badNames() {
        let longName = String(repeating: "n", count: 65)
        let errors = configErrors(
            """
            [[listener]]
            name = "has space"
            role = "convert"
            listen = "0.0.0.0:1"
            [[listener]]
            name = ""
            role = "convert"
            listen = "0.0.0.0:2"
            [[listener]]
            name = "\(longName)"
            role = "convert"
            listen = "0.0.0.0:3"
            [[listener]]
            name = 7
            role = "convert"
            listen = "0.0.0.0:4"
            """ + anyClient
        )
        #expect(errors.map(\.key) == ["listener[1].name", "listener[2].name", "listener[3].name", "listener[4].name"])
        #expect(errors.map(\.line) == [2, 6, 10, 14])
        #expect(
            errors[0].message
                == "\"has space\" is not a valid listener name; expected 1 to 64 of the characters A-Z a-z 0-9 _ . -"
        )
        #expect(errors[3].message == "expected a string, found integer 7")
        let maximal = configErrors(
            "[[listener]]\nname = \"\(String(repeating: "n", count: 64))\"\nrole = \"convert\"\nlisten = \"0.0.0.0:1\"\n"
                + anyClient
        )
        #expect(maximal.isEmpty)
    }

    @Test("runtime values of the wrong type or out of range")
    func badRuntime() {
        let errors = configErrors(
            """
            [runtime]
            workers = "2"
            connect_timeout = 0
            header_timeout = -1.5
            idle_timeout = 86401
            max_connections = 1000001
            pipe_size = 100000
            """ + "\n" + validForward
        )
        #expect(
            errors.map(\.key) == [
                "runtime.workers", "runtime.connect_timeout", "runtime.header_timeout", "runtime.idle_timeout",
                "runtime.max_connections", "runtime.pipe_size",
            ]
        )
        #expect(errors.map(\.line) == [2, 3, 4, 5, 6, 7])
        #expect(
            errors.map(\.message) == [
                "expected an integer, found string \"2\"",
                "integer 0 is out of range; expected seconds greater than 0 up to 86400",
                "number -1.5 is out of range; expected seconds greater than 0 up to 86400",
                "integer 86401 is out of range; expected seconds from 0 up to 86400",
                "1000001 is out of range; expected 1...1000000",
                "100000 is not a power of two; expected one of 4096, 8192, … 1048576",
            ]
        )
        #expect(
            configErrors("[runtime]\npipe_size = 2048\n" + validForward).map(\.message) == [
                "2048 is out of range; expected 4096...1048576"
            ]
        )
        #expect(
            configErrors("[runtime]\nworkers = 2.0\n" + validForward).map(\.message) == [
                "expected an integer, found number 2.0"
            ]
        )
        #expect(
            configErrors("[runtime]\nworkers = 0\n" + validForward).map(\.message) == [
                "0 is out of range; expected 1...1024"
            ]
        )
        #expect(configErrors("[runtime]\nidle_timeout = nan\n" + validForward).map(\.key) == ["runtime.idle_timeout"])
        #expect(configErrors("runtime = 5\n" + validForward).map(\.key) == ["runtime"])
    }

    @Test("all semantic errors are collected at once, in line order")
    func severalErrors() {
        let errors = configErrors(
            """
            [runtime]
            pipe_size = 3

            [[listener]]
            name = "lan"
            role = "forward"
            listen = "198.18.0.1"
            destination = "198.19.0.2:5201"
            backend = "198.19.0.2:80"

            [[listener]]
            name = "lan"
            role = "convert"
            listen = "0.0.0.0:8443"
            allow = ["not-a-network"]
            extra = true
            """ + anyClient,
            file: "many.toml"
        )
        #expect(
            errors.map(\.description) == [
                "many.toml:2: runtime.pipe_size: 3 is out of range; expected 4096...1048576",
                "many.toml:4: listener[1].upstream: missing required key; expected the server-side converter's ADDRESS:PORT, reached over MPTCP",
                "many.toml:7: listener[1].listen: \"198.18.0.1\" is not an endpoint; expected ADDRESS:PORT or [IPv6]:PORT",
                "many.toml:9: listener[1].backend: backend belongs to role \"convert\"; a forward listener takes upstream, destination, mark, client, key and key_file",
                "many.toml:12: listener[2].name: \"lan\" is already the name of listener[1]; names must be unique",
                "many.toml:15: listener[2].allow[1]: \"not-a-network\" is not a network; expected ADDRESS/PREFIX such as 198.19.0.0/24, or an address",
                "many.toml:16: listener[2].extra: unknown key; expected one of name, role, listen, upstream, destination, mark, client, key, key_file, allow, backend, authentication",
            ]
        )
    }

    @Test("an unreadable file names the path and the errno text")
    func missingFile() throws {
        let path = "/nonexistent/mptcp-relay/missing.toml"
        do {
            _ = try ConfigLoader.load(path: path)
            Issue.record("loading a missing file succeeded")
        } catch {
            let failure = try #require(error.errors.first)
            #expect(error.errors.count == 1)
            #expect(failure.file == path)
            #expect(failure.line == 0)
            #expect(failure.key == "")
            #expect(failure.message.contains(path))
            #expect(failure.message.contains("No such file or directory"))
        }
    }

    @Test("a directory is not a readable file")
    func directory() {
        do {
            _ = try ConfigLoader.load(path: "/")
            Issue.record("loading a directory succeeded")
        } catch {
            #expect(error.errors.map(\.line) == [0])
            #expect(error.errors.first?.message.contains("Is a directory") == true)
        }
    }
}

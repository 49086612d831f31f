import ClientAuthentication
import ConvertProtocol
import RelayConfig
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A convert listener that checks clients (the default), to put [[client]] tables beside.
let converterListener = """
    [[listener]]
    name = "converter"
    role = "convert"
    listen = "0.0.0.0:8443"
    allow = ["198.19.0.0/24"]
    """

let exampleKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

@Suite("[[client]] tables and listener keys: who may use a converter")
struct ClientConfigTests {
    @Test("clients with keys, rotation, allow, ports and limits")
    func clients() throws {
        let newKey = ClientKey.random().base64
        let configuration = try ConfigLoader.parse(
            converterListener + """

                [[client]]
                name = "home"
                key = ["\(exampleKey)", "\(newKey)"]
                allow = ["198.19.0.2"]
                ports = [5201, 22]
                max_connections = 100
                max_new_per_second = 20
                [[client]]
                name = "office"
                key = "\(newKey)"
                """,
            file: "c.toml"
        )
        #expect(configuration.listeners[0].authenticatesClients)
        #expect(configuration.clients.map(\.name) == ["home", "office"])
        let home = configuration.clients[0]
        #expect(home.keys.map(\.base64) == [exampleKey, newKey])
        #expect(home.allow == [IPNetwork("198.19.0.2")!] && home.ports == [5201, 22])
        #expect(home.maxConnections == 100 && home.maxNewPerSecond == 20)
        #expect(configuration.clients[1].maxConnections == nil && configuration.clients[1].allow == nil)
    }

    @Test("a converter without clients refuses to start unless authentication = \"none\" says so")
    func secureByDefault() throws {
        #expect(
            configErrors(converterListener, file: "s.toml").map(\.description) == [
                "s.toml:1: listener[1].authentication: this converter would relay for anyone who reaches it: add [[client]] tables (mptcp-relay keygen --name NAME prints one) or say authentication = \"none\" explicitly"
            ]
        )
        let open = try ConfigLoader.parse(converterListener + "\nauthentication = \"none\"\n", file: "s.toml")
        #expect(!open.listeners[0].authenticatesClients)
        let backend = try ConfigLoader.parse(
            "[[listener]]\nname = \"web\"\nrole = \"convert\"\nlisten = \"0.0.0.0:80\"\nbackend = \"198.19.0.2:80\"\n",
            file: "s.toml"
        )
        #expect(!backend.listeners[0].authenticatesClients, "a fixed backend reads no header to check")
        #expect(
            configErrors(
                "[[listener]]\nname = \"web\"\nrole = \"convert\"\nlisten = \"0.0.0.0:80\"\nbackend = \"198.19.0.2:80\"\n"
                    + "authentication = \"clients\"\n",
                file: "s.toml"
            ).map(\.key) == ["listener[1].authentication"]
        )
        #expect(
            configErrors(converterListener + "\nauthentication = \"maybe\"\n" + anyClient, file: "s.toml").map(
                \.message
            )
                == ["\"maybe\" is not an authentication mode; expected \"clients\" or \"none\""]
        )
    }

    @Test("client mistakes name their line and key")
    func clientMistakes() {
        let errors = configErrors(
            converterListener + """

                [[client]]
                name = "a"
                key = "short"
                [[client]]
                name = "b"
                [[client]]
                name = "c"
                key = ["\(exampleKey)", "\(exampleKey)", "\(exampleKey)"]
                [[client]]
                name = "a"
                key = "\(exampleKey)"
                ports = [0]
                """,
            file: "m.toml"
        )
        #expect(
            errors.map(\.description) == [
                "m.toml:8: client[1].key: not a key; expected 256 bits in base64 (44 characters), as mptcp-relay keygen prints",
                "m.toml:9: client[2].key: missing key; expected key = \"BASE64\" or key_file = \"PATH\" (mptcp-relay keygen makes one)",
                "m.toml:13: client[3].key: 3 keys; at most two are valid at once (the old and the new one)",
                "m.toml:15: client[4].name: \"a\" is already the name of client[1]; names must be unique",
                "m.toml:17: client[4].ports[1]: 0 is out of range; expected 1...65535",
            ]
        )
    }

    @Test("key_file: read relative to the config, refused when group or others may read it")
    func keyFiles() throws {
        let directory = "/tmp/mptcp-relay-keyfile-\(getpid())"
        mkdir(directory, 0o700)
        defer {
            unlink(directory + "/open.key")
            unlink(directory + "/home.key")
            rmdir(directory)
        }
        for (name, mode) in [("home.key", mode_t(0o600)), ("open.key", mode_t(0o644))] {
            let fd = open(directory + "/" + name, O_WRONLY | O_CREAT | O_TRUNC, mode)
            _ = (exampleKey + "\n").withCString { write(fd, $0, strlen($0)) }
            close(fd)
            chmod(directory + "/" + name, mode)
        }
        let file = directory + "/server.toml"
        let good = try ConfigLoader.parse(
            converterListener + "\n[[client]]\nname = \"home\"\nkey_file = \"home.key\"\n",
            file: file
        )
        #expect(good.clients.first?.keys.map(\.base64) == [exampleKey])
        #expect(
            configErrors(converterListener + "\n[[client]]\nname = \"home\"\nkey_file = \"open.key\"\n", file: file)
                .map(\.message) == [
                    "key file \(directory)/open.key is readable by group or others (mode 644); run chmod 600 \(directory)/open.key"
                ]
        )
        #expect(
            configErrors(converterListener + "\n[[client]]\nname = \"home\"\nkey_file = \"none.key\"\n", file: file)
                .map(\.message) == ["cannot read key file \(directory)/none.key: No such file or directory"]
        )
    }

    @Test("forward listeners: client and key go together")
    func forwardIdentity() throws {
        let configuration = try ConfigLoader.parse(
            validForward + "\nclient = \"home\"\nkey = \"\(exampleKey)\"\n",
            file: "g.toml"
        )
        #expect(configuration.listeners[0].clientIdentity?.name == "home")
        #expect(configuration.listeners[0].clientIdentity?.key.base64 == exampleKey)
        #expect(try ConfigLoader.parse(validForward, file: "g.toml").listeners[0].clientIdentity == nil)
        #expect(
            configErrors(validForward + "\nclient = \"home\"\n", file: "g.toml").map(\.description) == [
                "g.toml:7: listener[1].client: a client name needs its key: add key = \"BASE64\" or key_file = \"PATH\""
            ]
        )
        #expect(
            configErrors(validForward + "\nkey = \"\(exampleKey)\"\n", file: "g.toml").map(\.description) == [
                "g.toml:7: listener[1].key: a key needs the client name the converter knows it by: add client = \"NAME\""
            ]
        )
    }

    @Test("[runtime] cookie_window, replay_cache and max_error_answers")
    func runtimeKeys() throws {
        let configuration = try ConfigLoader.parse(
            "[runtime]\ncookie_window = 30\nreplay_cache = 4096\nmax_error_answers = 0\n" + converterListener
                + anyClient,
            file: "r.toml"
        )
        #expect(configuration.runtime.cookieWindow == 30 && configuration.runtime.replayCache == 4096)
        #expect(configuration.runtime.maxErrorAnswers == 0)
        let defaults = try ConfigLoader.parse(converterListener + anyClient, file: "r.toml")
        #expect(defaults.runtime.cookieWindow == 60 && defaults.runtime.replayCache == 131_072)
        #expect(defaults.runtime.maxErrorAnswers == 1000)
        #expect(
            configErrors("[runtime]\nmax_error_answers = -1\n" + converterListener + anyClient).map(\.key) == [
                "runtime.max_error_answers"
            ]
        )
        #expect(
            configErrors("[runtime]\ncookie_window = 0\n" + converterListener + anyClient).map(\.key) == [
                "runtime.cookie_window"
            ]
        )
    }
}

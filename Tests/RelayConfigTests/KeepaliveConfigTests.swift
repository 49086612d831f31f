import RelayConfig
import Testing

@Suite("[runtime] keepalive: TCP keepalive on both sockets of every connection")
struct KeepaliveConfigTests {
    @Test("absent means off; a table sets the figures, keys left out keep their defaults")
    func figures() throws {
        #expect(try ConfigLoader.parse(validForward, file: "k.toml").runtime.keepalive == nil)
        let full = try ConfigLoader.parse(
            "[runtime]\nkeepalive = { idle = 30, interval = 5, count = 3 }\n" + validForward,
            file: "k.toml"
        )
        #expect(full.runtime.keepalive == KeepaliveSettings(idle: 30, interval: 5, count: 3))
        let partial = try ConfigLoader.parse(
            "[runtime.keepalive]\nidle = 120\n" + validForward,
            file: "k.toml"
        )
        #expect(partial.runtime.keepalive == KeepaliveSettings(idle: 120, interval: 10, count: 6))
        let defaults = try ConfigLoader.parse("[runtime]\nkeepalive = {}\n" + validForward, file: "k.toml")
        #expect(defaults.runtime.keepalive == KeepaliveSettings())
    }

    @Test("out of range, unknown keys and a non-table are errors with file, line and key")
    func errors() {
        let errors = configErrors(
            "[runtime]\nkeepalive = { idle = 0, interval = 40000, count = 128, probes = 2 }\n" + validForward,
            file: "k.toml"
        )
        #expect(
            errors.map(\.key).sorted() == [
                "runtime.keepalive.count", "runtime.keepalive.idle", "runtime.keepalive.interval",
                "runtime.keepalive.probes",
            ]
        )
        #expect(errors.allSatisfy { $0.description.hasPrefix("k.toml:2: ") }, "\(errors)")
        #expect(configErrors("[runtime]\nkeepalive = true\n" + validForward).map(\.key) == ["runtime.keepalive"])
    }
}

import RelayConfig
import Testing

@Suite("[runtime] user and group: who the relay runs as after start-up")
struct RuntimeUserConfigTests {
    @Test("user and group of this system are taken; absent means no switch")
    func knownUserAndGroup() throws {
        let configuration = try ConfigLoader.parse(
            "[runtime]\nuser = \"nobody\"\ngroup = \"nogroup\"\n" + validForward,
            file: "u.toml"
        )
        #expect(configuration.runtime.user == "nobody")
        #expect(configuration.runtime.group == "nogroup")
        let defaults = try ConfigLoader.parse(validForward, file: "u.toml")
        #expect(defaults.runtime.user == nil && defaults.runtime.group == nil)
    }

    @Test("an unknown user or group is an error with file, line and key")
    func unknownNames() {
        let errors = configErrors(
            "[runtime]\nuser = \"no-such-user-here\"\ngroup = \"no-such-group-here\"\n" + validForward,
            file: "u.toml"
        )
        #expect(
            errors.map(\.description) == [
                "u.toml:2: runtime.user: no user \"no-such-user-here\" on this system; create it (useradd --system mptcp-relay) or name another",
                "u.toml:3: runtime.group: no group \"no-such-group-here\" on this system; create it or name another",
            ]
        )
    }

    @Test("group needs user, user must be a string")
    func groupWithoutUser() {
        #expect(
            configErrors("[runtime]\ngroup = \"nogroup\"\n" + validForward).map(\.key) == ["runtime.group"]
        )
        #expect(configErrors("[runtime]\nuser = 65534\n" + validForward).map(\.key) == ["runtime.user"])
    }

    @Test("with user, the metrics port must be from 1024 up")
    func privilegedMetricsPort() {
        let errors = configErrors(
            "[runtime]\nuser = \"nobody\"\n[metrics]\nlisten = \"127.0.0.1:900\"\n" + validForward,
            file: "m.toml"
        )
        #expect(errors.map(\.key) == ["metrics.listen"])
        #expect(configErrors("[metrics]\nlisten = \"127.0.0.1:900\"\n" + validForward).isEmpty)
    }
}

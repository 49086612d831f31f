import ArgumentParser

/// `mptcp-relay`: the command line. Subcommands run the relay and check a configuration file.
@main
struct MPTCPRelayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mptcp-relay",
        abstract: "Convert plain TCP into Multipath TCP and back (RFC 8803), with an io_uring splice data path.",
        discussion: """
            A gateway runs a `forward` listener: it accepts the LAN's TCP connections and carries each one over \
            MPTCP to a converter. The server runs a `convert` listener: it accepts MPTCP (and plain TCP), \
            reads the destination from the RFC 8803 Convert header, checks it against `allow`, connects \
            over TCP and relays. One TOML file names every listener; see config/ for examples.
            """,
        subcommands: [RunCommand.self, CheckConfigCommand.self, StatusCommand.self, KeygenCommand.self]
    )
}

import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// The process entry point: runs ``MPTCPRelayCommand`` on a task while the main thread waits, with every
/// signal blocked, for the process to exit.
///
/// Not an `async` main: that leaves the main thread parked half-exited inside libdispatch's
/// `dispatch_main`, where glibc's setuid no longer reaches it (it skips exiting threads). After a drop to
/// `[runtime] user`, the thread group leader, which is what `ps` and /proc/PID/status show, would stay
/// root with every capability.
@main
enum MPTCPRelayMain {
    static func main() {
        Task.detached {
            await MPTCPRelayCommand.main()
            exit(0)
        }
        var signals = sigset_t()
        sigfillset(&signals)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        while true { pause() }
    }
}

/// `mptcp-relay`: the command line. Subcommands run the relay and check a configuration file.
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
        version: BuildInfo.description,
        subcommands: [RunCommand.self, CheckConfigCommand.self, StatusCommand.self, KeygenCommand.self]
    )
}

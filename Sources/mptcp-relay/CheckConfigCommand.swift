import ArgumentParser
import RelayConfig

/// `mptcp-relay check-config FILE`: validates a configuration without opening anything.
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file: exit 0 when valid, else print each error as FILE:LINE: KEY: MESSAGE."
    )

    @Argument(help: "The TOML configuration file.")
    var file: String

    @Flag(help: .hidden)
    var parseOnly = false

    func run() throws {
        if parseOnly {
            // The child of IsolatedConfigLoader: parse, say nothing, and let a parser crash kill only us.
            guard (try? ConfigLoader.load(path: file)) != nil else { throw ExitCode(1) }
            return
        }
        do {
            let configuration = try IsolatedConfigLoader.load(path: file)
            for warning in configuration.warnings { printError("warning: \(warning)") }
            print("\(file): valid, \(configuration.listeners.count) listener(s)")
        } catch {
            for line in IsolatedConfigLoader.lines(error, path: file) { printError(line) }
            throw ExitCode(1)
        }
    }
}

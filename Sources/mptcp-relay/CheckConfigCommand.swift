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

    func run() throws {
        do {
            let configuration = try ConfigLoader.load(path: file)
            print("\(file): valid, \(configuration.listeners.count) listener(s)")
        } catch {
            for problem in error.errors { printError("\(problem)") }
            throw ExitCode(1)
        }
    }
}

/// Every problem found in a configuration file, thrown by ``ConfigLoader`` so that a user can fix
/// them all in one go rather than one per run.
public struct ConfigErrors: Error, Sendable, Hashable, CustomStringConvertible {
    /// The problems, ordered by line; never empty when thrown.
    public var errors: [ConfigError]

    /// Wraps a list of problems.
    public init(_ errors: [ConfigError]) {
        self.errors = errors
    }

    /// One ``ConfigError/description`` per line.
    public var description: String {
        self.errors.map(\.description).joined(separator: "\n")
    }
}

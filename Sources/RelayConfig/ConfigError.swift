/// One problem in a configuration file, located by file, line and key.
///
/// Its description reads `FILE:LINE: KEY: MESSAGE`, for example
/// `config/x.toml:14: listener[2].upstream: "198.18.1.2" is not an endpoint; expected ADDRESS:PORT or [IPv6]:PORT`.
public struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The path of the configuration file, as it was given to the loader.
    public var file: String

    /// The 1-based line of the problem: the key's own line, or for a missing key the header of its
    /// table. 0 when the problem concerns the file as a whole (unreadable, no listener at all).
    public var line: Int

    /// The key path, such as `runtime.workers`, `listener[2].listen` or `listener[1].allow[3]`
    /// (array elements numbered from 1); empty for problems that belong to no key, such as a syntax error.
    public var key: String

    /// What is wrong and what is expected instead.
    public var message: String

    /// Creates an error from its parts.
    public init(file: String, line: Int, key: String, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    /// `FILE:LINE: KEY: MESSAGE`; the line is left out when it is 0 and the key when it is empty.
    public var description: String {
        var text = self.file
        if self.line > 0 {
            text += ":\(self.line)"
        }
        text += ": "
        if !self.key.isEmpty {
            text += "\(self.key): "
        }
        return text + self.message
    }
}

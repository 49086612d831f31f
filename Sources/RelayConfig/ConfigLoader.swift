import TOMLKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads and validates relay configuration files (TOML).
///
/// All problems are collected and thrown together as ``ConfigErrors``, each naming the file, the
/// line and the key, so that `mptcp-relay check-config FILE` can list them all at once:
///
/// ```swift
/// do {
///     let configuration = try ConfigLoader.load(path: "config/gateway.toml")
/// } catch {
///     print(error)  // config/gateway.toml:14: listener[2].upstream: "198.18.1.2" is not an endpoint; …
/// }
/// ```
public enum ConfigLoader {
    /// Reads the file at `path` and validates it; see ``parse(_:file:)``.
    ///
    /// A file that cannot be read or is not UTF-8 yields one error with line 0 and an empty key.
    public static func load(path: String) throws(ConfigErrors) -> RelayConfiguration {
        let text = try self.readFile(path)
        return try self.parse(text, file: path)
    }

    /// Parses and validates TOML `text`; `file` names it in errors.
    ///
    /// A TOML syntax error yields that one error, at the line where the parser stopped. Otherwise
    /// every semantic problem is reported: unknown or misplaced keys and tables, missing required
    /// keys, values of the wrong type or out of range, and duplicate listener names or endpoints.
    public static func parse(_ text: String, file: String) throws(ConfigErrors) -> RelayConfiguration {
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigErrors([
                ConfigError(
                    file: file,
                    line: error.source.begin.line,
                    key: "",
                    message: "TOML syntax error at column \(error.source.begin.column): \(error.description)"
                )
            ])
        } catch {
            throw ConfigErrors([ConfigError(file: file, line: 0, key: "", message: "TOML syntax error: \(error)")])
        }
        var decoder = ConfigDecoder(file: file, sourceMap: ConfigSourceMap(text: text))
        let configuration = decoder.decode(root: root)
        guard var configuration, decoder.errors.isEmpty else {
            throw ConfigErrors(decoder.sortedErrors)
        }
        configuration.warnings = decoder.warnings
        return configuration
    }

    /// The whole file as UTF-8 text, or an error naming the path and the errno text.
    private static func readFile(_ path: String) throws(ConfigErrors) -> String {
        func failure(_ message: String) -> ConfigErrors {
            ConfigErrors([ConfigError(file: path, line: 0, key: "", message: message)])
        }
        func failure(errno code: Int32) -> ConfigErrors {
            let reason = String(cString: strerror(code))
            return failure("cannot read \"\(path)\": \(reason) (errno \(code)); check the path and its permissions")
        }

        guard let handle = fopen(path, "rb") else {
            throw failure(errno: errno)
        }
        defer { fclose(handle) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { buffer in
                fread(buffer.baseAddress, 1, buffer.count, handle)
            }
            bytes.append(contentsOf: chunk[0..<count])
            if count < chunk.count {
                if ferror(handle) != 0 {
                    throw failure(errno: errno)
                }
                break
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw failure("\"\(path)\" is not UTF-8 text; TOML files must be UTF-8")
        }
        return text
    }
}

import ConvertProtocol
import RelayConfig
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("Example configs in config/")
struct ExampleConfigTests {
    /// The package root, found from this file's path (the documentation tests read from it too).
    static let packageRoot: String = {
        var components = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        components.removeLast(3)  // Tests/RelayConfigTests/ExampleConfigTests.swift
        return components.joined(separator: "/")
    }()

    /// `config/` at the package root.
    static let configDirectory = packageRoot + "/config"

    /// The `.toml` files in `config/`, sorted.
    static let exampleFiles: [String] = {
        guard let directory = opendir(configDirectory) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasSuffix(".toml") {
                names.append(name)
            }
        }
        return names.sorted()
    }()

    @Test("config/ holds the gateway and server examples")
    func examplesExist() {
        #expect(Self.exampleFiles.contains("gateway.toml"))
        #expect(Self.exampleFiles.contains("server.toml"))
    }

    @Test("every example config is valid", arguments: exampleFiles)
    func exampleIsValid(name: String) {
        do {
            let configuration = try ConfigLoader.load(path: Self.configDirectory + "/" + name)
            #expect(!configuration.listeners.isEmpty)
        } catch {
            Issue.record("config/\(name) is invalid:\n\(error)")
        }
    }

    @Test("the examples match the reference topology")
    func referenceTopology() throws {
        let gateway = try ConfigLoader.load(path: Self.configDirectory + "/gateway.toml")
        #expect(gateway.listeners.count == 1)
        #expect(gateway.listeners[0].listen == Endpoint("198.18.0.1:8000"))
        #expect(
            gateway.listeners[0].role
                == .forward(
                    upstream: try endpoint("198.18.1.2:8443"),
                    destination: try endpoint("198.19.0.2:5201")
                )
        )

        let server = try ConfigLoader.load(path: Self.configDirectory + "/server.toml")
        #expect(server.listeners.count == 1)
        #expect(server.listeners[0].listen == Endpoint("0.0.0.0:8443"))
        #expect(server.listeners[0].role == .convert(allow: [try network("198.19.0.0/24")], backend: nil))
    }
}

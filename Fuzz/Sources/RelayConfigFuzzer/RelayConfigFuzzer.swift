import RelayConfig

/// libFuzzer's entry point: one input is the text of a configuration file.
///
/// `ConfigLoader.parse(_:file:)` must return a configuration or throw errors, never trap, whatever the
/// bytes: invalid UTF-8 is repaired the way reading a file would see it, and every error names the file
/// and a line inside the text.
///
/// toml++ (inside TOMLKit) is built for this target with its `TOML_ASSERT` compiled out (`scripts/fuzz.sh`):
/// several of its preconditions fail on malformed text and abort the process (docs/RELIABILITY.md, finding
/// 6): a bug in toml++, reported, not ours to fix. Compiled out, the fuzzer looks past those inputs, and
/// AddressSanitizer still sees what toml++ does next.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        _ = try ConfigLoader.parse(text, file: "fuzz.toml")
    } catch {
        precondition(!error.errors.isEmpty, "ConfigErrors without an error")
        let lines = text.utf8.count { $0 == UInt8(ascii: "\n") } + 1
        for item in error.errors {
            precondition(item.file == "fuzz.toml", "error names file \(item.file)")
            precondition(item.line >= 0 && item.line <= lines, "error at line \(item.line) of \(lines): \(item)")
            _ = "\(item)"
        }
    }
    return 0
}

import RelayConfig

/// libFuzzer's entry point: one input is the text of a configuration file.
///
/// `ConfigLoader.parse(_:file:)` must return a configuration or throw errors, never trap, whatever the
/// bytes: invalid UTF-8 is repaired the way reading a file would see it, and every error names the file
/// and a line inside the text.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    // Returning -1 keeps the input out of the corpus, so mutations do not keep rediscovering it.
    guard !hasMalformedTableHeader(bytes) else { return -1 }
    let text = String(decoding: bytes, as: UTF8.self)
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

/// Whether some `[` or `[[`, after blanks, is followed by something that cannot start a key: neither a
/// bare-key character, a quote nor `]`.
///
/// toml++ 3.4.0, which TOMLKit 0.6.0 bundles, asserts on such a table header (`parse_key()`:
/// "is_bare_key_character(*cp) || is_string_delimiter(*cp)") and aborts the process instead of throwing a
/// parse error: `[[=`, `[[[1]]]`, `[` then a newline, also after a byte order mark. Fixed upstream in
/// marzer/tomlplusplus#301; not in our code, so it is reported and these inputs are skipped to let the
/// fuzzer look for other findings. The check is deliberately wider than the bug: it looks at every `[`,
/// also in arrays (`[+1]`, `[{ a = 1 }]` are skipped too), so that no line-start rule can be wrong.
func hasMalformedTableHeader(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    func isBlank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
    func canStartKey(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "\""),
            UInt8(ascii: "'"), UInt8(ascii: "]"):
            true
        default:
            false
        }
    }
    for index in bytes.indices where bytes[index] == UInt8(ascii: "[") {
        var next = index + 1
        while next < bytes.count && isBlank(bytes[next]) { next += 1 }
        if next < bytes.count && bytes[next] == UInt8(ascii: "[") { next += 1 }
        while next < bytes.count && isBlank(bytes[next]) { next += 1 }
        if next < bytes.count && !canStartKey(bytes[next]) { return true }
    }
    return false
}

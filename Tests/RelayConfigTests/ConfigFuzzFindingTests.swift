import RelayConfig
import Testing

/// Inputs `scripts/fuzz.sh` (RelayConfigFuzzer) found to break the loader. Each is a test here whether the
/// bug is ours or a dependency's; a dependency's stays disabled, naming where it is tracked, until the
/// fixed version is in Package.swift.
@Suite("ConfigLoader: fuzzer findings")
struct ConfigFuzzFindingTests {
    /// toml++ 3.4.0, bundled by TOMLKit 0.6.0, asserts in `parse_key()` when a table header starts with a
    /// character that cannot start a key, and the assertion aborts the process (`check-config`, `run`)
    /// instead of throwing a syntax error. Fixed upstream in marzer/tomlplusplus#301; running this
    /// today aborts the test process.
    @Test(
        "a malformed table header is a syntax error, not an abort",
        .disabled("aborts in TOMLKit 0.6.0's toml++ (parse_key assertion); fixed in marzer/tomlplusplus#301"),
        arguments: ["[[=\n", "[[[1]]]\n", "a = 1\n[\n", "[\u{1}\n", "\u{FEFF}[*]\n"]
    )
    func malformedTableHeader(_ text: String) {
        let errors = configErrors(text, file: "fuzz.toml")
        #expect(errors.count == 1)
        #expect(errors.first?.message.hasPrefix("TOML syntax error") == true)
    }
}

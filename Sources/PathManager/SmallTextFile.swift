#if canImport(Glibc)
import Glibc
#endif

/// Reads and writes one-line text files (sysctls under /proc/sys, the relay's state under /run) without
/// Foundation.
package enum SmallTextFile {
    /// The file's text without trailing newlines, or nil when it cannot be read or is empty.
    package static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 128)
        let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        var text = String(decoding: buffer[0..<count], as: UTF8.self)
        while text.last == "\n" { text.removeLast() }
        return text
    }

    /// Writes `text` and a newline (creating and truncating the file when `create`); returns 0 or the
    /// errno of the failed call, with the call's name.
    static func write(_ path: String, _ text: String, create: Bool) -> (errno: Int32, call: String) {
        let fd = create ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) : open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return (errno, "open(\(path))") }
        defer { close(fd) }
        let line = text + "\n"
        let written = line.utf8CString.withUnsafeBufferPointer { Glibc.write(fd, $0.baseAddress, $0.count - 1) }
        return written == line.utf8.count ? (0, "") : (written < 0 ? errno : EIO, "write(\(path), \(text))")
    }
}

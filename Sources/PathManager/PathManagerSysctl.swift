#if canImport(Glibc)
import Glibc
#endif

/// The network namespace's MPTCP path manager setting: `net.mptcp.path_manager` ("kernel" or
/// "userspace", Linux 6.15 and later) or, on older kernels, `net.mptcp.pm_type` (0 or 1).
public struct PathManagerSysctl: Sendable, Equatable {
    /// The file that was read, under /proc/sys/net/mptcp.
    public var file: String
    /// Its content, without the newline.
    public var value: String

    static let directory = "/proc/sys/net/mptcp/"

    /// The current setting of this thread's network namespace, or nil when neither file exists.
    public static func current() -> PathManagerSysctl? {
        for file in ["path_manager", "pm_type"] {
            if let value = read(directory + file) {
                return PathManagerSysctl(file: file, value: value)
            }
        }
        return nil
    }

    /// The setting that makes the namespace's new MPTCP connections use a userspace path manager.
    public static func userspace() -> PathManagerSysctl? {
        guard let current = current() else { return nil }
        return PathManagerSysctl(file: current.file, value: current.file == "pm_type" ? "1" : "userspace")
    }

    /// Whether the setting selects the userspace path manager.
    public var isUserspace: Bool { value == "userspace" || value == "1" }

    /// Writes this setting; throws the errno text when the kernel refuses it.
    public func apply() throws(PathManagerError) {
        let path = Self.directory + file
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PathManagerError("open(\(path))", errno: errno) }
        defer { close(fd) }
        let text = value + "\n"
        let written = text.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        guard written == text.utf8.count else { throw PathManagerError("write(\(path), \(value))", errno: errno) }
    }

    private static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        var text = String(decoding: buffer[0..<count], as: UTF8.self)
        while text.last == "\n" { text.removeLast() }
        return text
    }
}

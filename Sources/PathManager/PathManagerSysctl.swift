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
            if let value = SmallTextFile.read(directory + file) {
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
        let failure = SmallTextFile.write(Self.directory + file, value, create: false)
        guard failure.errno == 0 else { throw PathManagerError(failure.call, errno: failure.errno) }
    }
}

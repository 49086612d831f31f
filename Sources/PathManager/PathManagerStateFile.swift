#if canImport(Glibc)
import Glibc
#endif

/// Remembers, per network namespace, the path manager setting the relay replaced, in
/// `/run/mptcp-relay/`: a relay that was killed (SIGKILL, OOM) cannot restore it, so the next one finds
/// it there and puts it back at its own stop.
struct PathManagerStateFile {
    /// The file's path: one per network namespace, named after the namespace's inode.
    let path: String

    static let directory = "/run/mptcp-relay"

    /// The state file of the calling thread's network namespace, or nil when the namespace cannot be named.
    static func forCurrentNamespace() -> PathManagerStateFile? {
        var info = stat()
        guard stat("/proc/self/ns/net", &info) == 0 else { return nil }
        return PathManagerStateFile(path: "\(directory)/path-manager.netns-\(info.st_ino)")
    }

    /// The setting a previous run saved, if its file is there.
    func load() -> PathManagerSysctl? {
        guard let text = SmallTextFile.read(path) else { return nil }
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, ["path_manager", "pm_type"].contains(parts[0]), !parts[1].isEmpty else { return nil }
        return PathManagerSysctl(file: parts[0], value: parts[1])
    }

    /// Saves `setting`; returns false when the file cannot be written.
    func save(_ setting: PathManagerSysctl) -> Bool {
        _ = mkdir(Self.directory, 0o755)
        return SmallTextFile.write(path, "\(setting.file)=\(setting.value)", create: true).errno == 0
    }

    /// Removes the file (the setting is restored).
    func remove() {
        _ = unlink(path)
    }
}

extension PathManagerService {
    /// The directory of the saved path manager settings (`/run/mptcp-relay`): it must stay writable by the
    /// user the relay runs as, or a clean stop cannot remove its file (systemd: `RuntimeDirectory=`).
    public static let stateDirectory = PathManagerStateFile.directory
}

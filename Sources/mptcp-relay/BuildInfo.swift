internal import CBuildInfo

/// The version of mptcp-relay and the commit it was built from, for `--version` and the start line.
enum BuildInfo {
    /// The release version; `packaging/deb/build.sh` names the package after it.
    static let version = "0.1.0"

    /// The git commit baked in at build time (`MPTCP_RELAY_COMMIT`, set by `packaging/deb/build.sh`), or nil
    /// for a plain `swift build`.
    static let commit: String? = {
        let commit = String(cString: mptcp_relay_build_commit())
        return commit.isEmpty ? nil : commit
    }()

    /// What `mptcp-relay --version` prints: `0.1.0 (commit 1a2b3c4d5e6f)` or `0.1.0 (commit unknown)`.
    static let description = "\(version) (commit \(commit ?? "unknown"))"
}

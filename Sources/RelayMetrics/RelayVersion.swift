/// The relay's version, for `mptcp_relay_build_info` and `--version`.
public enum RelayVersion {
    /// The version string.
    public static let current = "0.1.0"
}

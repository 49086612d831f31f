/// Which kernel interface drives the workers' event loops.
public enum IOBackend: String, Sendable, Hashable, CaseIterable {
    /// io_uring where the kernel allows it, epoll where it does not (one log line says so).
    case auto
    /// io_uring only: the engine refuses to start without it.
    case ioUring = "io_uring"
    /// epoll and nonblocking splice, even where io_uring works.
    case epoll

    /// The environment variable that overrides the configured backend (for running a test suite both
    /// ways, or a quick comparison without editing the config).
    public static let environmentVariable = "MPTCP_RELAY_IO_BACKEND"
}

import Logging

#if canImport(Glibc)
import Glibc
#endif

extension RelayEngine {
    /// The backend the workers will run on: the configured one, unless `MPTCP_RELAY_IO_BACKEND` names
    /// another; `auto` becomes io_uring when a probe ring can be set up, epoll (with one warning saying
    /// why) when not. `io_uring` stays io_uring: the workers then fail to start where it is refused.
    func chooseIOBackend() -> IOBackend {
        var requested = settings.ioBackend
        if let raw = getenv(IOBackend.environmentVariable).map({ String(cString: $0) }), !raw.isEmpty {
            if let override = IOBackend(rawValue: raw) {
                requested = override
            } else {
                logger.warning(
                    "ignoring \(IOBackend.environmentVariable): not a backend",
                    metadata: ["value": "\(raw)", "expected": "auto, io_uring or epoll"]
                )
            }
        }
        switch requested {
        case .ioUring:
            return .ioUring
        case .epoll:
            logger.info("event loops run on epoll (io_backend = epoll)")
            return .epoll
        case .auto:
            guard let refusal = IOUring.probe() else { return .ioUring }
            logger.warning(
                "io_uring is unavailable: event loops run on epoll and nonblocking splice",
                metadata: [
                    "error": "\(refusal)",
                    "check":
                        "sysctl kernel.io_uring_disabled (0 allows it), or the seccomp filter of the service or container",
                ]
            )
            return .epoll
        }
    }
}

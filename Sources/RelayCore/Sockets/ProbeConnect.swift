internal import CLiburing
public import ConvertProtocol

#if canImport(Glibc)
import Glibc
#endif

/// The socket side of a path's active probe: a nonblocking TCP connect from one source address (and
/// device) to a target, whose answer is a completed connect or a reset, and an abortive close.
public enum ProbeConnect {
    /// How a probe's connect began.
    public enum Start: Sendable, Equatable {
        /// In flight on this descriptor: poll it for writability, then ask ``answered(_:)``.
        case inFlight(Int32)
        /// Answered at once (a reset from the target).
        case answered
        /// Failed at once on the way out (no route, network unreachable…).
        case failed
        /// Not sent: this host could not make or bind the socket (out of descriptors or ports, the source
        /// address gone); says nothing about the path.
        case skipped
    }

    /// Starts a connect from `source` (bound to `device` where the relay may; the source address and its
    /// routing table pick the uplink otherwise) to `target`.
    public static func start(from source: IPAddress, device: String?, to target: Endpoint) -> Start {
        let family = target.address.isIPv4 ? AF_INET : AF_INET6
        guard let fd = try? SocketCalls.makeStreamSocket(family: family, mptcp: false) else { return .skipped }
        if let device {
            _ = device.withCString { name in
                setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, socklen_t(strlen(name) + 1))
            }
        }
        guard (try? SocketCalls.bindSource(fd, SocketAddress(Endpoint(address: source, port: 0)))) != nil else {
            close(fd)
            return .skipped
        }
        let connected = SocketAddress(target).withSockaddr { connect(fd, $0, $1) }
        if connected == 0 || errno == EINPROGRESS { return .inFlight(fd) }
        let error = errno
        close(fd)
        switch error {
        case ECONNREFUSED: return .answered
        case EAGAIN, EADDRNOTAVAIL, ENOBUFS, ENOMEM: return .skipped
        default: return .failed
        }
    }

    /// Whether the connect on `fd`, which poll reported, was answered: connected, or refused with a reset.
    public static func answered(_ fd: Int32) -> Bool {
        let error = SocketCalls.pendingError(fd)
        return error == 0 || error == ECONNREFUSED
    }

    /// Closes a probe's socket with a reset: no FIN exchange, no TIME_WAIT left on either side.
    public static func close(_ fd: Int32) {
        SocketCalls.setLingerZero(fd)
        Glibc.close(fd)
    }
}

internal import CLiburing
import ConvertProtocol

#if canImport(Glibc)
import Glibc
#endif

/// Checks whether this kernel's MPTCP Fast Open server keeps to its clients' receive window.
///
/// Linux 6.18 (docs/RELIABILITY.md, finding 7) gives an MPTCP socket that accepted data in a SYN a send
/// window of the SYN's window field shifted by the client's window scale (64240 << 10, about 63 MiB, where
/// 64240 is right): it sends past the client's window, the client drops what does not fit, and downloads
/// stall on MPTCP retransmissions. The check repeats that over loopback in the relay's own network
/// namespace: one connection fetches a cookie, the next carries a byte in its SYN, and the accepted socket
/// writes to a client that never reads. A correct sender stops at the window; an affected one has far more
/// sent than acknowledged 200 ms later (about 450 KB against none without Fast Open,
/// scripts/repro/mptcp-tfo-window.py measures the same from Python).
enum FastOpenProbe {
    /// What the check found.
    enum Verdict: Equatable, Sendable {
        /// The server socket stopped at the client's window.
        case keepsToWindow
        /// The server socket sent this many bytes past the client's window.
        case sendsPastWindow(bytes: Int)
        /// The check could not run; the text says why.
        case unknown(String)
    }

    /// Bytes past the window that mark the bug; plain TCP over loopback leaves up to ~47 KB unacknowledged.
    static let pastWindowLimit = 256 * 1024

    /// The running kernel's release (uname -r), for log lines.
    static var kernelRelease: String {
        var names = utsname()
        guard uname(&names) == 0 else { return "unknown" }
        return withUnsafeBytes(of: &names.release) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// Runs the check (about a quarter of a second); never throws.
    static func run() -> Verdict {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), CLiburing_IPPROTO_MPTCP)
        guard listener >= 0 else { return .unknown("socket(IPPROTO_MPTCP): \(SystemCallError.text(errno))") }
        defer { close(listener) }
        var loopback = SocketAddress(Endpoint(address: .v4(0x7F00_0001), port: 0))
        do throws(SystemCallError) {
            try SocketCalls.setOption(listener, Int32(IPPROTO_TCP), TCP_FASTOPEN, 4, name: "TCP_FASTOPEN")
            setTimeouts(listener)
            if loopback.withSockaddr({ bind(listener, $0, $1) }) != 0 { throw SystemCallError("bind", errno: errno) }
            if listen(listener, 4) != 0 { throw SystemCallError("listen", errno: errno) }
            guard let bound = SocketAddress.local(of: listener) else {
                throw SystemCallError("getsockname", errno: errno)
            }
            loopback = bound
            // The first connection fetches the cookie, the second carries its byte in the SYN.
            _ = try connection(to: loopback, listener: listener)
            return try connection(to: loopback, listener: listener)
        } catch {
            return .unknown("\(error)")
        }
    }

    /// One client connection with TCP_FASTOPEN_CONNECT and one byte sent; when that byte rode in the SYN,
    /// the accepted socket writes until the window is full and the verdict is measured, otherwise
    /// `.unknown`.
    private static func connection(
        to address: SocketAddress,
        listener: Int32
    ) throws(SystemCallError) -> Verdict {
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), CLiburing_IPPROTO_MPTCP)
        guard client >= 0 else { throw SystemCallError("socket(IPPROTO_MPTCP)", errno: errno) }
        defer { close(client) }
        setTimeouts(client)
        // EOPNOTSUPP here: net.ipv4.tcp_fastopen lacks the client bit (1).
        try SocketCalls.setOption(client, Int32(IPPROTO_TCP), TCP_FASTOPEN_CONNECT, 1, name: "TCP_FASTOPEN_CONNECT")
        if address.withSockaddr({ connect(client, $0, $1) }) != 0 { throw SystemCallError("connect", errno: errno) }
        if SocketCalls.send(client, [0x72]) != 1 { throw SystemCallError("send", errno: errno) }
        let server = accept(listener, nil, nil)  // closed before this function returns
        guard server >= 0 else { throw SystemCallError("accept", errno: errno) }
        defer { close(server) }
        var sent: UInt64 = 0
        var acked: UInt64 = 0
        var options: UInt8 = 0
        let status = CLiburing_tcp_sent_acked(client, &sent, &acked, &options)
        if status < 0 { throw SystemCallError("getsockopt(TCP_INFO)", errno: -status) }
        guard options & CLiburing_TCPI_OPT_SYN_DATA != 0 else {
            return .unknown("the request did not ride in the SYN (net.ipv4.tcp_fastopen must be 3)")
        }
        let block = [UInt8](repeating: 0, count: 65536)
        for _ in 0..<64 {
            let result = block.withUnsafeBytes {
                send(server, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
            }
            if result <= 0 { break }
        }
        var pause = timespec(tv_sec: 0, tv_nsec: 200_000_000)
        var left = timespec()
        for _ in 0..<100 {  // again only when a signal cut the sleep short
            if nanosleep(&pause, &left) == 0 || errno != EINTR { break }
            pause = left
        }
        let measured = CLiburing_tcp_sent_acked(server, &sent, &acked, &options)
        if measured < 0 { throw SystemCallError("getsockopt(TCP_INFO)", errno: -measured) }
        let past = sent > acked ? Int(sent - acked) : 0
        return past > pastWindowLimit ? .sendsPastWindow(bytes: past) : .keepsToWindow
    }

    /// Two-second send and receive timeouts, so that no step of the check can hang.
    private static func setTimeouts(_ fd: Int32) {
        var limit = timeval(tv_sec: 2, tv_usec: 0)
        let size = socklen_t(MemoryLayout<timeval>.size)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, size)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, size)
    }
}

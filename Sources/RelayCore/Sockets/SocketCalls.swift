internal import CLiburing
import ConvertProtocol

#if canImport(Glibc)
import Glibc
#endif

/// Thin, typed wrappers over the socket calls the engine makes outside the ring.
enum SocketCalls {
    /// A nonblocking, close-on-exec stream socket; IPPROTO_MPTCP when `mptcp` is set.
    static func makeStreamSocket(family: Int32, mptcp: Bool) throws(SystemCallError) -> Int32 {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = socket(family, type, mptcp ? CLiburing_IPPROTO_MPTCP : Int32(IPPROTO_TCP))
        if fd < 0 {
            throw SystemCallError(mptcp ? "socket(IPPROTO_MPTCP)" : "socket", errno: errno)
        }
        return fd
    }

    /// A listening socket bound to `endpoint` with SO_REUSEADDR and SO_REUSEPORT, so that every worker
    /// can have its own listener on the same port.
    static func makeListener(
        _ endpoint: Endpoint,
        mptcp: Bool,
        backlog: Int32,
        transparent: Bool = false
    ) throws(SystemCallError) -> Int32 {
        let address = SocketAddress(endpoint)
        let fd = try makeStreamSocket(family: address.family, mptcp: mptcp)
        do throws(SystemCallError) {
            try setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1, name: "SO_REUSEADDR")
            try setOption(fd, SOL_SOCKET, SO_REUSEPORT, 1, name: "SO_REUSEPORT")
            if address.family == AF_INET6 {
                try setOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, 1, name: "IPV6_V6ONLY")
            }
            if transparent {
                // Accept connections addressed to any destination that TPROXY rules steer here.
                if address.family == AF_INET6 {
                    try setOption(fd, Int32(IPPROTO_IPV6), IPV6_TRANSPARENT, 1, name: "IPV6_TRANSPARENT")
                } else {
                    try setOption(fd, Int32(IPPROTO_IP), IP_TRANSPARENT, 1, name: "IP_TRANSPARENT")
                }
            }
            let bound = address.withSockaddr { bind(fd, $0, $1) }
            if bound != 0 { throw SystemCallError("bind(\(endpoint))", errno: errno) }
            if listen(fd, backlog) != 0 { throw SystemCallError("listen(\(endpoint))", errno: errno) }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// setsockopt with an `Int32` value.
    static func setOption(
        _ fd: Int32,
        _ level: Int32,
        _ option: Int32,
        _ value: Int32,
        name: String
    )
        throws(SystemCallError)
    {
        var value = value
        if setsockopt(fd, level, option, &value, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            throw SystemCallError("setsockopt(\(name))", errno: errno)
        }
    }

    /// Binds `fd` to `address` (port 0: the kernel picks one now) and returns the bound port.
    static func bindSource(_ fd: Int32, _ address: SocketAddress) throws(SystemCallError) -> UInt16 {
        let bound = address.withSockaddr { bind(fd, $0, $1) }
        if bound != 0 { throw SystemCallError("bind(source)", errno: errno) }
        guard let local = SocketAddress.local(of: fd)?.port else {
            throw SystemCallError("getsockname", errno: errno)
        }
        return local
    }

    /// Sets TCP_CONGESTION (on an MPTCP socket it applies to every subflow).
    static func setCongestionControl(_ fd: Int32, _ name: String) throws(SystemCallError) {
        var name = name
        let result = name.withUTF8 { utf8 in
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_CONGESTION, utf8.baseAddress, socklen_t(utf8.count))
        }
        if result != 0 { throw SystemCallError("setsockopt(TCP_CONGESTION)", errno: errno) }
    }

    /// Turns off Nagle: a relay must not add delay to small writes that its peers already decided to send.
    static func setNoDelay(_ fd: Int32) {
        try? setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1, name: "TCP_NODELAY")
    }

    /// Turns TCP keepalive on with `keepalive`'s figures (nil: leaves the socket as it is). Best effort, as
    /// TCP_NODELAY: a kernel that refuses one of them leaves the connection relayed all the same.
    static func setKeepalive(_ fd: Int32, _ keepalive: TCPKeepalive?) {
        guard let keepalive else { return }
        try? setOption(fd, SOL_SOCKET, SO_KEEPALIVE, 1, name: "SO_KEEPALIVE")
        try? setOption(fd, Int32(IPPROTO_TCP), TCP_KEEPIDLE, keepalive.idle, name: "TCP_KEEPIDLE")
        try? setOption(fd, Int32(IPPROTO_TCP), TCP_KEEPINTVL, keepalive.interval, name: "TCP_KEEPINTVL")
        try? setOption(fd, Int32(IPPROTO_TCP), TCP_KEEPCNT, keepalive.count, name: "TCP_KEEPCNT")
    }

    /// Makes the next close send a reset instead of a FIN.
    static func setLingerZero(_ fd: Int32) {
        var value = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &value, socklen_t(MemoryLayout<linger>.size))
    }

    /// Undoes ``setLingerZero(_:)``: the next close sends a FIN after what is still queued.
    static func clearLinger(_ fd: Int32) {
        var value = linger(l_onoff: 0, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &value, socklen_t(MemoryLayout<linger>.size))
    }

    /// What the socket holds in its receive memory (SO_MEMINFO: bytes charged, in order or not) and its
    /// receive buffer limit; nil when the kernel does not say.
    static func receiveMemory(_ fd: Int32) -> (held: UInt32, limit: UInt32)? {
        var info = [UInt32](repeating: 0, count: 9)  // SK_MEMINFO_VARS
        var length = socklen_t(MemoryLayout<UInt32>.size * info.count)
        let result = info.withUnsafeMutableBytes { getsockopt(fd, SOL_SOCKET, SO_MEMINFO, $0.baseAddress, &length) }
        guard result == 0, length >= socklen_t(MemoryLayout<UInt32>.size * 2) else { return nil }
        return (info[0], info[1])
    }

    /// Whether poll reports `fd` writable (or in error) right now.
    static func isWritableNow(_ fd: Int32) -> Bool {
        guard fd >= 0 else { return false }
        var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        return poll(&descriptor, 1, 0) == 1 && descriptor.revents != 0
    }

    /// Whether `fd` is an MPTCP socket (SO_PROTOCOL).
    static func isMPTCP(_ fd: Int32) -> Bool {
        var protocolNumber: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocolNumber, &length) == 0 && protocolNumber == 262
    }

    /// Raises the receive buffer limit to `bytes` (SO_RCVBUFFORCE, which CAP_NET_ADMIN allows past
    /// net.core.rmem_max); false when the kernel refused.
    static func forceReceiveBuffer(_ fd: Int32, _ bytes: Int32) -> Bool {
        var value = bytes
        return setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &value, socklen_t(MemoryLayout<Int32>.size)) == 0
    }

    /// The pending socket error (SO_ERROR), 0 when none.
    static func pendingError(_ fd: Int32) -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length)
        return value
    }

    /// Whether MPTCP sockets can be made here; the error names what refused them.
    static func probeMPTCP(family: Int32 = AF_INET) -> SystemCallError? {
        do {
            let fd = try makeStreamSocket(family: family, mptcp: true)
            close(fd)
            return nil
        } catch {
            return error
        }
    }

    /// Nonblocking send of a small control message; returns bytes sent or -errno.
    static func send(_ fd: Int32, _ bytes: [UInt8]) -> Int {
        let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        return sent < 0 ? -Int(errno) : sent
    }

    /// Nonblocking gathered send of a header and a payload in one sendmsg; returns bytes sent or -errno.
    static func send(
        _ fd: Int32,
        _ header: UnsafeRawBufferPointer,
        _ payload: UnsafeRawPointer,
        _ payloadCount: Int
    ) -> Int {
        var vectors = (
            iovec(iov_base: UnsafeMutableRawPointer(mutating: header.baseAddress), iov_len: header.count),
            iovec(iov_base: UnsafeMutableRawPointer(mutating: payload), iov_len: payloadCount)
        )
        let sent = withUnsafeMutableBytes(of: &vectors) { raw -> Int in
            var message = msghdr()
            message.msg_iov = raw.baseAddress!.assumingMemoryBound(to: iovec.self)
            message.msg_iovlen = payloadCount > 0 ? 2 : 1
            return sendmsg(fd, &message, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
        }
        return sent < 0 ? -Int(errno) : sent
    }

    /// Nonblocking receive into `buffer`; returns bytes read, 0 on EOF, or -errno.
    static func receive(_ fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int) -> Int {
        let received = recv(fd, buffer, count, Int32(MSG_DONTWAIT))
        return received < 0 ? -Int(errno) : received
    }
}

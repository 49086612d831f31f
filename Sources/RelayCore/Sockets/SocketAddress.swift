internal import CLiburing
import ConvertProtocol

#if canImport(Glibc)
import Glibc
#endif

/// A socket address in a `sockaddr_in6`-sized buffer, convertible to and from `Endpoint`.
///
/// IPv4 endpoints are stored as `sockaddr_in`, IPv6 ones as `sockaddr_in6`: the family of the socket
/// that uses it must match.
struct SocketAddress {
    var storage = sockaddr_in6()
    var length: socklen_t = 0

    init() {}

    init(_ endpoint: Endpoint) {
        switch endpoint.address {
        case .v4(let value):
            withUnsafeMutableBytes(of: &storage) { raw in
                let sin = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self)
                sin.pointee.sin_family = sa_family_t(AF_INET)
                sin.pointee.sin_port = endpoint.port.bigEndian
                sin.pointee.sin_addr.s_addr = value.bigEndian
            }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
        case .v6:
            storage.sin6_family = sa_family_t(AF_INET6)
            storage.sin6_port = endpoint.port.bigEndian
            let bytes = endpoint.address.bytes16
            withUnsafeMutableBytes(of: &storage.sin6_addr) { raw in
                for index in 0..<16 { raw[index] = bytes[index] }
            }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        }
    }

    /// The address family, `AF_INET` or `AF_INET6`.
    var family: Int32 { Int32(storage.sin6_family) }

    /// The endpoint this address names, or nil for a family other than IPv4 and IPv6.
    var endpoint: Endpoint? {
        switch family {
        case AF_INET:
            return withUnsafeBytes(of: storage) { raw in
                let sin = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self).pointee
                return Endpoint(
                    address: .v4(UInt32(bigEndian: sin.sin_addr.s_addr)),
                    port: UInt16(bigEndian: sin.sin_port)
                )
            }
        case AF_INET6:
            let bytes = withUnsafeBytes(of: storage.sin6_addr) { Array($0) }
            return Endpoint(address: IPAddress(bytes16: bytes), port: UInt16(bigEndian: storage.sin6_port))
        default:
            return nil
        }
    }

    /// The port, without building an `Endpoint`.
    var port: UInt16 { UInt16(bigEndian: storage.sin6_port) }

    /// Calls `body` with the address as a `sockaddr` pointer and its length.
    func withSockaddr<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> Result) rethrows -> Result {
        try withUnsafeBytes(of: storage) { raw in
            try body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
    }

    /// The peer address of a connected socket.
    static func peer(of fd: Int32) -> SocketAddress? {
        var address = SocketAddress()
        address.length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        let result = withUnsafeMutableBytes(of: &address.storage) { raw in
            getpeername(fd, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), &address.length)
        }
        return result == 0 ? address : nil
    }

    /// The local address of a socket.
    static func local(of fd: Int32) -> SocketAddress? {
        var address = SocketAddress()
        address.length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        let result = withUnsafeMutableBytes(of: &address.storage) { raw in
            getsockname(fd, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), &address.length)
        }
        return result == 0 ? address : nil
    }
}

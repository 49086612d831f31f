import Foundation
import Glibc

/// Plain MPTCP sockets for the live event test: a listener that accepts one connection and drains it, and a
/// connecting client. Each must be created on a thread inside the namespace it belongs to.
enum MPTCPTestConnection {
    static let protocolMPTCP: Int32 = 262

    /// A listening MPTCP socket on 0.0.0.0:`port`.
    static func listen(port: UInt16) throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), protocolMPTCP)
        guard descriptor >= 0 else { throw NamespaceError(message: "socket(IPPROTO_MPTCP): errno \(errno)") }
        var one: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = socketAddress(0, port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, Glibc.listen(descriptor, 8) == 0 else {
            close(descriptor)
            throw NamespaceError(message: "bind/listen: errno \(errno)")
        }
        return descriptor
    }

    /// Accepts one connection on a background thread and reads until EOF; gives up after `seconds`.
    static func serveOnce(_ listener: Int32, seconds: Int32) {
        Thread {
            defer { close(listener) }
            guard let connection = acceptOne(listener, seconds: seconds) else { return }
            defer { close(connection) }
            var timeout = timeval(tv_sec: Int(seconds), tv_usec: 0)
            setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var buffer = [UInt8](repeating: 0, count: 4096)
            while buffer.withUnsafeMutableBytes({ recv(connection, $0.baseAddress, $0.count, 0) }) > 0 {}
        }.start()
    }

    /// Accepts one connection on a background thread and, once the client's bytes are there, closes it
    /// without reading them, half a second later: the kernel then resets the connection with MP_FASTCLOSE (RFC 8684 3.5).
    static func acceptAndAbort(_ listener: Int32, seconds: Int32) {
        Thread {
            defer { close(listener) }
            guard let connection = acceptOne(listener, seconds: seconds) else { return }
            var readable = pollfd(fd: connection, events: Int16(POLLIN), revents: 0)
            _ = poll(&readable, 1, seconds * 1000)
            // Give the client time to look at the live connection first.
            usleep(500_000)
            close(connection)
        }.start()
    }

    /// One accepted connection of `listener`, waiting at most `seconds` for it.
    private static func acceptOne(_ listener: Int32, seconds: Int32) -> Int32? {
        var descriptor = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, seconds * 1000) == 1 else { return nil }
        let connection = accept(listener, nil, nil)
        return connection >= 0 ? connection : nil
    }

    /// A connected MPTCP client socket to `address`:`port` (numeric IPv4) that sent a few bytes.
    static func connect(to address: UInt32, port: UInt16) throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), protocolMPTCP)
        guard descriptor >= 0 else { throw NamespaceError(message: "socket(IPPROTO_MPTCP): errno \(errno)") }
        var destination = socketAddress(address, port: port)
        let connected = withUnsafePointer(to: &destination) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(descriptor)
            throw NamespaceError(message: "connect: errno \(errno)")
        }
        _ = send(descriptor, "hello", 5, 0)
        return descriptor
    }

    private static func socketAddress(_ address: UInt32, port: UInt16) -> sockaddr_in {
        var result = sockaddr_in()
        result.sin_family = sa_family_t(AF_INET)
        result.sin_port = port.bigEndian
        result.sin_addr = in_addr(s_addr: address.bigEndian)
        return result
    }
}

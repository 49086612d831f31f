import ConvertProtocol
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A blocking IPv4 TCP socket for tests: the relay under test is nonblocking, its peers need not be.
final class BlockingSocket: @unchecked Sendable {
    // Sendable: used by one thread at a time; the tests hand it over only through thread joins.
    let fd: Int32

    init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    /// Connects to `endpoint` (IPv4) with a receive timeout, so a test can never hang on a read.
    static func connect(to endpoint: Endpoint, timeoutSeconds: Int = 30) throws -> BlockingSocket {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(errno)") }
        let socket = BlockingSocket(fd: fd)
        socket.setTimeout(seconds: timeoutSeconds)
        var address = sockaddrIn(endpoint)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else { throw TestFailure("connect \(endpoint): \(String(cString: strerror(errno)))") }
        return socket
    }

    func setTimeout(seconds: Int) {
        var value = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    func sendAll(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = Glibc.send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if sent < 0 {
                if errno == EINTR { continue }
                throw TestFailure("send: \(String(cString: strerror(errno)))")
            }
            offset += sent
        }
    }

    func sendAll(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try sendAll($0) }
    }

    /// Reads up to `count` bytes: the bytes, [] at EOF; throws with the errno on error.
    func receive(upTo count: Int) throws(SocketReadError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        while true {
            let received = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, count, 0) }
            if received < 0 {
                if errno == EINTR { continue }
                throw SocketReadError(errno: errno)
            }
            return Array(buffer[0..<received])
        }
    }

    /// Reads until EOF, at most `limit` bytes.
    func receiveAll(limit: Int = 1 << 20) throws(SocketReadError) -> [UInt8] {
        var result: [UInt8] = []
        while result.count < limit {
            let chunk = try receive(upTo: 65536)
            if chunk.isEmpty { break }
            result += chunk
        }
        return result
    }

    /// Reads to the end and says how the connection ended: 0 for EOF, else the errno (ECONNRESET for a
    /// reset, EAGAIN when the receive timeout passed first).
    func endOfStreamErrno() -> Int32 {
        do throws(SocketReadError) {
            _ = try receiveAll()
            return 0
        } catch {
            return error.errno
        }
    }

    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    static func sockaddrIn(_ endpoint: Endpoint) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = endpoint.port.bigEndian
        if case .v4(let value) = endpoint.address { address.sin_addr.s_addr = value.bigEndian }
        return address
    }
}

/// A failed read, with its errno (ECONNRESET is what a reset looks like).
struct SocketReadError: Error, Equatable {
    var errno: Int32
}

/// A test's own error with a message.
struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

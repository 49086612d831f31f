import ConvertProtocol
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A blocking TCP server on 127.0.0.1 that runs `handler` for each accepted connection on its own thread.
final class TestServer: @unchecked Sendable {
    // Sendable: `listener` is immutable; handlers run on their own threads with their own sockets.
    let listener: Int32
    let endpoint: Endpoint

    init(handler: @escaping @Sendable (BlockingSocket) -> Void) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var address = BlockingSocket.sockaddrIn(Endpoint(address: .v4(0x7F00_0001), port: 0))
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(listener, pointer, length) == 0 && listen(listener, 64) == 0
                    && getsockname(listener, pointer, &length) == 0
            }
        }
        guard bound else { throw TestFailure("test server bind: \(errno)") }
        endpoint = Endpoint(address: .v4(0x7F00_0001), port: UInt16(bigEndian: address.sin_port))
        let fd = listener
        Thread.detachNewThread {
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { return }
                let socket = BlockingSocket(fd: client)
                socket.setTimeout(seconds: 30)
                Thread.detachNewThread { handler(socket) }
            }
        }
    }

    /// Stops accepting (the accept thread ends with EBADF/EINVAL).
    func close() {
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
    }

    /// A port on 127.0.0.1 where nothing listens: bound, then closed again.
    static func closedPort() -> Endpoint {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { Glibc.close(fd) }
        var address = BlockingSocket.sockaddrIn(Endpoint(address: .v4(0x7F00_0001), port: 0))
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        return Endpoint(address: .v4(0x7F00_0001), port: UInt16(bigEndian: address.sin_port))
    }
}

/// Runs blocking work on its own thread, so the test's async context never blocks the cooperative pool.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
        }
    }
}

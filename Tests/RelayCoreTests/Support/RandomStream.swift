import Crypto
import Foundation

/// Sends `count` random bytes and hashes them; receives to EOF and hashes that: the two digests of one
/// side must equal the opposite two of the other side.
struct HashedTransfer: Sendable, Equatable {
    var sent = 0
    var sentDigest = ""
    var received = 0
    var receivedDigest = ""

    /// Full duplex on one socket: a second thread sends while this one receives; EOF is sent by shutdown.
    static func run(on socket: BlockingSocket, sending count: Int) throws -> HashedTransfer {
        let sender = SendTask(socket: socket, count: count)
        let thread = Thread { sender.run() }
        thread.start()
        var hasher = SHA256()
        var received = 0
        while true {
            let chunk = try socket.receive(upTo: 256 * 1024)
            if chunk.isEmpty { break }
            hasher.update(data: chunk)
            received += chunk.count
        }
        sender.done.wait()
        if let failure = sender.failure { throw failure }
        return HashedTransfer(
            sent: count,
            sentDigest: sender.digest,
            received: received,
            receivedDigest: hasher.finalize().hexString
        )
    }
}

/// The sending half of a `HashedTransfer`.
private final class SendTask: @unchecked Sendable {
    // Sendable: written by its thread only, read after `done` is signalled.
    let socket: BlockingSocket
    let count: Int
    var digest = ""
    var failure: (any Error)?
    let done = DispatchSemaphore(value: 0)

    init(socket: BlockingSocket, count: Int) {
        self.socket = socket
        self.count = count
    }

    func run() {
        defer { done.signal() }
        var generator = SystemRandomNumberGenerator()
        var hasher = SHA256()
        var chunk = [UInt8](repeating: 0, count: 256 * 1024)
        var remaining = count
        do {
            while remaining > 0 {
                let size = min(remaining, chunk.count)
                chunk.withUnsafeMutableBytes { raw in
                    let words = raw.bindMemory(to: UInt64.self)
                    for index in words.indices { words[index] = generator.next() }
                }
                let slice = chunk[0..<size]
                hasher.update(data: slice)
                try slice.withUnsafeBytes { try socket.sendAll($0) }
                remaining -= size
            }
            socket.shutdownWrite()
        } catch {
            failure = error
        }
        digest = hasher.finalize().hexString
    }
}

extension Digest {
    var hexString: String {
        map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
    }
}

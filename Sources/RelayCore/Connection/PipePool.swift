internal import CLiburing

#if canImport(Glibc)
import Glibc
#endif

/// A kernel pipe used as the zero-copy buffer of one relay direction.
struct Pipe {
    var readEnd: Int32
    var writeEnd: Int32

    static let none = Pipe(readEnd: -1, writeEnd: -1)

    var isNone: Bool { readEnd < 0 }

    func close() {
        Glibc.close(readEnd)
        Glibc.close(writeEnd)
    }
}

/// A worker's pipes: a direction takes one only while it has bytes in flight and gives it back empty,
/// so idle connections hold no pipe. Not thread-safe: one per worker.
///
/// Every pipe it hands out comes back through ``release(_:)`` (empty) or ``discard(_:)`` (holding bytes),
/// so ``inUse`` is exact: with no connection open it is 0, and anything else is a leak.
struct PipePool: ~Copyable {
    private var free: [Pipe]
    private let keepFree: Int
    let pipeSize: Int32
    private(set) var created = 0
    /// Pipes made and not yet closed: in use plus idle.
    private(set) var open = 0

    init(pipeSize: Int, keepFree: Int) {
        self.pipeSize = Int32(pipeSize)
        self.keepFree = keepFree
        free = []
        free.reserveCapacity(keepFree)
    }

    deinit {
        for pipe in free { pipe.close() }
    }

    /// An empty pipe from the pool, or a new one; nil with the errno when none can be made (EMFILE).
    mutating func acquire() -> (Pipe, Int32) {
        if let pipe = free.popLast() { return (pipe, 0) }
        var fds: (Int32, Int32) = (-1, -1)
        let result = withUnsafeMutableBytes(of: &fds) { raw in
            CLiburing_pipe_nonblock(raw.baseAddress!.assumingMemoryBound(to: Int32.self), pipeSize)
        }
        if result < 0 { return (.none, -result) }
        created += 1
        open += 1
        return (Pipe(readEnd: fds.0, writeEnd: fds.1), 0)
    }

    /// Gives back an empty pipe; pipes beyond what the pool keeps are closed.
    mutating func release(_ pipe: Pipe) {
        if free.count < keepFree {
            free.append(pipe)
        } else {
            discard(pipe)
        }
    }

    /// Closes a pipe that must not be reused (it still holds bytes).
    mutating func discard(_ pipe: Pipe) {
        pipe.close()
        open -= 1
    }

    /// Pipes waiting in the pool.
    var idleCount: Int { free.count }

    /// Pipes held by connections now.
    var inUse: Int { open - free.count }
}

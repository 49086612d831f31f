internal import CLiburing

#if canImport(Glibc)
import Glibc
#endif

/// A plain POSIX thread running one closure: workers own their ring and must not hop between threads,
/// which Swift concurrency's executors would allow.
package enum WorkerThread {
    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// Starts a joinable thread named `name` (truncated to 15 bytes, as the kernel keeps it).
    static func start(name: String, _ body: @escaping @Sendable () -> Void) throws(SystemCallError) -> pthread_t {
        let box = Unmanaged.passRetained(
            Box {
                CLiburing_set_thread_name(String(name.prefix(15)))
                body()
            }
        ).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread,
            nil,
            { argument in
                let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
                box.body()
                return nil
            },
            box
        )
        if result != 0 {
            Unmanaged<Box>.fromOpaque(box).release()
            throw SystemCallError("pthread_create", errno: result)
        }
        return thread
    }

    /// Starts a joinable thread as ``start(name:_:)`` does, for code outside RelayCore.
    package static func spawn(
        name: String,
        _ body: @escaping @Sendable () -> Void
    ) throws(SystemCallError) -> JoinableThread {
        JoinableThread(thread: try start(name: name, body))
    }
}

/// A thread started by ``WorkerThread/spawn(name:_:)``, to be joined once.
package struct JoinableThread {
    let thread: pthread_t

    /// Waits for the thread to return.
    package func join() {
        pthread_join(thread, nil)
    }
}

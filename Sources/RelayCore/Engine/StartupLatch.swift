import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Lets `RelayEngine.start()` wait until every worker has built its ring (or failed to), so that start-up
/// errors surface to the caller instead of in a log line later.
final class StartupLatch: Sendable {
    private let state: Mutex<(remaining: Int, failure: SystemCallError?)>
    private let semaphore = Semaphore()

    init(count: Int) {
        state = Mutex((count, nil))
    }

    /// Called once by each worker: nil when ready, else its error. Later calls are ignored.
    func report(_ failure: SystemCallError?) {
        let done = state.withLock { state -> Bool in
            guard state.remaining > 0 else { return false }
            state.remaining -= 1
            if state.failure == nil { state.failure = failure }
            return state.remaining == 0
        }
        if done { semaphore.signal() }
    }

    /// Blocks until every worker reported; returns the first failure.
    func wait() -> SystemCallError? {
        semaphore.wait()
        return state.withLock { $0.failure }
    }
}

/// A POSIX semaphore at a fixed address.
final class Semaphore: @unchecked Sendable {
    // Sendable: sem_t is made for use across threads; the pointer never changes after init.
    private let handle: UnsafeMutablePointer<sem_t>

    init() {
        handle = .allocate(capacity: 1)
        sem_init(handle, 0, 0)
    }

    deinit {
        sem_destroy(handle)
        handle.deallocate()
    }

    func signal() { sem_post(handle) }

    func wait() {
        while sem_wait(handle) != 0 && errno == EINTR {}
    }
}

internal import CLiburing

#if canImport(Glibc)
import Glibc
#endif

/// The event source where io_uring is unavailable (`kernel.io_uring_disabled`, a seccomp filter, an old
/// kernel): epoll in one-shot mode, with each operation carried out by the matching nonblocking call
/// once epoll says the descriptor is ready, and its result queued as the completion io_uring would post.
final class EpollEvents: EventSource {
    let completionBatch: Int
    private let epollFD: Int32
    /// By descriptor number: what waits on it, and the registration generation its epoll data carries.
    private var interests: [Interest] = []
    /// Completions not yet handed out; `queueHead` is the next one.
    private var queue: [Completion] = []
    private var queueHead = 0
    /// Pending one-shot timeouts: deadline (CLOCK_MONOTONIC nanoseconds) and user data.
    private var timers: [(deadline: UInt64, userData: UInt64)] = []
    private let readyData: UnsafeMutablePointer<UInt64>
    private let readyEvents: UnsafeMutablePointer<UInt32>
    private static let readyCapacity = 256
    /// Connections taken per readiness of a listener before the others get their turn.
    private static let acceptsPerWake = 32

    /// A completion as io_uring would post it.
    private struct Completion {
        var userData: UInt64
        var result: Int32
        var flags: UInt32
    }

    /// What waits for a descriptor to become readable.
    private enum ReadWaiter {
        case none
        case poll(UInt64)
        case accept(UInt64)
        case read(UInt64, UnsafeMutableRawPointer, Int)
    }

    /// What waits for a descriptor to become writable.
    private enum WriteWaiter {
        case none
        case poll(UInt64)
        case connect(UInt64)
    }

    /// One descriptor's waiters and registration.
    private struct Interest {
        var reading = ReadWaiter.none
        var writing = WriteWaiter.none
        /// Whether the descriptor is in the epoll set, as far as this source knows (a close takes it out
        /// behind its back; the next MOD then fails with ENOENT and becomes an ADD).
        var registered = false
        /// Bumped on every ADD: events of an earlier registration of the same number are stale.
        var generation: UInt32 = 0

        var waits: Bool {
            if case .none = reading, case .none = writing { return false }
            return true
        }
    }

    /// An epoll instance; `completionBatch` as for ``IOUring``.
    init(completionBatch: Int = 256) throws(SystemCallError) {
        let fd = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard fd >= 0 else { throw SystemCallError("epoll_create1", errno: errno) }
        epollFD = fd
        self.completionBatch = completionBatch
        readyData = .allocate(capacity: EpollEvents.readyCapacity)
        readyEvents = .allocate(capacity: EpollEvents.readyCapacity)
        queue.reserveCapacity(1024)
    }

    deinit {
        close(epollFD)
        readyData.deallocate()
        readyEvents.deallocate()
    }

    // MARK: Operations

    func pollOnce(_ fd: Int32, for readiness: Readiness, userData: UInt64) {
        guard reserve(fd) else { return post(userData, -EBADF) }
        switch readiness {
        case .readable: interests[Int(fd)].reading = .poll(userData)
        case .writable: interests[Int(fd)].writing = .poll(userData)
        }
        arm(fd)
    }

    func connect(_ fd: Int32, to address: UnsafePointer<SocketAddress>, userData: UInt64) {
        let result = UnsafeRawPointer(address).withMemoryRebound(to: sockaddr.self, capacity: 1) {
            Glibc.connect(fd, $0, address.pointee.length)
        }
        if result == 0 { return post(userData, 0) }
        let code = errno
        guard code == EINPROGRESS, reserve(fd) else { return post(userData, -code) }
        interests[Int(fd)].writing = .connect(userData)
        arm(fd)
    }

    func acceptMultishot(_ fd: Int32, userData: UInt64) {
        guard reserve(fd) else { return post(userData, -EBADF) }
        interests[Int(fd)].reading = .accept(userData)
        arm(fd)
    }

    func readOnce(_ fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int, userData: UInt64) {
        guard reserve(fd) else { return post(userData, -EBADF) }
        interests[Int(fd)].reading = .read(userData, buffer, count)
        arm(fd)
    }

    func timeoutOnce(after interval: UnsafeMutablePointer<__kernel_timespec>, userData: UInt64) {
        let nanoseconds =
            UInt64(max(interval.pointee.tv_sec, 0)) * 1_000_000_000 + UInt64(max(interval.pointee.tv_nsec, 0))
        timers.append((EpollEvents.now() &+ nanoseconds, userData))
    }

    func cancel(_ target: UInt64, on fd: Int32, poll: Bool, userData: UInt64, quiet: Bool) {
        var found = false
        if fd >= 0 && Int(fd) < interests.count {
            switch interests[Int(fd)].reading {
            case .poll(let tag) where tag == target, .accept(let tag) where tag == target,
                .read(let tag, _, _) where tag == target:
                interests[Int(fd)].reading = .none
                found = true
            default: break
            }
            switch interests[Int(fd)].writing {
            case .poll(let tag) where tag == target, .connect(let tag) where tag == target:
                interests[Int(fd)].writing = .none
                found = true
            default: break
            }
        }
        // Whatever epoll still has armed for the descriptor fires at most once more and finds no waiter.
        if found { post(target, -ECANCELED) }
        if !found {
            post(userData, -ENOENT)
        } else if !quiet {
            post(userData, 0)
        }
    }

    // MARK: Waiting and completions

    func submitAndWait() throws(SystemCallError) {
        var timeout: Int32 = -1
        if queueHead < queue.count {
            timeout = 0
        } else if !timers.isEmpty {
            var next = UInt64.max
            for timer in timers { next = min(next, timer.deadline) }
            let now = EpollEvents.now()
            timeout = next <= now ? 0 : Int32(min((next - now + 999_999) / 1_000_000, 60_000))
        }
        let count = CLiburing_epoll_wait(epollFD, readyData, readyEvents, Int32(EpollEvents.readyCapacity), timeout)
        if count < 0 && count != -EINTR {
            throw SystemCallError("epoll_wait", errno: -count)
        }
        for index in 0..<Int(max(count, 0)) {
            let data = readyData[index]
            ready(
                fd: Int32(truncatingIfNeeded: data & 0xFFFF_FFFF),
                generation: UInt32(data >> 32),
                events: readyEvents[index]
            )
        }
        fireTimers()
    }

    func drainCompletions(_ body: (UInt64, Int32, UInt32) -> Void) -> Int {
        var handled = 0
        // `body` queues further operations, which may append completions: read by index, never hold the array.
        while handled < completionBatch && queueHead < queue.count {
            let completion = queue[queueHead]
            queueHead += 1
            handled += 1
            body(completion.userData, completion.result, completion.flags)
        }
        if queueHead == queue.count {
            queue.removeAll(keepingCapacity: true)
            queueHead = 0
        }
        return handled
    }

    // MARK: Internals

    private func post(_ userData: UInt64, _ result: Int32, flags: UInt32 = 0) {
        queue.append(Completion(userData: userData, result: result, flags: flags))
    }

    /// Makes room in the table for `fd`; false for a negative descriptor.
    private func reserve(_ fd: Int32) -> Bool {
        guard fd >= 0 else { return false }
        if Int(fd) >= interests.count {
            let grown = max(Int(fd) + 1, interests.count * 2, 64)
            interests.append(contentsOf: repeatElement(Interest(), count: grown - interests.count))
        }
        return true
    }

    /// Tells epoll what the descriptor's waiters wait for (one-shot: one report, then silence until armed
    /// again).
    private func arm(_ fd: Int32) {
        let interest = interests[Int(fd)]
        var events = CLiburing_EPOLLONESHOT
        if case .none = interest.reading {} else { events |= CLiburing_EPOLLIN }
        if case .none = interest.writing {} else { events |= CLiburing_EPOLLOUT }
        if interest.registered {
            let data = UInt64(UInt32(bitPattern: fd)) | UInt64(interest.generation) << 32
            let result = CLiburing_epoll_set(epollFD, fd, events, data, 0)
            if result == 0 { return }
            if result != -ENOENT { return failWaiters(fd, result) }
        }
        // New, or closed and reused since: a fresh registration with a new generation.
        interests[Int(fd)].generation &+= 1
        interests[Int(fd)].registered = true
        let data = UInt64(UInt32(bitPattern: fd)) | UInt64(interests[Int(fd)].generation) << 32
        let result = CLiburing_epoll_set(epollFD, fd, events, data, 1)
        if result != 0 { failWaiters(fd, result) }
    }

    /// epoll refused the descriptor: each waiter completes with the error.
    private func failWaiters(_ fd: Int32, _ error: Int32) {
        interests[Int(fd)].registered = false
        switch interests[Int(fd)].reading {
        case .none: break
        case .poll(let tag), .accept(let tag), .read(let tag, _, _): post(tag, error)
        }
        switch interests[Int(fd)].writing {
        case .none: break
        case .poll(let tag), .connect(let tag): post(tag, error)
        }
        interests[Int(fd)].reading = .none
        interests[Int(fd)].writing = .none
    }

    /// One epoll report: carries out each waiter's operation that the events allow, and re-arms what is
    /// left (a one-shot report disarms the descriptor).
    private func ready(fd: Int32, generation: UInt32, events: UInt32) {
        guard fd >= 0, Int(fd) < interests.count, interests[Int(fd)].generation == generation else { return }
        let failed = events & UInt32(EPOLLERR.rawValue | EPOLLHUP.rawValue)
        let readable = events & (CLiburing_EPOLLIN | UInt32(EPOLLPRI.rawValue)) != 0 || failed != 0
        let writable = events & CLiburing_EPOLLOUT != 0 || failed != 0
        if readable {
            switch interests[Int(fd)].reading {
            case .none:
                break
            case .poll(let tag):
                interests[Int(fd)].reading = .none
                post(tag, Int32(bitPattern: events & (CLiburing_EPOLLIN | failed)))
            case .accept(let tag):
                acceptReady(fd, tag)
            case .read(let tag, let buffer, let count):
                let result = read(fd, buffer, count)
                if result >= 0 || errno != EAGAIN {
                    interests[Int(fd)].reading = .none
                    post(tag, result >= 0 ? Int32(result) : -errno)
                }
            }
        }
        if writable {
            switch interests[Int(fd)].writing {
            case .none:
                break
            case .poll(let tag):
                interests[Int(fd)].writing = .none
                post(tag, Int32(bitPattern: events & (CLiburing_EPOLLOUT | failed)))
            case .connect(let tag):
                interests[Int(fd)].writing = .none
                let error = CLiburing_socket_error(fd)
                post(tag, error == 0 ? 0 : error < 0 ? error : -error)
            }
        }
        if interests[Int(fd)].waits { arm(fd) }
    }

    /// A listener is readable: accepts what is queued, up to a bound, each as a completion flagged MORE; a
    /// failure ends the multishot accept as io_uring's does.
    private func acceptReady(_ fd: Int32, _ tag: UInt64) {
        for _ in 0..<EpollEvents.acceptsPerWake {
            let accepted = CLiburing_accept_nonblock(fd)
            if accepted >= 0 {
                post(tag, accepted, flags: CLiburing_IORING_CQE_F_MORE)
                continue
            }
            let code = -accepted
            if code == EAGAIN || code == EWOULDBLOCK { return }
            if code == ECONNABORTED || code == EINTR { continue }
            interests[Int(fd)].reading = .none
            post(tag, -code)
            return
        }
    }

    private func fireTimers() {
        guard !timers.isEmpty else { return }
        let now = EpollEvents.now()
        var index = 0
        while index < timers.count {
            if timers[index].deadline <= now {
                post(timers[index].userData, -ETIME)
                timers.remove(at: index)
            } else {
                index += 1
            }
        }
    }

    private static func now() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}

internal import CLiburing

#if canImport(Glibc)
import Glibc
#endif

/// One io_uring, owned by one worker thread; `struct io_uring` stays at a fixed heap address for its life.
final class IOUring: EventSource {
    let ring: UnsafeMutablePointer<io_uring>
    private let completions: UnsafeMutablePointer<UnsafeMutablePointer<io_uring_cqe>?>
    let completionBatch: Int

    /// Sets up a ring with `entries` submission slots (the completion queue is twice as large).
    init(entries: UInt32, completionBatch: Int = 256) throws(SystemCallError) {
        ring = .allocate(capacity: 1)
        ring.initialize(to: io_uring())
        var params = io_uring_params()
        params.flags =
            UInt32(IORING_SETUP_CLAMP) | UInt32(IORING_SETUP_SUBMIT_ALL)
            | UInt32(IORING_SETUP_COOP_TASKRUN) | UInt32(IORING_SETUP_SINGLE_ISSUER)
        var result = io_uring_queue_init_params(entries, ring, &params)
        if result == -EINVAL {
            // Older kernels refuse some setup flags: retry with none.
            params = io_uring_params()
            result = io_uring_queue_init_params(entries, ring, &params)
        }
        if result < 0 {
            ring.deallocate()
            throw SystemCallError("io_uring_queue_init", errno: -result)
        }
        self.completionBatch = completionBatch
        completions = .allocate(capacity: completionBatch)
    }

    deinit {
        io_uring_queue_exit(ring)
        ring.deallocate()
        completions.deallocate()
    }

    /// Whether this kernel lets this process set up a ring at all (nil), or the error it refuses with.
    static func probe() -> SystemCallError? {
        do {
            _ = try IOUring(entries: 4, completionBatch: 1)
            return nil
        } catch {
            return error
        }
    }

    /// A submission entry, flushing the queue to the kernel first when it is full.
    private func submissionEntry() -> UnsafeMutablePointer<io_uring_sqe> {
        if let sqe = io_uring_get_sqe(ring) { return sqe }
        _ = io_uring_submit(ring)
        // After a submit the queue has room: SUBMIT_ALL consumes every entry.
        return io_uring_get_sqe(ring)!
    }

    func pollOnce(_ fd: Int32, for readiness: Readiness, userData: UInt64) {
        let sqe = submissionEntry()
        let mask = readiness == .readable ? CLiburing_poll_in_mask() : CLiburing_poll_out_mask()
        io_uring_prep_poll_add(sqe, fd, mask)
        io_uring_sqe_set_data64(sqe, userData)
    }

    func connect(_ fd: Int32, to address: UnsafePointer<SocketAddress>, userData: UInt64) {
        let sqe = submissionEntry()
        let socketAddress = UnsafeRawPointer(address).assumingMemoryBound(to: sockaddr.self)
        io_uring_prep_connect(sqe, fd, socketAddress, address.pointee.length)
        io_uring_sqe_set_data64(sqe, userData)
    }

    func acceptMultishot(_ fd: Int32, userData: UInt64) {
        let sqe = submissionEntry()
        io_uring_prep_multishot_accept(sqe, fd, nil, nil, CLiburing_accept_flags())
        io_uring_sqe_set_data64(sqe, userData)
    }

    func readOnce(_ fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int, userData: UInt64) {
        let sqe = submissionEntry()
        io_uring_prep_read(sqe, fd, buffer, UInt32(count), 0)
        io_uring_sqe_set_data64(sqe, userData)
    }

    func timeoutOnce(after interval: UnsafeMutablePointer<__kernel_timespec>, userData: UInt64) {
        let sqe = submissionEntry()
        io_uring_prep_timeout(sqe, interval, 0, 0)
        io_uring_sqe_set_data64(sqe, userData)
    }

    func cancel(_ target: UInt64, on fd: Int32, poll: Bool, userData: UInt64, quiet: Bool) {
        let sqe = submissionEntry()
        if poll {
            io_uring_prep_poll_remove(sqe, target)
        } else {
            io_uring_prep_cancel64(sqe, target, 0)
        }
        io_uring_sqe_set_data64(sqe, userData)
        if quiet { sqe.pointee.flags |= UInt8(CLiburing_IOSQE_CQE_SKIP_SUCCESS) }
    }

    /// Submits what is queued and waits for at least one completion; EINTR counts as a wake-up.
    func submitAndWait() throws(SystemCallError) {
        let result = io_uring_submit_and_wait(ring, 1)
        if result < 0 && result != -EINTR && result != -EBUSY && result != -EAGAIN {
            throw SystemCallError("io_uring_submit_and_wait", errno: -result)
        }
    }

    /// Hands each ready completion's user data, result and flags to `body`, then marks them seen.
    func drainCompletions(_ body: (UInt64, Int32, UInt32) -> Void) -> Int {
        let count = Int(io_uring_peek_batch_cqe(ring, completions, UInt32(completionBatch)))
        for index in 0..<count {
            let cqe = completions[index]!.pointee
            body(cqe.user_data, cqe.res, cqe.flags)
        }
        io_uring_cq_advance(ring, UInt32(count))
        return count
    }
}

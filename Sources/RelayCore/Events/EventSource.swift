internal import CLiburing

#if canImport(Glibc)
import Glibc
#endif

/// Where a worker's readiness and completions come from: the operations it queues, each ending in one
/// completion (user data, result, flags) with io_uring's meaning, whichever kernel interface runs it.
///
/// The connection state machine in `Worker` is the same for every source; only this seam differs
/// (docs/DATA-PATH.md, "Event sources").
protocol EventSource: AnyObject {
    /// The most completions one `drainCompletions` call hands out.
    var completionBatch: Int { get }

    /// Completes once when `fd` is ready for `readiness`: the ready mask (POLLIN, POLLRDHUP, POLLOUT,
    /// POLLERR, POLLHUP bits), or -errno; -ECANCELED when cancelled.
    func pollOnce(_ fd: Int32, for readiness: Readiness, userData: UInt64)

    /// Connects `fd` (nonblocking) to `address`, which stays put until the completion: 0 or -errno.
    func connect(_ fd: Int32, to address: UnsafePointer<SocketAddress>, userData: UInt64)

    /// Accepts on a listener until cancelled or failed: one completion per connection (the new
    /// descriptor, nonblocking and close-on-exec) with IORING_CQE_F_MORE while it stays armed; the last
    /// completion (an error, or -ECANCELED) lacks the flag.
    func acceptMultishot(_ fd: Int32, userData: UInt64)

    /// Reads up to `count` bytes from `fd` into `buffer` once: the byte count or -errno.
    func readOnce(_ fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int, userData: UInt64)

    /// Completes once after `interval` (the result is -ETIME and is not looked at).
    func timeoutOnce(after interval: UnsafeMutablePointer<__kernel_timespec>, userData: UInt64)

    /// Cancels the operation `target` on `fd` (`poll`: a `pollOnce`; otherwise a connect or an accept):
    /// the target then completes with -ECANCELED unless it already completed. The cancel's own
    /// completion carries `userData`; with `quiet`, only a failed cancel reports one.
    func cancel(_ target: UInt64, on fd: Int32, poll: Bool, userData: UInt64, quiet: Bool)

    /// Hands what is queued to the kernel and waits until at least one completion is ready (or a signal
    /// interrupts the wait).
    func submitAndWait() throws(SystemCallError)

    /// Hands up to `completionBatch` ready completions' user data, result and flags to `body`, and
    /// returns how many.
    func drainCompletions(_ body: (UInt64, Int32, UInt32) -> Void) -> Int
}

/// What a one-shot poll waits for.
enum Readiness {
    /// Bytes to read, the peer's FIN (POLLRDHUP), an error or a hang-up.
    case readable
    /// Room to write, an error or a hang-up.
    case writable
}

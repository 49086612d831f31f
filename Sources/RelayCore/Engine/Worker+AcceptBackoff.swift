internal import CLiburing
import Logging

#if canImport(Glibc)
import Glibc
#endif

extension Worker {
    /// How long accept pauses after running out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM).
    static let acceptPauseNanoseconds: UInt64 = 100_000_000
    /// At most one "accept failed" line per listener and interval; the line says how many it stands for.
    static let acceptLogIntervalNanoseconds: UInt64 = 10_000_000_000

    /// An accept completion failed. Out of descriptors or memory, the connection stays in the listen
    /// backlog and a new accept would fail at once again: accept pauses (the tick resumes it) instead of
    /// spinning, and live connections keep their descriptors. Failures are counted and logged at most
    /// once per interval.
    func acceptFailed(_ listenerIndex: Int, errno code: Int32) {
        count(RelayStatistics.Slot.acceptFailures, listener: listenerIndex)
        if code == EMFILE || code == ENFILE || code == ENOBUFS || code == ENOMEM {
            listeners[listenerIndex].acceptPausedUntil = now &+ Worker.acceptPauseNanoseconds
            if listeners[listenerIndex].acceptArmed {
                // A multishot accept that is still armed would go on failing: cancel it until the pause ends.
                cancelAccept(listenerIndex)
            }
        }
        guard let failures = listeners[listenerIndex].acceptFailureLog.admit(now: now) else { return }
        logger.warning(
            "accept failed",
            metadata: [
                "listener": "\(listeners[listenerIndex].spec.name)",
                "error": "\(SystemCallError.text(code))",
                "failures": "\(failures)",
                "next": code == EMFILE || code == ENFILE
                    ? "raise the open-file limit (LimitNOFILE, ulimit -n) or lower max_connections"
                    : "accept is retried",
            ]
        )
    }

    /// Cancels a listener's armed multishot accept; its last completion then arrives with ECANCELED.
    func cancelAccept(_ listenerIndex: Int) {
        events.cancel(
            OperationTag(kind: .accept, slot: UInt32(listenerIndex)).raw,
            on: listeners[listenerIndex].fd,
            poll: false,
            userData: OperationTag(kind: .cancel, slot: 0).raw,
            quiet: false
        )
    }

    /// From the tick: re-arms the accepts whose pause is over.
    func resumePausedAccepts() {
        for listenerIndex in listeners.indices where listeners[listenerIndex].acceptPausedUntil != 0 {
            guard now >= listeners[listenerIndex].acceptPausedUntil else { continue }
            listeners[listenerIndex].acceptPausedUntil = 0
            if !stopping { armAccept(listenerIndex) }
        }
    }
}

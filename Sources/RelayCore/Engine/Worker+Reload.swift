#if canImport(Glibc)
import Glibc
#endif

extension Worker {
    /// Applies this worker's share of a reload: retired entries stop accepting (and close their socket
    /// unless an addition took it over), additions join the table and accept. Retire first: an addition
    /// that took over a socket then arms its accept after the old entry's was cancelled. New connections
    /// match the reloaded policies, if they changed.
    func applyReload(_ reload: WorkerReload) {
        if let order = reload.policyOrder { policyOrder = order }
        for (listenerIndex, handOver) in reload.retirements where listeners.indices.contains(listenerIndex) {
            guard listeners[listenerIndex].open else { continue }
            listeners[listenerIndex].open = false
            listeners[listenerIndex].socketHandedOver = handOver
            listeners[listenerIndex].acceptPausedUntil = 0
            if listeners[listenerIndex].acceptArmed { cancelAccept(listenerIndex) }
            if !handOver { close(listeners[listenerIndex].fd) }
        }
        for addition in reload.additions {
            listeners.append(
                WorkerListener(spec: addition.spec, fd: addition.fd, statisticsIndex: addition.statisticsIndex)
            )
            if stopping {
                close(addition.fd)
                listeners[listeners.count - 1].open = false
            } else {
                armAccept(listeners.count - 1)
            }
        }
    }
}

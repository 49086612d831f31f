import ConvertProtocol
import Logging
import PathManager

#if canImport(Glibc)
import Glibc
#endif

/// A connection opened while its first path goes down starts on the next path that is up.
extension Worker {
    /// Whether a failed connect says that the path it left on is gone (its route, address or link), rather
    /// than that the converter refused or did not answer.
    static func isPathFailure(_ code: Int32) -> Bool {
        switch code {
        case ENETUNREACH, EHOSTUNREACH, ENETDOWN, EHOSTDOWN, EADDRNOTAVAIL: true
        default: false
        }
    }

    /// After an MPTCP connect failed because its path went away, dials again from the policy's next up path
    /// that this connection has not tried, with a new socket; the connect deadline still counts from the
    /// first attempt. Returns false (and does nothing) when the failure is not a path's, paths are not
    /// managed, or no untried path is up: the caller then fails the connection as before.
    func redialOnAnotherPath(_ slotIndex: Int, after code: Int32) -> Bool {
        guard Worker.isPathFailure(code), let board = pathBoard, let policy = slots[slotIndex].policy,
            let upstream = listeners[slots[slotIndex].listener].spec.role.upstream,
            let address = listeners[slots[slotIndex].listener].upstreamAddress,
            board.initialPath(
                policy: Int(policy),
                upstream: upstream.address,
                excluding: slots[slotIndex].triedPaths
            ) != nil
        else { return false }
        if let key = slots[slotIndex].pathKey {
            board.unregister(key)
            slots[slotIndex].pathKey = nil
        }
        close(slots[slotIndex].upstream)
        slots[slotIndex].upstream = -1
        count(RelayStatistics.Slot.redials, listener: slots[slotIndex].listener)
        logger.debug(
            "connect failed on its path; trying the next path that is up",
            metadata: [
                "listener": "\(listeners[slots[slotIndex].listener].spec.name)",
                "error": "\(String(cString: strerror(code)))",
            ]
        )
        dial(slotIndex, to: address, mptcp: true, mark: listeners[slots[slotIndex].listener].spec.upstreamMark)
        return true
    }
}

import ConvertProtocol
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// RFC 8803's retry delay, both sides: a converter that refuses for lack of resources (Resource Exceeded) or
/// a network failure says how long to wait, and a forwarder told so waits before it asks that converter for
/// another connection (docs/PROTOCOL.md, "Retry delay").
extension Worker {
    /// The delay this converter suggests, in seconds, in the Value of Resource Exceeded and Network Failure:
    /// its limits are per second (a client's new connections) or free up as connections end.
    static let suggestedRetryDelaySeconds: UInt8 = 1

    /// The Error TLV Value a converter sends with `answer` when it has no other: the retry delay for
    /// Resource Exceeded and Network Failure, nothing for the rest.
    static func defaultValue(for answer: ConvertErrorCode) -> [UInt8] {
        answer == .resourceExceeded || answer == .networkFailure ? [suggestedRetryDelaySeconds] : []
    }

    /// Forward side: the converter's answer suggests waiting; every worker of this listener refuses new LAN
    /// connections locally until then.
    func holdOffConverter(_ slotIndex: Int, _ response: ConvertResponse) {
        guard let seconds = response.retryDelaySeconds else { return }
        let listener = listeners[slots[slotIndex].listener]
        let before = statistics.converterHoldOff.hold(
            listener.statisticsIndex,
            until: now &+ UInt64(seconds) * 1_000_000_000
        )
        // Once per hold-off: the other answers of a burst only extend it.
        guard before <= now else { return }
        logger.warning(
            "converter asked to wait: new connections on this listener are refused until the delay has passed",
            metadata: [
                "listener": "\(listener.spec.name)", "answer": "\(response.error.map { "\($0)" } ?? "?")",
                "retry_after": "\(seconds)s",
            ]
        )
    }

    /// Forward and transparent: whether the listener's converter asked to be left alone for now; if so the
    /// accepted LAN connection is reset at once (counted as `converter_backoff`, one warning per interval).
    func refusedDuringHoldOff(fd: Int32, listenerIndex: Int) -> Bool {
        guard statistics.converterHoldOff.isHolding(listeners[listenerIndex].statisticsIndex, at: now) else {
            return false
        }
        count(RelayStatistics.Slot.closed(ConnectionResult.converterBackoff.labelIndex), listener: listenerIndex)
        SocketCalls.setLingerZero(fd)
        close(fd)
        if let refused = listeners[listenerIndex].holdOffLog.admit(now: now) {
            logger.warning(
                "connections refused: the converter's retry delay has not passed",
                metadata: ["listener": "\(listeners[listenerIndex].spec.name)", "refused": "\(refused)"]
            )
        }
        return true
    }
}

import Logging

extension Worker {
    /// At most one fallback warning per worker and minute; the line says how many fallbacks it stands for.
    static let fallbackLogIntervalNanoseconds: UInt64 = 60_000_000_000

    /// Forward and transparent: the upstream MPTCP connection fell back to plain TCP, so it runs on one
    /// path. Counted per listener; logged at most once a minute, because after MP_CAPABLE SYNs were lost
    /// the kernel disables active MPTCP for the namespace (`net.mptcp.blackhole_timeout`) and then every
    /// connection falls back: the line must say so, not repeat it thousands of times.
    func upstreamFellBack(_ slotIndex: Int) {
        count(RelayStatistics.Slot.fallbacks, listener: slots[slotIndex].listener)
        guard let fallbacks = upstreamFallbackLog.admit(now: now) else { return }
        logger.warning(
            "upstream MPTCP fell back to plain TCP: one path only",
            metadata: [
                "listener": "\(listeners[slots[slotIndex].listener].spec.name)",
                "fallbacks": "\(fallbacks)",
                "next":
                    "if every connection falls back, MP_CAPABLE is blocked on the way or the kernel disabled active MPTCP after a blackhole (nstat MPTcpExtBlackhole, sysctl net.mptcp.blackhole_timeout; docs/RELIABILITY.md)",
            ]
        )
    }
}

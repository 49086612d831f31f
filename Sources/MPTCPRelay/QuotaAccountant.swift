import Foundation
import PathManager

/// Counts the bytes of every path that has a quota (`[[path]] quota`) against it, period by period, from
/// samples of the engine's per-path byte totals (sent and received, closed connections' subflows plus live
/// ones), and says when a path used its allowance up or got a new one. Pure bookkeeping: the caller samples,
/// applies the results to the path board, logs and saves (`RelayService+Quotas`).
struct QuotaAccountant {
    /// What changed with a sample.
    enum Event: Equatable {
        /// Path `path` began a new period at `start`: its count is 0 again.
        case periodStarted(path: Int, start: Date)
        /// Path `path` reached its quota with `used` bytes.
        case usedUp(path: Int, used: UInt64)
    }

    /// The configured paths (indices as on the board).
    let paths: [PathDefinition]
    /// The counts, by path name, as saved.
    private(set) var ledger: QuotaLedger
    /// By path index: the byte total of the last sample (totals only grow, except when a subflow closed in
    /// mid-connection takes its figures with it: then counting goes on from the lower figure).
    private var lastTotals: [UInt64]
    /// By path index: whether the path is over its quota.
    private(set) var exhausted: [Bool]
    /// Whether the ledger changed since ``markSaved()``.
    private(set) var dirty = false

    /// An accountant for `paths`, continuing `ledger` (counts of paths no longer capped are dropped).
    init(paths: [PathDefinition], ledger: QuotaLedger) {
        self.paths = paths
        var kept = QuotaLedger()
        for path in paths where path.quota != nil {
            if let entry = ledger.paths[path.name] { kept.paths[path.name] = entry }
        }
        self.ledger = kept
        dirty = kept != ledger
        lastTotals = Array(repeating: 0, count: paths.count)
        exhausted = Array(repeating: false, count: paths.count)
    }

    /// The bytes path `index` carried in its current period (0 without a quota).
    func used(_ index: Int) -> UInt64 {
        ledger.paths[paths[index].name]?.usedBytes ?? 0
    }

    /// Takes a sample: `totals[index]` is path `index`'s byte total (sent + received) now; the first sample
    /// after start is the engine's own count from zero. Returns what changed.
    mutating func record(totals: [UInt64], at now: Date, calendar: Calendar = .current) -> [Event] {
        var events: [Event] = []
        for (index, path) in paths.enumerated() {
            guard let quota = path.quota else { continue }
            let total = index < totals.count ? totals[index] : 0
            let delta = total > lastTotals[index] ? total - lastTotals[index] : 0
            lastTotals[index] = total
            let start = Int64(quota.periodStart(containing: now, calendar: calendar).timeIntervalSince1970)
            var entry = ledger.paths[path.name] ?? QuotaLedger.Entry(periodStart: start, usedBytes: 0)
            // Only forward: a clock set back (a router without a real-time clock booting in the past) or a
            // time zone change must not hand out a fresh allowance.
            if start > entry.periodStart {
                entry = QuotaLedger.Entry(periodStart: start, usedBytes: 0)
                events.append(.periodStarted(path: index, start: Date(timeIntervalSince1970: TimeInterval(start))))
                exhausted[index] = false
                dirty = true
            }
            if delta > 0 {
                entry.usedBytes &+= delta
                dirty = true
            }
            if ledger.paths[path.name] == nil { dirty = true }
            ledger.paths[path.name] = entry
            let over = entry.usedBytes >= quota.bytes
            if over && !exhausted[index] { events.append(.usedUp(path: index, used: entry.usedBytes)) }
            exhausted[index] = over
        }
        return events
    }

    /// Notes that the ledger as it is now has been saved.
    mutating func markSaved() {
        dirty = false
    }
}

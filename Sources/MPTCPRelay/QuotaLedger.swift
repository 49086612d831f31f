import Foundation
import PathManager

#if canImport(Glibc)
import Glibc
#endif

/// The bytes each capped path has carried in its current quota period, kept in a small JSON file in the
/// state directory so that a restart (or a crash) does not give a metered link a fresh allowance.
///
/// The file is replaced atomically (written beside it, flushed to disk, renamed over it, directory flushed):
/// after a crash it holds the last save, never half of one. A file that cannot be read is logged and
/// started afresh; a path that is no longer configured is dropped at the next save.
struct QuotaLedger: Codable, Equatable {
    /// One path's count.
    struct Entry: Codable, Equatable {
        /// When the current period began (seconds since 1970, local midnight of its first day).
        var periodStart: Int64
        /// Bytes sent and received on the path's subflows since then.
        var usedBytes: UInt64

        enum CodingKeys: String, CodingKey {
            case periodStart = "period_start"
            case usedBytes = "used_bytes"
        }
    }

    /// The file's format.
    var version = 1
    /// By path name.
    var paths: [String: Entry] = [:]

    /// The file name in the state directory.
    static let fileName = "path-quotas.json"

    /// Reads the ledger at `path`: empty when there is none; throws when it cannot be read or parsed.
    static func load(from path: String) throws -> QuotaLedger {
        guard FileManager.default.fileExists(atPath: path) else { return QuotaLedger() }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let ledger = try JSONDecoder().decode(QuotaLedger.self, from: data)
        guard ledger.version == 1 else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "unknown version"])
        }
        return ledger
    }

    /// Writes the ledger to `path` atomically, creating its directory when missing; returns errno on failure.
    func save(to path: String) -> Int32? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        guard let data = try? encoder.encode(self) else { return EINVAL }
        let directory = (path as NSString).deletingLastPathComponent
        if mkdir(directory, 0o750) != 0 && errno != EEXIST { return errno }
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard fd >= 0 else { return errno }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == data.count, synced else {
            unlink(temporary)
            return written < 0 ? errno : EIO
        }
        guard rename(temporary, path) == 0 else { return errno }
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            fsync(directoryFD)
            close(directoryFD)
        }
        return nil
    }
}

extension PathQuota {
    /// The start of the period that contains `date`: local midnight of today (`day`), of the last reset
    /// weekday (`week`, 1 = Monday), or of the last reset day of a month (`month`), at or before `date`.
    func periodStart(containing date: Date, calendar: Calendar = .current) -> Date {
        let today = calendar.startOfDay(for: date)
        switch period {
        case .day:
            return today
        case .week:
            // Calendar weekdays run 1 = Sunday … 7 = Saturday; ours 1 = Monday … 7 = Sunday.
            let target = resetDay % 7 + 1
            let back = (calendar.component(.weekday, from: today) - target + 7) % 7
            return calendar.date(byAdding: .day, value: -back, to: today) ?? today
        case .month:
            var parts = calendar.dateComponents([.year, .month], from: today)
            parts.day = resetDay
            let candidate = calendar.date(from: parts) ?? today
            if candidate <= date { return candidate }
            return calendar.date(byAdding: .month, value: -1, to: candidate) ?? candidate
        }
    }

    /// The start of the period after the one that contains `date`.
    func nextPeriodStart(after date: Date, calendar: Calendar = .current) -> Date {
        let start = periodStart(containing: date, calendar: calendar)
        let component: Calendar.Component =
            switch period {
            case .day: .day
            case .week: .weekOfYear
            case .month: .month
            }
        return calendar.date(byAdding: component, value: 1, to: start) ?? start
    }
}

import Foundation
import PathManager
import Testing

@testable import MPTCPRelay

@Suite("Path quotas: counting, periods and the saved counts")
struct QuotaAccountantTests {
    /// A calendar in UTC, so that the periods do not depend on where the tests run.
    static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    static func date(_ text: String) -> Date {
        let formatter = ISO8601DateFormatter()
        return formatter.date(from: text)!
    }

    let paths = [
        PathDefinition(name: "cable", interface: "eth1"),
        PathDefinition(name: "lte", interface: "wwan0", pathClass: .backup, quota: PathQuota(bytes: 1000)),
    ]

    @Test("periods start at midnight of the day, of the reset weekday, of the reset day of the month")
    func periodStarts() {
        let now = Self.date("2026-12-05T16:30:00Z")  // a Saturday
        let day = PathQuota(bytes: 1, period: .day)
        #expect(day.periodStart(containing: now, calendar: Self.utc) == Self.date("2026-12-05T00:00:00Z"))
        #expect(day.nextPeriodStart(after: now, calendar: Self.utc) == Self.date("2026-12-06T00:00:00Z"))
        let monday = PathQuota(bytes: 1, period: .week, resetDay: 1)
        #expect(monday.periodStart(containing: now, calendar: Self.utc) == Self.date("2026-11-30T00:00:00Z"))
        let saturday = PathQuota(bytes: 1, period: .week, resetDay: 6)
        #expect(saturday.periodStart(containing: now, calendar: Self.utc) == Self.date("2026-12-05T00:00:00Z"))
        let sunday = PathQuota(bytes: 1, period: .week, resetDay: 7)
        #expect(sunday.periodStart(containing: now, calendar: Self.utc) == Self.date("2026-11-29T00:00:00Z"))
        let first = PathQuota(bytes: 1, period: .month, resetDay: 1)
        #expect(first.periodStart(containing: now, calendar: Self.utc) == Self.date("2026-12-01T00:00:00Z"))
        #expect(first.nextPeriodStart(after: now, calendar: Self.utc) == Self.date("2027-01-01T00:00:00Z"))
        let twentieth = PathQuota(bytes: 1, period: .month, resetDay: 20)
        #expect(twentieth.periodStart(containing: now, calendar: Self.utc) == Self.date("2026-11-20T00:00:00Z"))
        let january = Self.date("2027-01-10T08:00:00Z")
        #expect(twentieth.periodStart(containing: january, calendar: Self.utc) == Self.date("2026-12-20T00:00:00Z"))
    }

    @Test("bytes count from the engine's totals; the quota is used up at its size, once")
    func counting() {
        var accountant = QuotaAccountant(paths: paths, ledger: QuotaLedger())
        let now = Self.date("2026-12-05T16:30:00Z")
        #expect(accountant.record(totals: [5000, 400], at: now, calendar: Self.utc).isEmpty)
        #expect(accountant.used(1) == 400 && accountant.used(0) == 0, "only capped paths are counted")
        #expect(accountant.exhausted == [false, false])
        // A subflow closed in mid-connection takes its figures with it: counting goes on from there.
        #expect(accountant.record(totals: [5000, 300], at: now, calendar: Self.utc).isEmpty)
        #expect(accountant.used(1) == 400)
        #expect(accountant.record(totals: [5000, 1000], at: now, calendar: Self.utc) == [.usedUp(path: 1, used: 1100)])
        #expect(accountant.exhausted == [false, true])
        #expect(accountant.record(totals: [5000, 1200], at: now, calendar: Self.utc).isEmpty, "said once")
        #expect(accountant.used(1) == 1300)
    }

    @Test("a new period starts the count from zero and gives the path back")
    func newPeriod() {
        var ledger = QuotaLedger()
        let november = Int64(Self.date("2026-11-01T00:00:00Z").timeIntervalSince1970)
        ledger.paths["lte"] = QuotaLedger.Entry(periodStart: november, usedBytes: 5000)
        var accountant = QuotaAccountant(paths: paths, ledger: ledger)
        let inNovember = Self.date("2026-11-30T23:59:00Z")
        #expect(accountant.record(totals: [], at: inNovember, calendar: Self.utc) == [.usedUp(path: 1, used: 5000)])
        #expect(accountant.exhausted[1], "a restart keeps a used-up path used up")
        let december = Self.date("2026-12-01T00:00:00Z")
        #expect(
            accountant.record(totals: [0, 10], at: december.addingTimeInterval(5), calendar: Self.utc) == [
                .periodStarted(path: 1, start: december)
            ]
        )
        #expect(accountant.used(1) == 10 && !accountant.exhausted[1])
        // A clock set back (a router without a real-time clock) keeps the count: periods only go forward.
        #expect(accountant.record(totals: [0, 20], at: inNovember, calendar: Self.utc).isEmpty)
        #expect(accountant.used(1) == 20)
    }

    @Test("the counts survive a restart: saved atomically, read back, paths no longer capped dropped")
    func savedCounts() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("quota-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent(QuotaLedger.fileName).path
        #expect(try QuotaLedger.load(from: file) == QuotaLedger(), "no file: nothing counted yet")

        var accountant = QuotaAccountant(paths: paths, ledger: QuotaLedger())
        _ = accountant.record(totals: [0, 700], at: Date())
        #expect(accountant.dirty)
        #expect(accountant.ledger.save(to: file) == nil, "the directory is created")
        accountant.markSaved()
        let loaded = try QuotaLedger.load(from: file)
        #expect(loaded.paths["lte"]?.usedBytes == 700)
        #expect(!FileManager.default.fileExists(atPath: file + ".tmp"))

        var restarted = QuotaAccountant(paths: paths, ledger: loaded)
        #expect(!restarted.dirty)
        _ = restarted.record(totals: [0, 400], at: Date())
        #expect(restarted.used(1) == 1100 && restarted.exhausted[1])

        var stale = loaded
        stale.paths["gone"] = QuotaLedger.Entry(periodStart: 0, usedBytes: 1)
        let pruned = QuotaAccountant(paths: paths, ledger: stale)
        #expect(pruned.ledger.paths.keys.sorted() == ["lte"] && pruned.dirty)

        try Data("{ not json".utf8).write(to: URL(fileURLWithPath: file))
        #expect(throws: (any Error).self) { try QuotaLedger.load(from: file) }
    }
}

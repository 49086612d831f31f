/// Lets a repeated warning through at most once per interval and counts what it held back, so that a
/// flood of one failure becomes one line a while that says how many it stands for.
struct LogThrottle {
    let intervalNanoseconds: UInt64
    private var held = 0
    private var loggedAt: UInt64 = 0

    init(intervalNanoseconds: UInt64) {
        self.intervalNanoseconds = intervalNanoseconds
    }

    /// Records one occurrence at `now`; returns how many occurrences the line to log now stands for, or
    /// nil while the interval since the last line has not passed.
    mutating func admit(now: UInt64) -> Int? {
        held += 1
        if loggedAt != 0 && now &- loggedAt < intervalNanoseconds { return nil }
        defer {
            held = 0
            loggedAt = now
        }
        return held
    }
}

/// A cap on what a path may carry per period (`[[path]] quota`): once `bytes` have been sent and received on
/// its subflows since the period began, the path is used only when no other path its policy allows is up.
public struct PathQuota: Sendable, Hashable {
    /// The bytes the path may carry per period, both directions together.
    public var bytes: UInt64
    /// When the count starts again.
    public var period: QuotaPeriod
    /// The day the period starts on: of the month (1 to 28) for `month`, of the week (1 = Monday to
    /// 7 = Sunday) for `week`; unused for `day`.
    public var resetDay: Int

    /// A quota of `bytes` per `period`, starting on `resetDay`.
    public init(bytes: UInt64, period: QuotaPeriod = .month, resetDay: Int = 1) {
        self.bytes = bytes
        self.period = period
        self.resetDay = resetDay
    }
}

/// How often a ``PathQuota`` starts again, at local midnight.
public enum QuotaPeriod: String, Sendable, Hashable, CaseIterable {
    /// Every day.
    case day
    /// Every week, on the quota's reset day (1 = Monday).
    case week
    /// Every month, on the quota's reset day (1 to 28).
    case month
}

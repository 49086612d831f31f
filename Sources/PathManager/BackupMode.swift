/// How a policy keeps its backup paths while a primary is up.
public enum BackupMode: String, Sendable, Hashable, CaseIterable {
    /// The backup subflow is open but flagged backup (MP_PRIO): no data until it is promoted.
    case standby
    /// No backup subflow until no primary is left; it is opened then, and closed when a primary returns.
    case onDemand = "on-demand"
}

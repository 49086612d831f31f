/// The `mptcp_pm_events` multicast events (`enum mptcp_event_type`, include/uapi/linux/mptcp_pm.h); the
/// raw value is the generic netlink command of the event message.
public enum MPTCPEventKind: UInt8, Sendable, CaseIterable {
    /// `MPTCP_EVENT_CREATED`: a connection exists (client: SYN sent; server: accepted).
    case created = 1
    /// `MPTCP_EVENT_ESTABLISHED`: the connection is fully established; new subflows may be opened.
    case established = 2
    /// `MPTCP_EVENT_CLOSED`: the connection is gone (token only).
    case closed = 3
    /// `MPTCP_EVENT_ANNOUNCED`: the peer announced an address (ADD_ADDR): remote id, address, maybe port.
    case announced = 6
    /// `MPTCP_EVENT_REMOVED`: the peer withdrew an address (REMOVE_ADDR): remote id.
    case removed = 7
    /// `MPTCP_EVENT_SUB_ESTABLISHED`: a subflow joined.
    case subflowEstablished = 10
    /// `MPTCP_EVENT_SUB_CLOSED`: a subflow closed; `error` may carry its `sk_err`.
    case subflowClosed = 11
    /// `MPTCP_EVENT_SUB_PRIORITY`: a subflow's backup flag changed (MP_PRIO).
    case subflowPriority = 13
    /// `MPTCP_EVENT_LISTENER_CREATED`: a path manager listener was created (family, local address, port).
    case listenerCreated = 15
    /// `MPTCP_EVENT_LISTENER_CLOSED`: a path manager listener was closed.
    case listenerClosed = 16
}

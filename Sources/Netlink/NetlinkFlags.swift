/// The `NLM_F_*` header flags, as `UInt16` values to combine with `|`.
public enum NetlinkFlags {
    /// `NLM_F_REQUEST`: a request to the kernel.
    public static let request: UInt16 = 0x01
    /// `NLM_F_MULTI`: part of a multipart reply, ended by `NLMSG_DONE`.
    public static let multi: UInt16 = 0x02
    /// `NLM_F_ACK`: ask for an `NLMSG_ERROR` with error 0 on success.
    public static let ack: UInt16 = 0x04
    /// `NLM_F_ECHO`: echo the request.
    public static let echo: UInt16 = 0x08
    /// `NLM_F_DUMP_INTR`: the dump changed while it was produced; start over.
    public static let dumpInterrupted: UInt16 = 0x10
    /// `NLM_F_DUMP` (`NLM_F_ROOT | NLM_F_MATCH`): return every object.
    public static let dump: UInt16 = 0x300
    /// `NLM_F_CAPPED` on `NLMSG_ERROR`: the echoed request is only its header.
    public static let capped: UInt16 = 0x100
    /// `NLM_F_ACK_TLVS` on `NLMSG_ERROR`: extended ack attributes follow the echoed request.
    public static let acknowledgementAttributes: UInt16 = 0x200
    /// `NLM_F_REPLACE`, `NLM_F_EXCL`, `NLM_F_CREATE`, `NLM_F_APPEND` for new-object requests.
    public static let replace: UInt16 = 0x100
    public static let exclusive: UInt16 = 0x200
    public static let create: UInt16 = 0x400
    public static let append: UInt16 = 0x800
}

/// The control message types every netlink protocol shares (`NLMSG_*`).
public enum NetlinkMessageType {
    /// `NLMSG_NOOP`: ignore.
    public static let noop: UInt16 = 1
    /// `NLMSG_ERROR`: an ack (error 0) or an error reply.
    public static let error: UInt16 = 2
    /// `NLMSG_DONE`: the end of a multipart reply.
    public static let done: UInt16 = 3
    /// `NLMSG_OVERRUN`: data lost.
    public static let overrun: UInt16 = 4
}

/// The `mptcp_pm` generic netlink commands (`MPTCP_PM_CMD_*`, include/uapi/linux/mptcp_pm.h).
public enum MPTCPPathManagerCommand: UInt8, Sendable, CaseIterable {
    case addAddress = 1
    case deleteAddress = 2
    case getAddress = 3
    case flushAddresses = 4
    case setLimits = 5
    case getLimits = 6
    case setFlags = 7
    case announce = 8
    case remove = 9
    case subflowCreate = 10
    case subflowDestroy = 11

    /// The kernel's name for the command, for error messages: `mptcp_pm SUBFLOW_CREATE`.
    public var operationName: String {
        let names: [MPTCPPathManagerCommand: String] = [
            .addAddress: "ADD_ADDR", .deleteAddress: "DEL_ADDR", .getAddress: "GET_ADDR",
            .flushAddresses: "FLUSH_ADDRS", .setLimits: "SET_LIMITS", .getLimits: "GET_LIMITS",
            .setFlags: "SET_FLAGS", .announce: "ANNOUNCE", .remove: "REMOVE",
            .subflowCreate: "SUBFLOW_CREATE", .subflowDestroy: "SUBFLOW_DESTROY",
        ]
        return "mptcp_pm " + (names[self] ?? "\(rawValue)")
    }
}

/// `MPTCP_PM_ATTR_*`: the top-level attributes of `mptcp_pm` commands.
enum MPTCPPathManagerAttribute {
    static let address: UInt16 = 1
    static let receiveAddAddresses: UInt16 = 2
    static let subflows: UInt16 = 3
    static let token: UInt16 = 4
    static let localID: UInt16 = 5
    static let remoteAddress: UInt16 = 6
}

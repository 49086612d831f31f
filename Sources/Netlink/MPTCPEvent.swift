public import ConvertProtocol

/// One `mptcp_pm_events` multicast message, decoded.
///
/// "Local" and "remote" are from this host's side of the subflow (`MPTCP_ATTR_SADDR*`/`SPORT` are the
/// local socket's). Ports are host order here; the kernel sends `MPTCP_ATTR_SPORT`/`DPORT` as network-order
/// (`be16`) attributes.
public struct MPTCPEvent: Sendable, Equatable {
    /// What happened.
    public var kind: MPTCPEventKind
    /// The connection token (`MPTCP_ATTR_TOKEN`); 0 for listener events, which carry none.
    public var token: UInt32
    /// The local address (`MPTCP_ATTR_SADDR4`/`SADDR6`).
    public var localAddress: IPAddress?
    /// The remote address (`MPTCP_ATTR_DADDR4`/`DADDR6`).
    public var remoteAddress: IPAddress?
    /// The local port (`MPTCP_ATTR_SPORT`).
    public var localPort: UInt16?
    /// The remote port (`MPTCP_ATTR_DPORT`).
    public var remotePort: UInt16?
    /// The local address id (`MPTCP_ATTR_LOC_ID`).
    public var localID: UInt8?
    /// The remote address id (`MPTCP_ATTR_REM_ID`).
    public var remoteID: UInt8?
    /// Whether the subflow is backup (`MPTCP_ATTR_BACKUP`).
    public var backup: Bool?
    /// The subflow's socket error (`MPTCP_ATTR_ERROR`, a copy of `sk_err`).
    public var error: Int32?
    /// The subflow's interface (`MPTCP_ATTR_IF_IDX`).
    public var interfaceIndex: Int32?
    /// Whether this host accepted the connection: `MPTCP_ATTR_SERVER_SIDE`, or the
    /// `MPTCP_PM_EV_FLAG_SERVER_SIDE` bit of `MPTCP_ATTR_FLAGS` (newer kernels send both, only when true);
    /// false for CREATED/ESTABLISHED without either, nil for other kinds.
    public var serverSide: Bool?
    /// The raw `MPTCP_ATTR_FLAGS` (`MPTCP_PM_EV_FLAG_DENY_JOIN_ID0` = 1, `..._SERVER_SIDE` = 2).
    public var flags: UInt16?
    /// The `MPTCP_ATTR_TIMEOUT` of ANNOUNCED events, if any.
    public var timeout: UInt32?

    /// Creates an event; every field but the kind defaults to absent.
    public init(
        kind: MPTCPEventKind,
        token: UInt32 = 0,
        localAddress: IPAddress? = nil,
        remoteAddress: IPAddress? = nil,
        localPort: UInt16? = nil,
        remotePort: UInt16? = nil,
        localID: UInt8? = nil,
        remoteID: UInt8? = nil,
        backup: Bool? = nil,
        error: Int32? = nil,
        interfaceIndex: Int32? = nil,
        serverSide: Bool? = nil,
        flags: UInt16? = nil,
        timeout: UInt32? = nil
    ) {
        self.kind = kind
        self.token = token
        self.localAddress = localAddress
        self.remoteAddress = remoteAddress
        self.localPort = localPort
        self.remotePort = remotePort
        self.localID = localID
        self.remoteID = remoteID
        self.backup = backup
        self.error = error
        self.interfaceIndex = interfaceIndex
        self.serverSide = serverSide
        self.flags = flags
        self.timeout = timeout
    }

    /// `MPTCP_ATTR_*` (`enum mptcp_event_attr`).
    enum Attribute {
        static let token: UInt16 = 1
        static let family: UInt16 = 2
        static let localID: UInt16 = 3
        static let remoteID: UInt16 = 4
        static let sourceAddress4: UInt16 = 5
        static let sourceAddress6: UInt16 = 6
        static let destinationAddress4: UInt16 = 7
        static let destinationAddress6: UInt16 = 8
        static let sourcePort: UInt16 = 9
        static let destinationPort: UInt16 = 10
        static let backup: UInt16 = 11
        static let error: UInt16 = 12
        static let flags: UInt16 = 13
        static let timeout: UInt16 = 14
        static let interfaceIndex: UInt16 = 15
        static let resetReason: UInt16 = 16
        static let resetFlags: UInt16 = 17
        static let serverSide: UInt16 = 18
    }

    /// `MPTCP_PM_EV_FLAG_SERVER_SIDE`.
    static let serverSideFlag: UInt16 = 1 << 1

    /// Decodes an event message; nil for messages of other families and for unknown event commands.
    public static func decode(
        _ message: NetlinkMessage,
        familyID: UInt16
    ) throws(NetlinkDecodingError)
        -> MPTCPEvent?
    {
        guard message.type == familyID, let command = message.genericCommand,
            let kind = MPTCPEventKind(rawValue: command)
        else { return nil }
        let attributes = try message.attributes(afterHeader: 4)
        var event = MPTCPEvent(kind: kind)
        for attribute in attributes {
            switch attribute.type {
            case Attribute.token: event.token = try value(attribute.u32, attribute, "TOKEN")
            case Attribute.localID: event.localID = try value(attribute.u8, attribute, "LOC_ID")
            case Attribute.remoteID: event.remoteID = try value(attribute.u8, attribute, "REM_ID")
            case Attribute.sourceAddress4, Attribute.sourceAddress6:
                event.localAddress = try value(IPAddress(networkBytes: attribute.payload), attribute, "SADDR")
            case Attribute.destinationAddress4, Attribute.destinationAddress6:
                event.remoteAddress = try value(IPAddress(networkBytes: attribute.payload), attribute, "DADDR")
            case Attribute.sourcePort: event.localPort = try value(attribute.bigEndianU16, attribute, "SPORT")
            case Attribute.destinationPort:
                event.remotePort = try value(attribute.bigEndianU16, attribute, "DPORT")
            case Attribute.backup: event.backup = try value(attribute.u8, attribute, "BACKUP") != 0
            case Attribute.error:
                event.error = try value(attribute.u8.map(Int32.init) ?? attribute.int32, attribute, "ERROR")
            case Attribute.interfaceIndex: event.interfaceIndex = try value(attribute.int32, attribute, "IF_IDX")
            case Attribute.serverSide: event.serverSide = try value(attribute.u8, attribute, "SERVER_SIDE") != 0
            case Attribute.flags: event.flags = try value(attribute.u16, attribute, "FLAGS")
            case Attribute.timeout: event.timeout = try value(attribute.u32, attribute, "TIMEOUT")
            default: continue
            }
        }
        if event.serverSide == nil, kind == .created || kind == .established {
            // Linux 6.18 sends SERVER_SIDE and the FLAGS bit only on the accepting side, and FLAGS only if non-zero.
            event.serverSide = (event.flags ?? 0) & serverSideFlag != 0
        }
        return event
    }

    private static func value<T>(
        _ value: T?,
        _ attribute: NetlinkAttribute,
        _ name: String
    )
        throws(NetlinkDecodingError) -> T
    {
        guard let value else {
            throw NetlinkDecodingError(
                .invalidAttributeValue,
                "MPTCP_ATTR_\(name) with \(attribute.payload.count) payload bytes"
            )
        }
        return value
    }
}

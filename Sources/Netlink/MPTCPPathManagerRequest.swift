internal import ConvertProtocol

/// Request messages for the `mptcp_pm` generic netlink family, ready for ``NetlinkSocket/request(_:operation:timeoutMilliseconds:)``.
///
/// Every request carries `NLM_F_REQUEST | NLM_F_ACK` (dumps: `NLM_F_REQUEST | NLM_F_DUMP`) and genl version 1.
/// The token-based commands drive the userspace path manager (`net.mptcp.path_manager=userspace`, or
/// `pm_type=1` before Linux 6.15); the endpoint and limit commands configure the in-kernel one, like
/// `ip mptcp endpoint` and `ip mptcp limits`.
public enum MPTCPPathManagerRequest {
    /// The genl version `mptcp_pm` speaks (`MPTCP_PM_VER`).
    public static let version: UInt8 = 1

    /// Opens a subflow of connection `token` from `local` to `remote` (`MPTCP_PM_CMD_SUBFLOW_CREATE`).
    ///
    /// `remote` needs a port; `local.id` may be nil (the kernel then picks or reuses an id for the address).
    public static func subflowCreate(
        familyID: UInt16,
        sequence: UInt32,
        token: UInt32,
        local: MPTCPAddress,
        remote: MPTCPAddress
    ) -> [UInt8] {
        subflowRequest(
            .subflowCreate,
            familyID: familyID,
            sequence: sequence,
            token: token,
            local: local,
            remote: remote
        )
    }

    /// Closes the subflow of `token` between `local` and `remote` (`MPTCP_PM_CMD_SUBFLOW_DESTROY`); both
    /// need their ports.
    public static func subflowDestroy(
        familyID: UInt16,
        sequence: UInt32,
        token: UInt32,
        local: MPTCPAddress,
        remote: MPTCPAddress
    ) -> [UInt8] {
        subflowRequest(
            .subflowDestroy,
            familyID: familyID,
            sequence: sequence,
            token: token,
            local: local,
            remote: remote
        )
    }

    /// Asks whether the kernel still knows connection `token`, changing nothing: a SUBFLOW_DESTROY between
    /// `0.0.0.0:0` and `0.0.0.0:0`, which no subflow has. The kernel looks the token up before anything else
    /// and answers "invalid token" (``NetlinkError/isUnknownToken``) when the connection is gone; for a known
    /// connection it answers another error (no such subflow, or a missing port) and closes nothing.
    public static func tokenProbe(familyID: UInt16, sequence: UInt32, token: UInt32) -> [UInt8] {
        let nowhere = MPTCPAddress(address: .v4(0), port: 0)
        return subflowRequest(
            .subflowDestroy,
            familyID: familyID,
            sequence: sequence,
            token: token,
            local: nowhere,
            remote: nowhere
        )
    }

    /// Marks the subflow of `token` between `local` and `remote` as backup or not (`MPTCP_PM_CMD_SET_FLAGS`,
    /// userspace path manager form: token, address, remote address); the kernel sends MP_PRIO.
    ///
    /// The flags attribute is always sent (0 clears backup); `local.flags` is replaced by the backup bit.
    public static func setFlags(
        familyID: UInt16,
        sequence: UInt32,
        token: UInt32,
        local: MPTCPAddress,
        remote: MPTCPAddress,
        backup: Bool
    ) -> [UInt8] {
        var builder = start(.setFlags, familyID: familyID, sequence: sequence)
        builder.append(MPTCPPathManagerAttribute.token, u32: token)
        var local = local
        local.flags = backup ? .backup : []
        builder.appendNested(MPTCPPathManagerAttribute.address) { local.append(to: &$0, alwaysFlags: true) }
        builder.appendNested(MPTCPPathManagerAttribute.remoteAddress) { remote.append(to: &$0) }
        return builder.bytes()
    }

    /// Announces `address` to the peer of connection `token` with ADD_ADDR (`MPTCP_PM_CMD_ANNOUNCE`).
    ///
    /// The kernel requires a non-zero `address.id` and the `signal` flag; `signal` is added here.
    public static func announce(familyID: UInt16, sequence: UInt32, token: UInt32, address: MPTCPAddress) -> [UInt8] {
        var builder = start(.announce, familyID: familyID, sequence: sequence)
        builder.append(MPTCPPathManagerAttribute.token, u32: token)
        var address = address
        address.flags.insert(.signal)
        builder.appendNested(MPTCPPathManagerAttribute.address) { address.append(to: &$0) }
        return builder.bytes()
    }

    /// Withdraws the local address `localID` from connection `token` with REMOVE_ADDR (`MPTCP_PM_CMD_REMOVE`).
    public static func remove(familyID: UInt16, sequence: UInt32, token: UInt32, localID: UInt8) -> [UInt8] {
        var builder = start(.remove, familyID: familyID, sequence: sequence)
        builder.append(MPTCPPathManagerAttribute.token, u32: token)
        builder.append(MPTCPPathManagerAttribute.localID, u8: localID)
        return builder.bytes()
    }

    /// Adds an in-kernel path manager endpoint (`MPTCP_PM_CMD_ADD_ADDR`, `ip mptcp endpoint add`).
    public static func addEndpoint(familyID: UInt16, sequence: UInt32, address: MPTCPAddress) -> [UInt8] {
        var builder = start(.addAddress, familyID: familyID, sequence: sequence)
        builder.appendNested(MPTCPPathManagerAttribute.address) { address.append(to: &$0) }
        return builder.bytes()
    }

    /// Deletes the endpoint with id `id` (`MPTCP_PM_CMD_DEL_ADDR`, `ip mptcp endpoint delete id N`).
    public static func deleteEndpoint(familyID: UInt16, sequence: UInt32, id: UInt8) -> [UInt8] {
        var builder = start(.deleteAddress, familyID: familyID, sequence: sequence)
        builder.appendNested(MPTCPPathManagerAttribute.address) { $0.append(MPTCPAddress.Attribute.id, u8: id) }
        return builder.bytes()
    }

    /// Deletes every endpoint (`MPTCP_PM_CMD_FLUSH_ADDRS`, `ip mptcp endpoint flush`).
    public static func flushEndpoints(familyID: UInt16, sequence: UInt32) -> [UInt8] {
        start(.flushAddresses, familyID: familyID, sequence: sequence).bytes()
    }

    /// Lists the endpoints (`MPTCP_PM_CMD_GET_ADDR` with `NLM_F_DUMP`); decode the replies with
    /// ``MPTCPPathManagerReply/endpoints(_:familyID:)``.
    public static func dumpEndpoints(familyID: UInt16, sequence: UInt32) -> [UInt8] {
        start(.getAddress, familyID: familyID, sequence: sequence, flags: NetlinkFlags.request | NetlinkFlags.dump)
            .bytes()
    }

    /// Sets the in-kernel path manager limits (`MPTCP_PM_CMD_SET_LIMITS`, `ip mptcp limits set`).
    public static func setLimits(
        familyID: UInt16,
        sequence: UInt32,
        subflows: UInt32,
        acceptedAddresses: UInt32
    ) -> [UInt8] {
        var builder = start(.setLimits, familyID: familyID, sequence: sequence)
        builder.append(MPTCPPathManagerAttribute.receiveAddAddresses, u32: acceptedAddresses)
        builder.append(MPTCPPathManagerAttribute.subflows, u32: subflows)
        return builder.bytes()
    }

    /// Reads the limits (`MPTCP_PM_CMD_GET_LIMITS`); decode with ``MPTCPPathManagerReply/limits(_:familyID:)``.
    public static func getLimits(familyID: UInt16, sequence: UInt32) -> [UInt8] {
        start(.getLimits, familyID: familyID, sequence: sequence).bytes()
    }

    private static func subflowRequest(
        _ command: MPTCPPathManagerCommand,
        familyID: UInt16,
        sequence: UInt32,
        token: UInt32,
        local: MPTCPAddress,
        remote: MPTCPAddress
    ) -> [UInt8] {
        var builder = start(command, familyID: familyID, sequence: sequence)
        builder.append(MPTCPPathManagerAttribute.token, u32: token)
        builder.appendNested(MPTCPPathManagerAttribute.address) { local.append(to: &$0) }
        builder.appendNested(MPTCPPathManagerAttribute.remoteAddress) { remote.append(to: &$0) }
        return builder.bytes()
    }

    private static func start(
        _ command: MPTCPPathManagerCommand,
        familyID: UInt16,
        sequence: UInt32,
        flags: UInt16 = NetlinkFlags.request | NetlinkFlags.ack
    ) -> NetlinkMessageBuilder {
        var builder = NetlinkMessageBuilder(type: familyID, flags: flags, sequence: sequence)
        builder.appendHeader([command.rawValue, version, 0, 0])
        return builder
    }
}

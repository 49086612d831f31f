/// Decodes the replies of ``MPTCPPathManagerRequest/dumpEndpoints(familyID:sequence:)`` and
/// ``MPTCPPathManagerRequest/getLimits(familyID:sequence:)``.
public enum MPTCPPathManagerReply {
    /// The endpoints in a `GET_ADDR` dump; messages of other types are skipped.
    public static func endpoints(
        _ messages: [NetlinkMessage],
        familyID: UInt16
    ) throws(NetlinkDecodingError)
        -> [MPTCPAddress]
    {
        var endpoints: [MPTCPAddress] = []
        for message in messages where message.type == familyID {
            let attributes = try message.attributes(afterHeader: 4)
            guard let nested = attributes.first(MPTCPPathManagerAttribute.address) else {
                throw NetlinkDecodingError(.missingAttribute, "MPTCP_PM_ATTR_ADDR in GET_ADDR reply")
            }
            endpoints.append(try MPTCPAddress(attributes: nested.nested()))
        }
        return endpoints
    }

    /// The limits in a `GET_LIMITS` reply.
    public static func limits(
        _ messages: [NetlinkMessage],
        familyID: UInt16
    ) throws(NetlinkDecodingError)
        -> MPTCPLimits
    {
        guard let message = messages.first(where: { $0.type == familyID }) else {
            throw NetlinkDecodingError(.missingAttribute, "no mptcp_pm message in GET_LIMITS reply")
        }
        let attributes = try message.attributes(afterHeader: 4)
        guard let subflows = attributes.first(MPTCPPathManagerAttribute.subflows)?.u32,
            let accepted = attributes.first(MPTCPPathManagerAttribute.receiveAddAddresses)?.u32
        else {
            throw NetlinkDecodingError(.missingAttribute, "MPTCP_PM_ATTR_SUBFLOWS/RCV_ADD_ADDRS")
        }
        return MPTCPLimits(subflows: subflows, acceptedAddresses: accepted)
    }
}

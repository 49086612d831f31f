/// The generic netlink controller (`nlctrl`, id `GENL_ID_CTRL`): resolves family names to ids and groups.
public enum GenericNetlinkControl {
    /// `GENL_ID_CTRL`: the controller's fixed family id.
    public static let familyID: UInt16 = 0x10
    /// `CTRL_CMD_NEWFAMILY` (reply) and `CTRL_CMD_GETFAMILY` (request).
    static let commandNewFamily: UInt8 = 1
    static let commandGetFamily: UInt8 = 3
    /// `CTRL_ATTR_*`.
    static let attributeFamilyID: UInt16 = 1
    static let attributeFamilyName: UInt16 = 2
    static let attributeVersion: UInt16 = 3
    static let attributeMulticastGroups: UInt16 = 7
    /// `CTRL_ATTR_MCAST_GRP_*`, inside each entry of `CTRL_ATTR_MCAST_GROUPS`.
    static let attributeGroupName: UInt16 = 1
    static let attributeGroupID: UInt16 = 2

    /// A `CTRL_CMD_GETFAMILY` request for one family by name, with `NLM_F_REQUEST | NLM_F_ACK` (genl version 0,
    /// as iproute2 sends it).
    public static func getFamilyRequest(name: String, sequence: UInt32) -> [UInt8] {
        var builder = NetlinkMessageBuilder(
            type: familyID,
            flags: NetlinkFlags.request | NetlinkFlags.ack,
            sequence: sequence
        )
        builder.appendHeader([commandGetFamily, 0, 0, 0])
        builder.append(attributeFamilyName, string: name)
        return builder.bytes()
    }

    /// Decodes a `CTRL_CMD_NEWFAMILY` reply.
    public static func family(from message: NetlinkMessage) throws(NetlinkDecodingError) -> GenericNetlinkFamily {
        guard message.type == familyID, message.genericCommand == commandNewFamily else {
            throw NetlinkDecodingError(
                .invalidAttributeValue,
                "not an nlctrl NEWFAMILY message (type \(message.type), command \(message.genericCommand ?? 0))"
            )
        }
        let attributes = try message.attributes(afterHeader: 4)
        guard let id = attributes.first(attributeFamilyID)?.u16 else {
            throw NetlinkDecodingError(.missingAttribute, "CTRL_ATTR_FAMILY_ID")
        }
        guard let name = attributes.first(attributeFamilyName)?.string else {
            throw NetlinkDecodingError(.missingAttribute, "CTRL_ATTR_FAMILY_NAME")
        }
        let version = attributes.first(attributeVersion)?.u32 ?? 0
        var groups: [String: UInt32] = [:]
        if let list = attributes.first(attributeMulticastGroups) {
            for entry in try list.nested() {
                let fields = try entry.nested()
                if let groupName = fields.first(attributeGroupName)?.string,
                    let groupID = fields.first(attributeGroupID)?.u32
                {
                    groups[groupName] = groupID
                }
            }
        }
        return GenericNetlinkFamily(
            id: id,
            name: name,
            version: UInt8(truncatingIfNeeded: version),
            multicastGroups: groups
        )
    }
}

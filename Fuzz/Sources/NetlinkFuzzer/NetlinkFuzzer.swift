import Netlink

/// libFuzzer's entry point: one input is one datagram as `recv` returns it from a netlink socket.
///
/// Splits it into messages and decodes each the ways the relay can: as an `mptcp_pm` event, an rtnetlink
/// link/address/route, an `nlctrl` family reply, path manager endpoint and limit replies, and as raw
/// (nested) attributes after each family header size. Any of these may throw; none may trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let messages = try? NetlinkDecoder.messages(bytes) else { return 0 }
    for message in messages {
        // Use the message's own type as the family id, so every message is taken for an mptcp_pm one.
        _ = try? MPTCPEvent.decode(message, familyID: message.type)
        _ = try? RouteNetlinkEvent.decode(message)
        _ = try? GenericNetlinkControl.family(from: message)
        _ = message.genericCommand
        // Family header sizes: genlmsghdr 4, ifaddrmsg 8, rtmsg 12, ifinfomsg 16.
        for headerLength in [0, 4, 8, 12, 16] {
            if let attributes = try? message.attributes(afterHeader: headerLength) {
                walk(attributes, depth: 0)
            }
        }
    }
    if let familyID = messages.first?.type {
        _ = try? MPTCPPathManagerReply.endpoints(messages, familyID: familyID)
        _ = try? MPTCPPathManagerReply.limits(messages, familyID: familyID)
    }
    return 0
}

/// Reads every attribute with each typed accessor and descends into it as if it were nested.
func walk(_ attributes: [NetlinkAttribute], depth: Int) {
    for attribute in attributes {
        _ = attribute.u8
        _ = attribute.u16
        _ = attribute.u32
        _ = attribute.int32
        _ = attribute.bigEndianU16
        _ = attribute.string
        if depth < 3, let nested = try? attribute.nested() {
            walk(nested, depth: depth + 1)
        }
    }
}

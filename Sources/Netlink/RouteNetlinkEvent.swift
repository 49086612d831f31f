/// A decoded rtnetlink message: a link, address or route that appeared, changed or went away.
///
/// The same type serves dump replies (`RTM_GETLINK` … with `NLM_F_DUMP`) and multicast notifications
/// (``RouteNetlinkGroup``).
public enum RouteNetlinkEvent: Sendable, Equatable {
    case link(LinkState)
    case address(AddressState)
    case route(RouteState)

    /// Decodes a message; nil for types other than `RTM_NEW*`/`RTM_DEL*` links, addresses and routes.
    public static func decode(_ message: NetlinkMessage) throws(NetlinkDecodingError) -> RouteNetlinkEvent? {
        switch message.type {
        case RouteNetlinkMessageType.newLink, RouteNetlinkMessageType.deleteLink:
            return .link(try LinkState(message: message))
        case RouteNetlinkMessageType.newAddress, RouteNetlinkMessageType.deleteAddress:
            return .address(try AddressState(message: message))
        case RouteNetlinkMessageType.newRoute, RouteNetlinkMessageType.deleteRoute:
            return .route(try RouteState(message: message))
        default:
            return nil
        }
    }
}

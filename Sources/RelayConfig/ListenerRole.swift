public import ConvertProtocol

/// What a listener does with the connections it accepts (`role` in a `[[listener]]` table), with
/// the keys that belong to that role.
public enum ListenerRole: Sendable, Hashable {
    /// Accept plain TCP and relay each connection over MPTCP to `upstream`, a server-side converter,
    /// asking it (with a Convert header) to connect on to `destination`.
    case forward(upstream: Endpoint, destination: Endpoint)

    /// Accept connections that TPROXY rules redirect here (the listener sets IP_TRANSPARENT); each one's
    /// original destination is the accepted socket's local address, which the Convert header carries
    /// over MPTCP to `upstream`.
    case transparent(upstream: Endpoint)

    /// Accept MPTCP (and plain TCP) from forwarders and connect on to the destination named in each
    /// client's Convert header, if it lies inside one of the `allow` networks (none when empty).
    /// With a fixed `backend`, clients send no header and every connection goes there.
    case convert(allow: [IPNetwork], backend: Endpoint?)

    /// The role as written in the file: `"forward"`, `"transparent"` or `"convert"`.
    public var name: String {
        switch self {
        case .forward: "forward"
        case .transparent: "transparent"
        case .convert: "convert"
        }
    }
}

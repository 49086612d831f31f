public import ClientAuthentication
public import ConvertProtocol

/// One `[[listener]]` table: a named socket the relay accepts on, and what it does with what it accepts.
public struct ListenerConfiguration: Sendable, Hashable {
    /// A unique name for logs and metrics: 1 to 64 of `A-Z a-z 0-9 _ . -`.
    public var name: String

    /// The local address and port to accept on (never port 0).
    public var listen: Endpoint

    /// What the listener does with each accepted connection, with the settings of that role.
    public var role: ListenerRole

    /// `mark`: the SO_MARK put on the listener's upstream (MPTCP) sockets, so that firewall rules can
    /// recognise the relay's own traffic; forward and transparent listeners only.
    public var upstreamMark: UInt32?

    /// `client` with `key` or `key_file`: who a forward or transparent listener says it is to its
    /// converter (a Cookie TLV in every request); nil: no cookie.
    public var clientIdentity: ClientIdentity?

    /// A convert listener's `authentication = "clients"` (the default without `backend`): requests must
    /// carry a valid cookie of a `[[client]]`.
    public var authenticatesClients: Bool

    /// Creates a listener configuration from parts; ``ConfigLoader`` is the validating way to get one.
    public init(
        name: String,
        listen: Endpoint,
        role: ListenerRole,
        upstreamMark: UInt32? = nil,
        clientIdentity: ClientIdentity? = nil,
        authenticatesClients: Bool = false
    ) {
        self.name = name
        self.listen = listen
        self.role = role
        self.upstreamMark = upstreamMark
        self.clientIdentity = clientIdentity
        self.authenticatesClients = authenticatesClients
    }
}

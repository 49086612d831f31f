public import ConvertProtocol

/// Who a forward or transparent listener says it is to its converter: a client name and its key.
public struct ClientIdentity: Sendable, Hashable {
    /// The name the converter knows the client by (its `[[client]]` table).
    public var name: String
    /// The key both sides hold.
    public var key: ClientKey

    /// An identity from its parts.
    public init(name: String, key: ClientKey) {
        self.name = name
        self.key = key
    }

    /// A fresh cookie for a request to `destination`, as the Cookie TLV carries it.
    public func cookie(for destination: Endpoint) -> [UInt8] {
        ConvertCookie.make(clientName: name, key: key, destination: destination).encoded()
    }
}

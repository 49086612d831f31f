import ConvertProtocol
import Testing

/// `text` parsed as an endpoint, failing the test if it is not one.
func endpoint(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Endpoint {
    try #require(Endpoint(text), "\"\(text)\" is not an endpoint", sourceLocation: sourceLocation)
}

/// `text` parsed as a network, failing the test if it is not one.
func network(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> IPNetwork {
    try #require(IPNetwork(text), "\"\(text)\" is not a network", sourceLocation: sourceLocation)
}

/// A `[[client]]` table to append to a file whose convert listeners should check clients: it satisfies
/// "no converter without clients" without moving any line above it.
let anyClient = """

    [[client]]
    name = "any"
    key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
    """

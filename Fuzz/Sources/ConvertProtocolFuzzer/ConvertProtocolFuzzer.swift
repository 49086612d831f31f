import ConvertProtocol

/// libFuzzer's entry point: one input is the bytes a peer sent at the start of a connection.
///
/// Decodes them as the relay does (fixed header, then the whole message, then a request and a response),
/// and as text for the address parsers the configuration uses. Traps when decoding traps or when a decoded
/// message does not survive encoding and decoding again unchanged.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    checkFraming(bytes)
    checkMessage(bytes)
    checkText(bytes)
    return 0
}

/// A stream read the relay's way: four bytes, the length they announce, then exactly that many bytes.
func checkFraming(_ bytes: [UInt8]) {
    guard let length = try? ConvertFraming.messageLength(fixedHeader: bytes) else { return }
    precondition(
        length >= ConvertFraming.fixedHeaderLength && length <= ConvertFraming.maximumMessageLength,
        "message length \(length) out of range"
    )
    precondition(length % 4 == 0, "message length \(length) is not whole words")
    guard bytes.count >= length else { return }
    // Application data may follow the message; parse only the message, as a slice.
    _ = try? ConvertMessage.parse(bytes[..<length])
}

/// Whatever parses validates, re-encodes to the same length and parses back to itself; requests and
/// responses read out of it survive their own encoding.
func checkMessage(_ bytes: [UInt8]) {
    guard let message = try? ConvertMessage.parse(bytes) else { return }
    do {
        try message.validate()
    } catch {
        preconditionFailure("parsed message does not validate: \(error)")
    }
    let encoded = message.encoded()
    precondition(encoded.count == bytes.count, "re-encoded \(encoded.count) bytes from \(bytes.count)")
    precondition((try? ConvertMessage.parse(encoded)) == message, "re-encoded message parses differently")

    if let request = try? ConvertRequest(message: message) {
        let again = try? ConvertRequest(message: ConvertMessage.parse(request.encoded()))
        precondition(again == request, "request does not survive encoding")
    }
    let response = ConvertResponse(message: message)
    precondition(
        ConvertResponse(message: (try? ConvertMessage.parse(response.encoded())) ?? ConvertMessage()) == response,
        "response does not survive encoding"
    )
}

/// The text parsers for addresses, endpoints and networks (configuration and `allow` lists).
func checkText(_ bytes: [UInt8]) {
    guard bytes.count <= 128, let text = String(validating: bytes, as: UTF8.self) else { return }
    if let address = IPAddress(text) {
        precondition(IPAddress("\(address)") == address, "address \(address) does not parse back")
    }
    if let endpoint = Endpoint(text) {
        precondition(Endpoint("\(endpoint)") == endpoint, "endpoint \(endpoint) does not parse back")
    }
    if let network = IPNetwork(text) {
        precondition(IPNetwork("\(network)") == network, "network \(network) does not parse back")
    }
}

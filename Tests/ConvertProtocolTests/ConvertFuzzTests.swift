import ConvertProtocol
import Testing

/// A small deterministic generator (SplitMix64) so the fuzz cases are the same on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Fuzz")
struct ConvertFuzzTests {
    static let seeds: [[UInt8]] = [
        ConvertRequest(destination: Endpoint("198.18.0.1:8000")!, cookie: [1, 2, 3, 4]).encoded(),
        ConvertRequest(destination: Endpoint("[2001:db8::1]:443")!).encoded(),
        ConvertResponse.failure(.notAuthorized).encoded(),
        ConvertMessage(tlvs: [.info([]), .supportedTCPExtensions([30, 4, 8, 34]), .unknown(type: 222, value: [1, 2])])
            .encoded(),
    ]

    /// Parsing never traps; whatever parses re-encodes to the same length and parses back to itself.
    func check(_ bytes: [UInt8]) {
        if let frameLength = try? ConvertFraming.messageLength(fixedHeader: bytes) {
            #expect(frameLength >= 4 && frameLength <= ConvertFraming.maximumMessageLength)
        }
        guard let message = try? ConvertMessage.parse(bytes) else { return }
        #expect(throws: Never.self) { try message.validate() }
        let encoded = message.encoded()
        #expect(encoded.count == bytes.count)
        #expect((try? ConvertMessage.parse(encoded)) == message)
        if let request = try? ConvertRequest(message: message) {
            #expect((try? ConvertRequest(message: ConvertMessage.parse(request.encoded()))) == request)
        }
        _ = ConvertResponse(message: message)
    }

    @Test("mutated messages")
    func mutations() {
        var random = SplitMix64(state: 8803)
        for seed in Self.seeds {
            for _ in 0..<3000 {
                var bytes = seed
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    switch Int.random(in: 0..<4, using: &random) {
                    case 0 where !bytes.isEmpty:
                        bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(
                            in: 0...255,
                            using: &random
                        )
                    case 1 where !bytes.isEmpty:
                        bytes.removeLast(Int.random(in: 1...bytes.count, using: &random))
                    case 2:
                        bytes += (0..<Int.random(in: 1...8, using: &random)).map { _ in
                            UInt8.random(in: 0...255, using: &random)
                        }
                    default:
                        // Keep the header consistent so the TLV walk is exercised.
                        if bytes.count >= 2 { bytes[1] = UInt8(truncatingIfNeeded: bytes.count / 4) }
                    }
                }
                check(bytes)
            }
        }
    }

    @Test("random messages with a valid header")
    func randomMessages() {
        var random = SplitMix64(state: 5124)
        for _ in 0..<5000 {
            let words = Int.random(in: 1...12, using: &random)
            var bytes = (0..<(words * 4)).map { _ in UInt8.random(in: 0...255, using: &random) }
            bytes[0] = 1
            bytes[1] = UInt8(words)
            bytes[2] = 0x22
            bytes[3] = 0x63
            if words > 1 {
                bytes[4] = [1, 10, 20, 21, 22, 30, 200].randomElement(using: &random)!
                bytes[5] = UInt8(Int.random(in: 0...words, using: &random))
            }
            check(bytes)
        }
    }

    @Test("address parsers never trap and round trip what they accept")
    func addressText() {
        var random = SplitMix64(state: 4291)
        let alphabet = Array("0123456789abcdefABCDEF:.[]/%".utf8)
        for _ in 0..<20000 {
            let length = Int.random(in: 0...20, using: &random)
            let text = String(
                decoding: (0..<length).map { _ in alphabet.randomElement(using: &random)! },
                as: UTF8.self
            )
            if let address = IPAddress(text) {
                #expect(IPAddress(address.description) == address)
            }
            if let endpoint = Endpoint(text) {
                #expect(Endpoint(endpoint.description) == endpoint)
            }
            if let network = IPNetwork(text) {
                #expect(IPNetwork(network.description) == network)
            }
        }
    }
}

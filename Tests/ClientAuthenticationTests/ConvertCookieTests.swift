import ClientAuthentication
import ConvertProtocol
import Testing

/// The test vector of docs/PROTOCOL.md ("Client authentication"): key 00 01 … 1f, client "home",
/// timestamp 1 800 000 000, nonce a0 … af, destination 198.19.0.2:5201. The MAC was computed outside
/// this code (Python's hmac over the bytes the documentation lists).
enum CookieVector {
    static let key = ClientKey(base64: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")!
    static let destination = Endpoint(address: IPAddress("198.19.0.2")!, port: 5201)
    static let nonce: [UInt8] = Array(0xA0...0xAF)
    static let timestamp: UInt64 = 1_800_000_000
    static let bytes: [UInt8] =
        [0x01, 0x04]  // version 1, name of 4 bytes
        + [0x00, 0x00, 0x00, 0x00, 0x6B, 0x49, 0xD2, 0x00]  // 1 800 000 000 seconds
        + Array(0xA0...0xAF)  // nonce
        + Array("home".utf8)
        + hex("79f923c413a34f6f86fcf3b8c7dc7c9b6d71b0fc401bf1d9352b02b03fc89f4a")  // HMAC-SHA256
        + [0x00, 0x00]  // padding to a whole word

    static func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }
}

@Suite("ConvertCookie: the client's proof, byte for byte")
struct ConvertCookieTests {
    @Test("the documented test vector: encoding gives its bytes, parsing gives its fields, the MAC checks")
    func testVector() throws {
        let cookie = ConvertCookie(
            clientName: "home",
            key: CookieVector.key,
            destination: CookieVector.destination,
            timestamp: CookieVector.timestamp,
            nonce: CookieVector.nonce
        )
        #expect(cookie.encoded() == CookieVector.bytes)
        let parsed = try #require(ConvertCookie(parsing: CookieVector.bytes))
        #expect(parsed.clientName == "home" && parsed.timestamp == CookieVector.timestamp)
        #expect(parsed.nonce == CookieVector.nonce)
        #expect(parsed.isValid(for: CookieVector.destination, key: CookieVector.key))
    }

    @Test("the MAC binds the destination and the key")
    func binding() throws {
        let parsed = try #require(ConvertCookie(parsing: CookieVector.bytes))
        #expect(!parsed.isValid(for: Endpoint(address: IPAddress("198.19.0.2")!, port: 5202), key: CookieVector.key))
        #expect(!parsed.isValid(for: Endpoint(address: IPAddress("198.19.0.3")!, port: 5201), key: CookieVector.key))
        #expect(!parsed.isValid(for: CookieVector.destination, key: ClientKey.random()))
        var tampered = CookieVector.bytes
        tampered[9] ^= 1  // the timestamp's last byte
        let changed = try #require(ConvertCookie(parsing: tampered))
        #expect(!changed.isValid(for: CookieVector.destination, key: CookieVector.key))
    }

    @Test(
        "malformed cookies do not parse",
        arguments: [
            [UInt8](),
            Array(CookieVector.bytes.prefix(40)),  // cut inside the MAC
            [0x02] + Array(CookieVector.bytes.dropFirst()),  // version 2
            [0x01, 0x00] + Array(CookieVector.bytes.dropFirst(2)),  // empty name
            [0x01, 0x41] + Array(CookieVector.bytes.dropFirst(2)),  // name of 65 bytes
            Array(CookieVector.bytes.dropLast(2)) + [0x00, 0x01],  // padding that is not zero
            CookieVector.bytes + [0x00, 0x00, 0x00, 0x00],  // a whole word of padding too many
        ]
    )
    func malformed(bytes: [UInt8]) {
        #expect(ConvertCookie(parsing: bytes) == nil)
    }

    @Test("keys: 32 bytes of base64 only; random keys round-trip")
    func keys() throws {
        #expect(ClientKey(base64: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n") != nil)
        #expect(ClientKey(base64: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==") == nil, "31 bytes")
        #expect(ClientKey(base64: "not base64!") == nil)
        let key = ClientKey.random()
        #expect(key.base64.count == 44)
        let again = try #require(ClientKey(base64: key.base64))
        #expect(again.base64 == key.base64)
        #expect(ClientKey.random().base64 != key.base64)
    }
}

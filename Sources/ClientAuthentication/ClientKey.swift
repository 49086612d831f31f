public import Crypto
import FoundationEssentials

/// A client's pre-shared key: 256 random bits, written in config files as base64 (44 characters).
public struct ClientKey: Sendable, Hashable {
    /// The key's length in bytes.
    public static let byteCount = 32

    /// The key as swift-crypto uses it.
    public let symmetricKey: SymmetricKey

    /// A new random key (from the system's CSPRNG).
    public static func random() -> ClientKey {
        ClientKey(symmetricKey: SymmetricKey(size: .bits256))
    }

    /// The key whose base64 text is `text` (surrounding white space ignored); nil unless it decodes to
    /// exactly 32 bytes.
    public init?(base64 text: some StringProtocol) {
        guard let bytes = Data(base64Encoded: String(text.trimmingWhitespace())), bytes.count == Self.byteCount
        else { return nil }
        self.symmetricKey = SymmetricKey(data: bytes)
    }

    private init(symmetricKey: SymmetricKey) {
        self.symmetricKey = symmetricKey
    }

    /// Keys are equal when their bytes are (for configuration comparisons, not for authentication).
    public static func == (left: ClientKey, right: ClientKey) -> Bool {
        left.base64 == right.base64
    }

    /// Hashes the key's bytes.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(base64)
    }

    /// The key as base64 text, as `keygen` prints it and config files hold it.
    public var base64: String {
        symmetricKey.withUnsafeBytes { Data($0).base64EncodedString() }
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces, tabs and line breaks.
    func trimmingWhitespace() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        let text = Substring(self)
        guard let first = text.firstIndex(where: { !isSpace($0) }), let last = text.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return text[first...last]
    }
}

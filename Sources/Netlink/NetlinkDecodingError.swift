/// Bytes that are not well-formed netlink: a header or attribute that is cut short or whose length is
/// impossible, or a message that lacks an attribute its kind requires.
public struct NetlinkDecodingError: Error, Equatable, CustomStringConvertible {
    /// What is wrong with the bytes.
    public enum Kind: Sendable, Equatable {
        /// Fewer bytes than a message header (16) or a family header needs.
        case truncatedMessage
        /// `nlmsg_len` is below 16 or runs past the end of the bytes.
        case invalidMessageLength
        /// `nla_len` is below 4, runs past the end, or 1 to 3 stray bytes follow the last attribute.
        case invalidAttributeLength
        /// An attribute's payload has the wrong size or content for its type.
        case invalidAttributeValue
        /// A required attribute is absent.
        case missingAttribute
    }

    /// What is wrong.
    public var kind: Kind
    /// The byte offset where decoding stopped, relative to the buffer being decoded.
    public var offset: Int
    /// What was being decoded, for the log.
    public var detail: String

    /// Creates an error of the given kind.
    public init(_ kind: Kind, offset: Int = 0, _ detail: String) {
        self.kind = kind
        self.offset = offset
        self.detail = detail
    }

    public var description: String { "netlink decoding: \(kind) at offset \(offset): \(detail)" }
}

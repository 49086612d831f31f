extension ConvertTLV {
    /// Bytes of the fixed part that precede the variable bytes, Type and Length included.
    var fixedPartLength: Int {
        switch self {
        case .connect: 20
        case .error: 3
        case .unknown: 2
        case .info, .supportedTCPExtensions, .extendedTCPHeader, .cookie: 4
        }
    }

    /// The variable bytes that follow the fixed part.
    var variableBytes: [UInt8] {
        switch self {
        case .connect(_, let bytes), .cookie(let bytes), .error(_, let bytes), .info(let bytes),
            .supportedTCPExtensions(let bytes), .extendedTCPHeader(let bytes), .unknown(_, let bytes):
            bytes
        }
    }

    /// The encoded length in bytes, padding included; may exceed what the 8-bit Length field can say.
    var encodedLength: Int {
        (fixedPartLength + variableBytes.count + 3) / 4 * 4
    }

    /// Appends the TLV to `bytes`, zero-padded to a whole number of words.
    /// - Precondition: `encodedLength` is at most 255 words (callers check the whole message first).
    func encode(into bytes: inout [UInt8]) {
        let length = encodedLength
        precondition(length <= 255 * 4, "Convert TLV of \(length) bytes does not fit its 8-bit length")
        let start = bytes.count
        bytes.append(type)
        bytes.append(UInt8(length / 4))
        switch self {
        case .connect(let endpoint, _):
            bytes.append(UInt8(truncatingIfNeeded: endpoint.port >> 8))
            bytes.append(UInt8(truncatingIfNeeded: endpoint.port))
            bytes.append(contentsOf: endpoint.address.bytes16)
        case .error(let code, _):
            bytes.append(code.rawValue)
        case .unknown:
            break
        case .info, .supportedTCPExtensions, .extendedTCPHeader, .cookie:
            bytes.append(contentsOf: [0, 0])
        }
        bytes.append(contentsOf: variableBytes)
        bytes.append(contentsOf: repeatElement(0, count: start + length - bytes.count))
    }

    /// Decodes one TLV whose Type and Length have been checked; `tlv` holds exactly its bytes.
    /// - Throws: ``ConvertErrorCode/malformedMessage`` when a Connect TLV is shorter than 20 bytes or an
    ///   Error TLV names a code outside the registry.
    static func decode(_ tlv: ArraySlice<UInt8>) throws(ConvertProtocolError) -> ConvertTLV {
        let start = tlv.startIndex
        let type = tlv[start]
        switch type {
        case connectType:
            guard tlv.count >= 20 else {
                throw .malformed("Connect TLV of \(tlv.count) bytes is shorter than 20")
            }
            let port = UInt16(tlv[start + 2]) << 8 | UInt16(tlv[start + 3])
            let address = IPAddress(bytes16: tlv[(start + 4)..<(start + 20)])
            return .connect(Endpoint(address: address, port: port), tcpOptions: Array(tlv[(start + 20)...]))
        case errorType:
            guard let code = ConvertErrorCode(rawValue: tlv[start + 2]) else {
                throw .malformed("Error TLV with unknown error code \(tlv[start + 2])")
            }
            return .error(code, value: Array(tlv[(start + 3)...]))
        case infoType:
            return .info(Array(tlv[(start + 4)...]))
        case supportedTCPExtensionsType:
            return .supportedTCPExtensions(Array(tlv[(start + 4)...]))
        case extendedTCPHeaderType:
            return .extendedTCPHeader(Array(tlv[(start + 4)...]))
        case cookieType:
            return .cookie(Array(tlv[(start + 4)...]))
        default:
            return .unknown(type: type, value: Array(tlv[(start + 2)...]))
        }
    }
}

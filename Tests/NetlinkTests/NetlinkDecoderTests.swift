import Testing

@testable import Netlink

@Suite struct NetlinkDecoderTests {
    @Test func builderWritesAlignedAttributesAndLength() throws {
        var builder = NetlinkMessageBuilder(type: 0x1C, flags: NetlinkFlags.request | NetlinkFlags.ack, sequence: 7)
        builder.appendHeader([10, 1, 0, 0])
        builder.append(4, u32: 0xDEAD_BEEF)
        builder.append(2, string: "ab")
        builder.appendNested(1) { nested in
            nested.append(2, u8: 9)
            nested.append(5, u16: 5555)
        }
        builder.append(7, int32: -1)
        let bytes = builder.bytes()
        #expect(bytes.count % 4 == 0)
        #expect(bytes[0..<4] == [UInt8(bytes.count), 0, 0, 0])

        let messages = try NetlinkDecoder.messages(bytes)
        #expect(messages.count == 1)
        let message = try #require(messages.first)
        #expect(message.type == 0x1C && message.flags == 5 && message.sequence == 7 && message.portID == 0)
        #expect(message.genericCommand == 10)
        let attributes = try message.attributes(afterHeader: 4)
        #expect(attributes.map(\.type) == [4, 2, 1, 7])
        #expect(attributes[0].u32 == 0xDEAD_BEEF)
        #expect(attributes[1].string == "ab")
        #expect(attributes[1].payload == [0x61, 0x62, 0])
        #expect(attributes[3].int32 == -1)
        let nested = try attributes[2].nested()
        #expect(nested == [NetlinkAttribute(type: 2, payload: [9]), NetlinkAttribute(type: 5, payload: [0xB3, 0x15])])
        #expect(nested[1].u16 == 5555)
        // The nested flag is on the wire but masked off in the decoded type.
        #expect(bytes[20 + 8 + 8 + 3] & 0x80 == 0x80)
    }

    @Test func accessorsRejectWrongSizes() {
        let attribute = NetlinkAttribute(type: 1, payload: [1, 2, 3])
        #expect(attribute.u8 == nil && attribute.u16 == nil && attribute.u32 == nil && attribute.int32 == nil)
        #expect(NetlinkAttribute(type: 9, payload: [0x13, 0x88]).bigEndianU16 == 5000)
        #expect(NetlinkAttribute(type: 2, payload: [0xFF, 0xFE, 0]).string == nil)
    }

    @Test func severalMessagesInOneDatagram() throws {
        let messages = try NetlinkDecoder.messages(Fixtures.endpointDumpReply)
        #expect(messages.count == 2)
        #expect(messages.allSatisfy { $0.type == 0x1C && $0.flags == NetlinkFlags.multi })
    }

    @Test func truncatedHeaderThrows() {
        #expect(throws: NetlinkDecodingError.self) { try NetlinkDecoder.messages([0x14, 0, 0, 0, 3, 0]) }
        let error = #expect(throws: NetlinkDecodingError.self) {
            try NetlinkDecoder.messages(Fixtures.endpointAddAck + [1, 2, 3])
        }
        #expect(error?.kind == .truncatedMessage)
        #expect(error?.offset == Fixtures.endpointAddAck.count)
    }

    @Test func messageLengthPastTheEndThrows() {
        var bytes = Fixtures.limitsGetReply
        bytes[0] = 0x40
        let error = #expect(throws: NetlinkDecodingError.self) { try NetlinkDecoder.messages(bytes) }
        #expect(error?.kind == .invalidMessageLength)
        bytes[0] = 8
        #expect(throws: NetlinkDecodingError.self) { try NetlinkDecoder.messages(bytes) }
    }

    @Test func attributeLengthPastTheEndThrows() throws {
        // The limits reply with its last attribute's length raised beyond the message.
        var bytes = Fixtures.limitsGetReply
        bytes[28] = 0x20
        let message = try #require(try NetlinkDecoder.messages(bytes).first)
        let error = #expect(throws: NetlinkDecodingError.self) { try message.attributes(afterHeader: 4) }
        #expect(error?.kind == .invalidAttributeLength)
        #expect(throws: NetlinkDecodingError.self) { try NetlinkDecoder.attributes([3, 0, 1, 0][...]) }
        #expect(throws: NetlinkDecodingError.self) { try NetlinkDecoder.attributes([8, 0, 1, 0, 0, 0, 0, 0, 9][...]) }
        #expect(throws: NetlinkDecodingError.self) { try message.attributes(afterHeader: 64) }
    }

    @Test func nestedGarbageThrows() throws {
        let attribute = NetlinkAttribute(type: 1, payload: [0xFF, 0xFF, 0x01, 0x00, 0x00])
        #expect(throws: NetlinkDecodingError.self) { try attribute.nested() }
        // A dump reply whose nested address holds an impossible length.
        var bytes = Fixtures.endpointDumpReply
        bytes[24] = 0xF0
        let messages = try NetlinkDecoder.messages(bytes)
        #expect(throws: NetlinkDecodingError.self) { try MPTCPPathManagerReply.endpoints(messages, familyID: 0x1C) }
    }

    @Test func everyTruncationOfCapturedBytesFailsCleanly() {
        // Cutting a captured datagram anywhere must throw or decode, never trap.
        for fixture in [Fixtures.genericFamilyReply, Fixtures.serverEventCreated, Fixtures.addressAddedIPv6] {
            for length in 0..<fixture.count {
                let slice = Array(fixture[..<length])
                if let messages = try? NetlinkDecoder.messages(slice) {
                    for message in messages {
                        _ = try? MPTCPEvent.decode(message, familyID: 0x1C)
                        _ = try? RouteNetlinkEvent.decode(message)
                        _ = try? GenericNetlinkControl.family(from: message)
                    }
                }
                var corrupted = fixture
                corrupted[length] ^= 0xFF
                if let messages = try? NetlinkDecoder.messages(corrupted) {
                    for message in messages {
                        _ = try? MPTCPEvent.decode(message, familyID: 0x1C)
                        _ = try? RouteNetlinkEvent.decode(message)
                        _ = try? GenericNetlinkControl.family(from: message)
                    }
                }
            }
        }
    }

    @Test func shortFamilyHeadersThrow() throws {
        let link = NetlinkMessage(type: RouteNetlinkMessageType.newLink, payload: [0, 0, 1, 0])
        #expect(throws: NetlinkDecodingError.self) { try RouteNetlinkEvent.decode(link) }
        let route = NetlinkMessage(type: RouteNetlinkMessageType.newRoute, payload: [2, 24])
        #expect(throws: NetlinkDecodingError.self) { try RouteNetlinkEvent.decode(route) }
        let event = NetlinkMessage(type: 0x1C, payload: [1, 1])
        #expect(try MPTCPEvent.decode(event, familyID: 0x1C) == nil)
    }
}

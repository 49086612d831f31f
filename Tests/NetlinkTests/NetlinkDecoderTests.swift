import Testing

@testable import Netlink

@Test func builderRoundTrip() throws {
    var builder = NetlinkMessageBuilder(type: 0x1C, flags: NetlinkFlags.request | NetlinkFlags.ack, sequence: 7)
    builder.appendHeader([1, 1, 0, 0])
    builder.append(4, u32: 0xDEAD_BEEF)
    builder.appendNested(1) { $0.append(2, u8: 9) }
    let messages = try NetlinkDecoder.messages(builder.bytes())
    #expect(messages.count == 1)
}

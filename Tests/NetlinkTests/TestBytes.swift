/// A request with `nlmsg_seq` and `nlmsg_pid` zeroed, to compare our bytes with captured ones.
func withoutSequenceAndPort(_ bytes: [UInt8]) -> [UInt8] {
    var bytes = bytes
    for index in 8..<16 where index < bytes.count { bytes[index] = 0 }
    return bytes
}

/// A request with `nlmsg_flags` zeroed too, where we add `NLM_F_ACK` and iproute2 does not.
func withoutFlags(_ bytes: [UInt8]) -> [UInt8] {
    var bytes = withoutSequenceAndPort(bytes)
    bytes[6] = 0
    bytes[7] = 0
    return bytes
}

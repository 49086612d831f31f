import ConvertProtocol

/// A listener as one worker holds it: its own SO_REUSEPORT socket and what the role needs per connection,
/// computed once (the upstream address, the encoded Convert request).
struct WorkerListener {
    let spec: ListenerSpec
    let fd: Int32
    /// Forward: the converter's address, at a fixed address for io_uring connect.
    let upstreamAddress: UnsafeMutablePointer<SocketAddress>?
    /// Forward: the Convert request naming the destination, the same for every connection.
    let request: [UInt8]
    /// Convert: the fixed backend's address, if any.
    let backendAddress: UnsafeMutablePointer<SocketAddress>?
    var acceptArmed = false
    var open = true

    init(spec: ListenerSpec, fd: Int32) {
        self.spec = spec
        self.fd = fd
        switch spec.role {
        case .forward(let upstream, let destination):
            upstreamAddress = .allocate(capacity: 1)
            upstreamAddress!.initialize(to: SocketAddress(upstream))
            request = ConvertRequest(destination: destination, cookie: nil).encoded()
            backendAddress = nil
        case .convert(_, let backend):
            upstreamAddress = nil
            request = []
            if let backend {
                backendAddress = .allocate(capacity: 1)
                backendAddress!.initialize(to: SocketAddress(backend))
            } else {
                backendAddress = nil
            }
        }
    }

    func deallocate() {
        upstreamAddress?.deallocate()
        backendAddress?.deallocate()
    }
}

internal import CLiburing
import ClientAuthentication
import ConvertProtocol
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The outcome of reading one Convert message off a socket.
enum HeaderRead {
    case complete([UInt8])
    case wouldBlock
    case malformed(ConvertProtocolError)
    case endOfStream
    case failed(errno: Int32)
}

extension Worker {
    /// The outbound connect finished: send the request (forward) or the answer (convert), then relay.
    func connected(_ slotIndex: Int, result: Int32) {
        let slot = slots + slotIndex
        let listener = listeners[slot.pointee.listener]
        if result < 0 {
            return connectFailed(slotIndex, errno: -result)
        }
        let took = Worker.preciseNow() &- slot.pointee.dialedAt
        let bucket = RelayStatistics.connectBucket(nanoseconds: took)
        count(RelayStatistics.Slot.connectBucket(bucket), listener: slot.pointee.listener)
        count(RelayStatistics.Slot.connectBucketNanoseconds(bucket), listener: slot.pointee.listener, took)
        switch listener.spec.role {
        case .forward, .transparent:
            trySendingRequest(slotIndex)
        case .convert(_, let backend):
            // ICMP errors back to normal TCP handling (dial turned their queueing on for the connect).
            let ipv6 = slot.pointee.destination.map { !$0.address.isIPv4 } ?? false
            _ = CLiburing_set_icmp_errors(slot.pointee.upstream, ipv6 ? 1 : 0, 0)
            if backend == nil {
                let answer = slot.pointee.asksForExtensions ? SupportedTCPExtensions.answer : Worker.successAnswer
                let sent = SocketCalls.send(slot.pointee.downstream, answer)
                if sent != answer.count {
                    return fail(slotIndex, .downstreamReset(errno: sent < 0 ? Int32(-sent) : EIO))
                }
            }
            startRelaying(slotIndex)
        }
    }

    /// What became of a Convert request.
    enum RequestOutcome {
        case sent
        /// Fast Open without a cookie: the SYN went out without data; send again once writable.
        case notConnected
        /// The connection has been failed.
        case failed
    }

    /// Forward side: sends the Convert request, together with what the LAN client has already sent (the
    /// first bytes usually arrive while the MPTCP connect is in flight), in one sendmsg: one segment
    /// instead of two, and with Fast Open both in the SYN. What the socket does not take is parked in a
    /// pipe for `pump` to finish. A few dozen header bytes cannot be cut short, except by an error.
    private func sendRequest(_ slotIndex: Int, _ request: [UInt8]) -> RequestOutcome {
        let slot = slots + slotIndex
        let state = Worker.directionState(slot, .toUpstream)
        var payload = 0
        if state.pointee.buffered == 0 && !state.pointee.sourceEnded {
            let received = SocketCalls.receive(slot.pointee.downstream, into: copyBuffer, count: copyBufferSize)
            if received < 0 && received != -Int(EAGAIN) {
                fail(slotIndex, .downstreamReset(errno: Int32(-received)))
                return .failed
            }
            if received == 0 { state.pointee.sourceEnded = true }
            payload = max(received, 0)
        }
        let sent = request.withUnsafeBytes { header in
            SocketCalls.send(slot.pointee.upstream, header, copyBuffer, payload)
        }
        if sent == -Int(EINPROGRESS) || sent == -Int(EAGAIN) {
            // Not connected yet: keep what the client sent for after the handshake.
            if payload > 0 && !park(copyBuffer, count: payload, in: state) {
                fail(slotIndex, .resourceExhausted(errno: lastCopyError))
                return .failed
            }
            return .notConnected
        }
        if sent < request.count {
            fail(slotIndex, .upstreamReset(errno: sent < 0 ? Int32(-sent) : EIO))
            return .failed
        }
        let delivered = sent - request.count
        state.pointee.delivered(delivered)
        if delivered < payload && !park(copyBuffer + delivered, count: payload - delivered, in: state) {
            fail(slotIndex, .resourceExhausted(errno: lastCopyError))
            return .failed
        }
        return .sent
    }

    /// Forward side: sends the request once the connect completed, and again on writability while Fast
    /// Open has not connected yet (phase `sendingRequest`).
    func trySendingRequest(_ slotIndex: Int) {
        let destination = slots[slotIndex].destination!
        let cookie = listeners[slots[slotIndex].listener].spec.clientIdentity?.cookie(for: destination)
        let request = ConvertRequest(destination: destination, cookie: cookie).encoded()
        switch sendRequest(slotIndex, request) {
        case .sent:
            requestSent(slotIndex)
        case .notConnected:
            slots[slotIndex].phase = .sendingRequest
            armPoll(slotIndex, .pollUpstreamOut)
        case .failed:
            break
        }
    }

    /// The request is out: bytes flow towards the converter while its answer is awaited.
    private func requestSent(_ slotIndex: Int) {
        slots[slotIndex].phase = .awaitingResponse
        slots[slotIndex].lastActivity = now
        armPoll(slotIndex, .pollUpstreamIn)
        pump(slotIndex, .toUpstream)
    }

    /// Both directions start flowing.
    func startRelaying(_ slotIndex: Int) {
        slots[slotIndex].phase = .relaying
        slots[slotIndex].lastActivity = now
        pump(slotIndex, .toUpstream)
        if slots[slotIndex].phase == .relaying {
            pump(slotIndex, .toDownstream)
        }
    }

    private func connectFailed(_ slotIndex: Int, errno code: Int32) {
        switch listeners[slots[slotIndex].listener].spec.role {
        case .forward, .transparent:
            if redialOnAnotherPath(slotIndex, after: code) { return }
            fail(slotIndex, .connectFailed(errno: code))
        case .convert:
            // The ICMP Destination Unreachable that ended the connect, if one did (its code is echoed, RFC
            // 8803 section 6.2.8); a local failure (no route, a timeout) has none.
            let icmp = CLiburing_icmp_error_code(slots[slotIndex].upstream)
            let answer: ConvertErrorCode =
                switch code {
                case ECONNREFUSED, ECONNRESET: .connectionReset
                case ENETUNREACH, EHOSTUNREACH, ETIMEDOUT, EHOSTDOWN, ENETDOWN: .destinationUnreachable
                // ICMPv6 administratively prohibited, policy failure and reject route arrive as EACCES.
                case EACCES where icmp >= 0: .destinationUnreachable
                // A local firewall, or a family this host cannot reach: this destination only.
                case EPERM, EACCES, EAFNOSUPPORT: .destinationUnreachable
                // Out of local ports, buffers or memory: the converter itself is short (64 has the client wait).
                case EADDRNOTAVAIL, ENOBUFS, ENOMEM, EMFILE, ENFILE: .resourceExceeded
                default: .networkFailure
                }
            let value: [UInt8] =
                answer == .destinationUnreachable && icmp >= 0 ? [UInt8(truncatingIfNeeded: icmp)] : []
            refuse(slotIndex, answer: answer, value: value, result: .connectFailed(errno: code))
        }
    }

    /// The connect deadline passed: cancel it and end the connection as the role requires.
    func connectTimedOut(_ slotIndex: Int) {
        switch listeners[slots[slotIndex].listener].spec.role {
        case .forward, .transparent:
            fail(slotIndex, .connectTimeout)
        case .convert:
            refuse(slotIndex, answer: .destinationUnreachable, result: .connectTimeout)
        }
    }

    /// Converter side: the client's request is readable.
    func readRequest(_ slotIndex: Int) {
        switch readHeader(slotIndex, from: slots[slotIndex].downstream) {
        case .wouldBlock:
            armPoll(slotIndex, .pollDownstreamIn)
        case .endOfStream:
            let value = Worker.echo(answer: .malformedMessage, receivedHeaderBytes(slotIndex), otherwise: [])
            refuse(slotIndex, answer: .malformedMessage, value: value, result: .badRequest(.malformedMessage))
        case .failed(let code):
            fail(slotIndex, .downstreamReset(errno: code))
        case .malformed(let error) where error.kind == .zeroLength:
            // RFC 8803 section 4.1: a Total Length of 0 resets the connection, with no Error TLV.
            beginClose(slotIndex, .badRequest(.malformedMessage), abortive: true)
        case .malformed(let error):
            let answer = Worker.answer(for: error)
            let value = Worker.echo(answer: answer, receivedHeaderBytes(slotIndex), otherwise: error.value)
            refuse(slotIndex, answer: answer, value: value, result: .badRequest(answer))
        case .complete(let bytes):
            releasePendingHeader(slotIndex)
            let request: ConvertRequest
            do {
                let message = try ConvertMessage.parse(bytes)
                if ConvertRequest.isInfoQuery(message) { return answerInfoQuery(slotIndex) }
                request = try ConvertRequest(message: message)
            } catch {
                let answer = Worker.answer(for: error)
                let value = Worker.echo(answer: answer, bytes, otherwise: error.value)
                return refuse(slotIndex, answer: answer, value: value, result: .badRequest(answer))
            }
            slots[slotIndex].destination = request.destination
            slots[slotIndex].asksForExtensions = request.asksForExtensions
            // RFC 8803 section 6.2.5: a loopback, multicast or broadcast destination is a malformed request,
            // whatever the allow list says.
            if ConvertRequest.isMalformedDestination(request.destination)
                && !(settings.loopbackDestinationsForTests && request.destination.address.isLoopback)
            {
                let value = Worker.echo(answer: .malformedMessage, bytes, otherwise: [])
                return refuse(
                    slotIndex,
                    answer: .malformedMessage,
                    value: value,
                    result: .badRequest(.malformedMessage)
                )
            }
            let spec = listeners[slots[slotIndex].listener].spec
            guard case .convert(let policy, _) = spec.role else { return }
            if let check = spec.authenticator?.authenticator {
                // Before anything else: an unknown client learns nothing about where this converter goes.
                switch check.admit(cookie: request.cookie, destination: request.destination) {
                case .success(let client):
                    slots[slotIndex].client = client
                case .failure(let failure):
                    if failure.errorCode == .resourceExceeded {
                        logLimitHit(slotIndex, failure, cookie: request.cookie)
                    }
                    return refuse(slotIndex, answer: failure.errorCode, result: .unauthorized(failure))
                }
            }
            if let refusal = policy.refusal(for: request.destination) {
                return refuse(slotIndex, answer: .notAuthorized, result: .destinationRefused(refusal))
            }
            connectAddresses[slotIndex] = SocketAddress(request.destination)
            dial(slotIndex, to: connectAddresses + slotIndex, mptcp: false)
        }
    }

    /// Forward side: the converter's answer is readable.
    func readResponse(_ slotIndex: Int) {
        switch readHeader(slotIndex, from: slots[slotIndex].upstream) {
        case .wouldBlock:
            armPoll(slotIndex, .pollUpstreamIn)
        case .endOfStream:
            fail(slotIndex, .badResponse)
        case .failed(let code):
            fail(slotIndex, .upstreamReset(errno: code))
        case .malformed:
            fail(slotIndex, .badResponse)
        case .complete(let bytes):
            guard let response = Worker.converterAnswer(bytes) else { return fail(slotIndex, .badResponse) }
            // Known only now: with Fast Open the handshake may have finished after the request went out.
            slots[slotIndex].multipath = CLiburing_mptcp_is_active(slots[slotIndex].upstream) == 1
            if slots[slotIndex].multipath == false { upstreamFellBack(slotIndex) }
            if let code = response.error {
                holdOffConverter(slotIndex, response)
                return fail(slotIndex, .converterError(code))
            }
            slots[slotIndex].phase = .relaying
            slots[slotIndex].lastActivity = now
            pump(slotIndex, .toDownstream)
        }
    }

    /// The converter's answer in `bytes` (one whole Convert message), or nil when the client may not act on
    /// it: not a Convert message, or a TLV type twice (RFC 8803 section 4.2.1 has the client reset then).
    static func converterAnswer(_ bytes: [UInt8]) -> ConvertResponse? {
        guard let message = try? ConvertMessage.parse(bytes), message.repeatedTLVType == nil else { return nil }
        return ConvertResponse(message: message)
    }

    /// Reads exactly one Convert message: the fixed header first, then the length it announces, never a
    /// byte more, so that the payload behind it stays in the socket for splice.
    func readHeader(_ slotIndex: Int, from fd: Int32) -> HeaderRead {
        let slot = slots + slotIndex
        let buffer = headerBuffers + slotIndex * Worker.headerCapacity
        for _ in 0..<4 {
            let target =
                slot.pointee.headerExpected == 0 ? ConvertFraming.fixedHeaderLength : slot.pointee.headerExpected
            let received = SocketCalls.receive(
                fd,
                into: buffer + slot.pointee.headerFilled,
                count: target - slot.pointee.headerFilled
            )
            if received == 0 { return .endOfStream }
            if received == -Int(EAGAIN) { return .wouldBlock }
            if received < 0 { return .failed(errno: Int32(-received)) }
            slot.pointee.headerFilled += received
            slot.pointee.lastActivity = now
            if slot.pointee.headerFilled < target { continue }
            if slot.pointee.headerExpected == 0 {
                let fixed = UnsafeRawBufferPointer(start: buffer, count: ConvertFraming.fixedHeaderLength)
                do {
                    slot.pointee.headerExpected = try ConvertFraming.messageLength(fixedHeader: fixed)
                } catch {
                    return .malformed(error)
                }
                if slot.pointee.headerExpected > Worker.headerCapacity {
                    return .malformed(ConvertProtocolError(code: .resourceExceeded, reason: "header too long"))
                }
            }
            if slot.pointee.headerFilled == slot.pointee.headerExpected {
                return .complete(Array(UnsafeRawBufferPointer(start: buffer, count: slot.pointee.headerFilled)))
            }
        }
        return .wouldBlock
    }

    /// The Error TLV Value for `answer`: Malformed Message (1) and Unsupported Message (2) echo the message
    /// received (RFC 8803 section 6.2.8), as much of it as fits in one answer (1 013 bytes: 1 020 less the
    /// fixed header and the TLV's type, length and code); other codes carry `otherwise`.
    static func echo(answer: ConvertErrorCode, _ received: [UInt8], otherwise: [UInt8]) -> [UInt8] {
        guard answer == .malformedMessage || answer == .unsupportedMessage else { return otherwise }
        return Array(received.prefix(ConvertFraming.maximumMessageLength - ConvertFraming.fixedHeaderLength - 3))
    }

    /// The bytes of the Convert message read so far on the slot (what a refusal before its end echoes).
    func receivedHeaderBytes(_ slotIndex: Int) -> [UInt8] {
        Array(
            UnsafeRawBufferPointer(
                start: headerBuffers + slotIndex * Worker.headerCapacity,
                count: slots[slotIndex].headerFilled
            )
        )
    }

    /// Converter side: the Error TLV code that answers a rejected request. A fixed header that is not Convert
    /// version 1, by its version or by its Magic Number (not 0x2263, as drafts before RFC 8803 sent), gets
    /// Unsupported Version; every other rejection the code the codec chose.
    static func answer(for error: ConvertProtocolError) -> ConvertErrorCode {
        switch error.kind {
        case .badMagic, .unsupportedVersion: .unsupportedVersion
        case .zeroLength, .invalidMessage: error.code
        }
    }

    /// The bare success answer, `01 01 22 63`, encoded once.
    static let successAnswer = ConvertResponse.success.encoded()

    /// Converter side: a message with an Info TLV alone asks only which TCP extensions the converter
    /// supports. RFC 8803 answers it "assuming a Client is entitled to invoke the Transport Converter": a
    /// converter that checks clients answers Not Authorized (the cookie covers a Connect TLV, and there is
    /// none); one that does not answers the Supported TCP Extensions TLV. Either way the connection closes.
    private func answerInfoQuery(_ slotIndex: Int) {
        if listeners[slots[slotIndex].listener].spec.authenticator != nil {
            return refuse(slotIndex, answer: .notAuthorized, result: .unauthorized(.missingCookie))
        }
        _ = SocketCalls.send(slots[slotIndex].downstream, SupportedTCPExtensions.answer)
        shutdown(slots[slotIndex].downstream, Int32(SHUT_WR))
        beginClose(slotIndex, .completed, abortive: false)
    }

    /// Converter side: answer with an Error TLV (whose Value is `value`: the refused option kinds of
    /// Unsupported TCP Option), then close without relaying anything.
    func refuse(_ slotIndex: Int, answer: ConvertErrorCode, value: [UInt8] = [], result: ConnectionResult) {
        let listener = slots[slotIndex].listener
        let downstream = slots[slotIndex].downstream
        guard sendErrorAnswer(downstream, listenerIndex: listener, answer: answer, value: value) else {
            // No answer (the budget is spent): a reset, so no orphaned FIN_WAIT socket per refusal in a flood.
            return beginClose(slotIndex, result, abortive: true)
        }
        shutdown(downstream, Int32(SHUT_WR))
        beginClose(slotIndex, result, abortive: false)
    }

    /// Sends the Error TLV `answer` (with `value`, or the code's default value) on `fd` if the worker's
    /// `max_error_answers` budget allows, counting it; otherwise counts and (once per interval) logs the
    /// suppression (RFC 8803: error messages SHOULD be rate-limited). Returns whether it was sent.
    func sendErrorAnswer(_ fd: Int32, listenerIndex: Int, answer: ConvertErrorCode, value: [UInt8] = []) -> Bool {
        guard errorAnswers.take(now: now) else {
            count(RelayStatistics.Slot.errorAnswersSuppressed, listener: listenerIndex)
            if let suppressed = errorAnswersLog.admit(now: now) {
                logger.warning(
                    "refusals closed without their Error TLV: max_error_answers per second reached",
                    metadata: [
                        "listener": "\(listeners[listenerIndex].spec.name)", "suppressed": "\(suppressed)",
                        "max_error_answers": "\(errorAnswers.rate)",
                    ]
                )
            }
            return false
        }
        count(RelayStatistics.Slot.convertErrorSent(answer.counterIndex), listener: listenerIndex)
        let value = value.isEmpty ? Worker.defaultValue(for: answer) : value
        _ = SocketCalls.send(fd, ConvertResponse.failure(answer, value: value).encoded())
        return true
    }

    /// A converter limit was hit (a client's connections or new-connection rate, the replay cache): one
    /// warning per listener and interval, with how many refusals it stands for.
    private func logLimitHit(_ slotIndex: Int, _ failure: AuthenticationFailure, cookie: [UInt8]?) {
        let listener = slots[slotIndex].listener
        guard let count = listeners[listener].clientLimitLog.admit(now: now) else { return }
        var metadata: Logger.Metadata = [
            "listener": "\(listeners[listener].spec.name)", "reason": "\(failure.rawValue)",
            "refused": "\(count)",
        ]
        if let name = cookie.flatMap(ConvertCookie.init(parsing:))?.clientName { metadata["client"] = "\(name)" }
        logger.warning(
            "client over its limit: requests refused with Resource Exceeded; raise max_connections, max_new_per_second or replay_cache if this is expected",
            metadata: metadata
        )
    }
}

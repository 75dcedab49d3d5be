import HTTPTypes
import NIOCore
import NIOHTTPTypes
import Synchronization

/// The number of open connections, shared by every connection's `ConnectionGuard`.
final class ConnectionCounter: Sendable {
    let limit: Int
    private let open = Atomic<Int>(0)

    init(limit: Int) { self.limit = limit }

    /// Takes a place if one is free.
    func acquire() -> Bool {
        while true {
            let current = open.load(ordering: .relaxed)
            guard current < limit else { return false }
            if open.compareExchange(expected: current, desired: current + 1, ordering: .acquiringAndReleasing).exchanged {
                return true
            }
        }
    }

    func release() { open.subtract(1, ordering: .relaxed) }

    /// Connections open now.
    var count: Int { open.load(ordering: .relaxed) }
}

/// Per-connection guard, added after the HTTP codec: caps open connections (one past the cap is
/// answered `503` with `Retry-After` and closed) and closes a connection whose request head
/// does not arrive in time — within `headerTimeout` of connecting, and within `idleTimeout` of
/// the previous response — so slow-header clients cannot hold connections open.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let counter: ConnectionCounter
    private let headerTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private var admitted = false
    private var rejected = false
    private var timer: Scheduled<Void>?

    init(counter: ConnectionCounter, headerTimeout: TimeAmount, idleTimeout: TimeAmount) {
        self.counter = counter
        self.headerTimeout = headerTimeout
        self.idleTimeout = idleTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if counter.acquire() {
            admitted = true
            arm(context, headerTimeout)
        } else {
            rejected = true
            reject(context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        if admitted {
            admitted = false
            counter.release()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !rejected else { return }
        if case .head = unwrapInboundIn(data) {
            timer?.cancel()
            timer = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if !rejected, case .end = unwrapOutboundIn(data) { arm(context, idleTimeout) }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext, _ delay: TimeAmount) {
        timer?.cancel()
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: delay) { channel.close(promise: nil) }
    }

    private func reject(_ context: ChannelHandlerContext) {
        let body = ByteBuffer(string: #"{"error":"too many connections (server.max_connections)"}"#)
        let head = HTTPResponse(
            status: .serviceUnavailable,
            headerFields: [
                .contentType: "application/json; charset=utf-8", .contentLength: "\(body.readableBytes)",
                .retryAfter: "1", .connection: "close",
            ])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}

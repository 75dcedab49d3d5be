import Hummingbird
import VigilCore

/// The request context: Hummingbird's core storage plus the authenticated token, if any.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The name of the token that authenticated this request (never the secret).
    public var tokenName: String?
    /// The client's IP address (`nil` when the channel has none, as in router tests).
    public var remoteAddress: String?

    public init(source: Source) {
        coreContext = .init(source: source)
        tokenName = nil
        remoteAddress = source.channel.remoteAddress?.ipAddress
    }

    /// Body limits are enforced by the controllers from `server.max_body_bytes`; this only caps
    /// what any other route would collect.
    public var maxUploadSize: Int { 1 << 30 }
}

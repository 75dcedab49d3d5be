import HTTPTypes
import Synchronization
import VigilCore

/// Per-token request rate limits (a token bucket per token name; all anonymous requests share
/// one): `rate` requests per second with a burst of `rate`. Keys are the configured token names,
/// "anonymous", and the console sign-in's client addresses. At most `maxKeys` buckets are kept:
/// when full, buckets idle long enough to have refilled are dropped (at most one sweep a
/// second), and a new key that still finds no room shares one overflow bucket, so many source
/// addresses cost neither memory nor a way around the limit. Time comes from the service's clock
/// (tests move it by hand); a clock that steps back refills nothing.
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var at: Int64
    }

    private struct State {
        var buckets: [String: Bucket] = [:]
        var sweptAt: Int64?
    }

    static let overflowKey = "\u{0}overflow"

    let rate: Int
    let maxKeys: Int
    private let clock: any VigilClock
    private let state = Mutex(State())

    init(rate: Int, clock: any VigilClock, maxKeys: Int = 10_000) {
        self.rate = rate
        self.clock = clock
        self.maxKeys = max(2, maxKeys)
    }

    /// How many buckets are held (for tests and the bounds table).
    var keyCount: Int { state.withLock { $0.buckets.count } }

    /// Takes one request from `key`'s bucket, or throws `429` with the seconds until one is free.
    func admit(_ key: String) throws {
        guard rate > 0 else { return }
        let capacity = Double(rate)
        let now = clock.now
        let wait = state.withLock { state -> Double? in
            var key = key
            if state.buckets[key] == nil, state.buckets.count >= maxKeys {
                if state.sweptAt.map({ now - $0 >= 1000 }) ?? true {
                    state.sweptAt = now
                    // Idle for a second at least: refilled, so dropping it forgets nothing.
                    state.buckets = state.buckets.filter { now - $0.value.at < 1000 || $0.key == Self.overflowKey }
                }
                if state.buckets.count >= maxKeys { key = Self.overflowKey }
            }
            var bucket = state.buckets[key] ?? Bucket(tokens: capacity, at: now)
            let seconds = Double(max(0, now - bucket.at)) / 1000
            bucket.tokens = min(capacity, bucket.tokens + seconds * capacity)
            bucket.at = max(bucket.at, now)
            defer { state.buckets[key] = bucket }
            guard bucket.tokens >= 1 else { return (1 - bucket.tokens) / capacity }
            bucket.tokens -= 1
            return nil
        }
        if let wait {
            let retry = max(1, Int(wait.rounded(.up)))
            throw APIError(
                .tooManyRequests, "rate limit of \(rate) requests per second exceeded (server.rate_limit)",
                headers: [.retryAfter: "\(retry)"])
        }
    }
}

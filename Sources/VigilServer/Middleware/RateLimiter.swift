import HTTPTypes
import Synchronization

/// Per-token request rate limits (a token bucket per token name; all anonymous requests share
/// one): `rate` requests per second with a burst of `rate`. Keys are the configured token names
/// plus "anonymous", so the map is bounded by the configuration.
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var at: ContinuousClock.Instant
    }

    let rate: Int
    private let buckets = Mutex<[String: Bucket]>([:])

    init(rate: Int) { self.rate = rate }

    /// Takes one request from `key`'s bucket, or throws `429` with the seconds until one is free.
    func admit(_ key: String, at now: ContinuousClock.Instant = .now) throws {
        guard rate > 0 else { return }
        let capacity = Double(rate)
        let wait = buckets.withLock { buckets -> Double? in
            var bucket = buckets[key] ?? Bucket(tokens: capacity, at: now)
            let elapsed = now - bucket.at
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(capacity, bucket.tokens + seconds * capacity)
            bucket.at = now
            defer { buckets[key] = bucket }
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

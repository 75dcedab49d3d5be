import Foundation

/// The one source of time: wall-clock milliseconds since the epoch, and sleeping. Services and
/// controllers read time only through the clock they were given, so tests substitute their own.
public protocol VigilClock: Sendable {
    /// Milliseconds since the epoch.
    var now: Int64 { get }
    /// Suspends for `duration` (throws when cancelled).
    func sleep(for duration: Duration) async throws
}

/// The system's clock: `Date` for the time, `ContinuousClock` for sleeping.
public struct SystemClock: VigilClock {
    public init() {}
    public var now: Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
    public func sleep(for duration: Duration) async throws { try await ContinuousClock().sleep(for: duration) }
}

import Hummingbird
import VigilCore

/// The `window` and `to` query parameters every window read takes.
struct WindowQuery {
    var window: TimeLength
    /// The window's end; `nil` for now.
    var endingAt: Int64?

    /// `window` defaults to `1h` (or the first configured window) and may be any width from 1m
    /// to the aggregate retention; one longer than the span kept in memory needs `to`.
    init(_ query: Parameters, config: VigilConfig, retainedSpan: Int64) throws {
        window = try Self.window(query["window"].map(String.init), config: config)
        if let ts = try Self.instant(query, "to") {
            endingAt = ts
        } else if window.millis > retainedSpan {
            throw APIError(
                .badRequest,
                "window \(window.text) is longer than the \(retainedSpan / 3_600_000)h kept in memory; pass 'to' to merge it from storage"
            )
        }
    }

    /// The query parameter `name` as an instant: like every timestamp, RFC 3339 or finite Unix
    /// seconds within 1970–9999 (no NaN, infinities or values whose milliseconds overflow).
    static func instant(_ query: Parameters, _ name: String) throws -> Int64? {
        guard let raw = query[Substring(name)].map(String.init) else { return nil }
        guard let ts = Timestamp.parseRFC3339(raw) ?? Double(raw).flatMap({ Timestamp.parse(.number($0)) }) else {
            throw APIError(.badRequest, "'\(name)' must be an RFC 3339 timestamp or Unix seconds between 1970 and 9999")
        }
        return ts
    }

    static func window(_ raw: String?, config: VigilConfig) throws -> TimeLength {
        let windows = config.windows
        guard let raw else {
            return windows.first(where: { $0.millis == 3_600_000 }) ?? windows.first
                ?? TimeLength(millis: 3_600_000, text: "1h")
        }
        if let configured = windows.first(where: { $0.text == raw }) { return configured }
        let longest = config.storage.aggregateRetention
        guard let interval = TimeLength.parse(raw), interval.millis >= 60_000, interval.millis <= longest.millis else {
            throw APIError(
                .badRequest,
                "window must be a duration from 1m to the aggregate retention (\(longest.text)), such as 5m, 1h or 24h"
            )
        }
        return interval
    }
}

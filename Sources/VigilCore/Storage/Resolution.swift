/// The resolution of a time bucket.
public enum Resolution: Int, Sendable, Hashable, CaseIterable {
    case minute = 1
    case hour = 2

    public var millis: Int64 { self == .minute ? 60_000 : 3_600_000 }

    func start(of t: Int64) -> Int64 { Self.floor(t, millis) }

    static func floor(_ t: Int64, _ width: Int64) -> Int64 {
        let r = t % width
        return r >= 0 ? t - r : t - r - width
    }
}

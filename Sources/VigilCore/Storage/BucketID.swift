/// One bucket's identity: series, resolution and start (ms since the epoch).
public struct BucketID: Sendable, Hashable {
    public var series: SeriesKey
    public var resolution: Resolution
    public var start: Int64

    public init(series: SeriesKey, resolution: Resolution, start: Int64) {
        self.series = series
        self.resolution = resolution
        self.start = start
    }
}

import Synchronization
import VigilStats

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

/// A committed event for the aggregates, in commit order.
public enum FoldEvent: Sendable {
    /// A newly stored prediction and its row id.
    case prediction(Prediction, rowID: Int64)
    /// A label joined to its prediction, folded with `folding`, replacing `replacing` (with the
    /// folding it was applied with), if any; and its journal number. Boxed (`indirect`) so the
    /// far more frequent prediction events stay small in the fold queue.
    indirect case label(
        Label, folding: LabelFolding, prediction: Prediction, replacing: (label: Label, folding: LabelFolding)?,
        seq: Int64)
}

/// A stored bucket read back for a late event.
public enum BucketLoad: Sendable {
    case found(BucketAggregate)
    /// Storage has no such bucket.
    case absent
    /// Storage could not be read: the bucket exists or not, nobody knows.
    case unavailable
}

/// What a flush writes: changed buckets, rolled-up minute buckets to delete, and the last
/// prediction row and label journal entry the aggregates include.
public struct FlushBatch: Sendable {
    public var upserts: [(id: BucketID, bytes: [UInt8], predictions: Int)]
    public var deletes: [BucketID]
    public var predictionWatermark: Int64
    public var labelWatermark: Int64
    public var isEmpty: Bool { upserts.isEmpty && deletes.isEmpty }
}

/// The in-memory time buckets of every series (DESIGN §1, §9).
///
/// Layout: events fold into one-minute buckets; once a whole hour is older than `fineHorizon`
/// its minute buckets roll up into one hour bucket (late events that old fold into the hour
/// directly). Memory holds every minute bucket (at most `fineHorizon` + 1 h of them per series)
/// and the hour buckets of the last `retainedSpan`; older buckets live only in storage and are
/// loaded back when a late label touches one. A window is the merge of the buckets starting in
/// [floor(now − w), now], at minute alignment for windows up to `fineHorizon` and hour alignment
/// beyond, so it spans at least w and at most w plus one bucket.
public final class AggregateBook: Sendable {
    public static let fineHorizon: Int64 = 2 * 3_600_000

    struct SeriesBuckets {
        var minutes: [Int64: BucketAggregate] = [:]
        var hours: [Int64: BucketAggregate] = [:]
    }

    struct State {
        var series: [SeriesKey: SeriesBuckets] = [:]
        var contexts: [String: FoldContext] = [:]
        var dirty: Set<BucketID> = []
        var rolled: [BucketID] = []
        var rolledBefore = Int64.min
        /// Hour buckets before this were evicted from memory (and may be in storage).
        var memoryFloor = Int64.min
        var predictionWatermark: Int64 = 0
        var labelWatermark: Int64 = 0
        /// Events that could not be folded because their stored bucket could not be read.
        var unfolded = 0
    }

    /// Hour buckets kept in memory: the longest window plus one bucket.
    public let retainedSpan: Int64
    private let state: Mutex<State>
    private let makeContext: @Sendable (String) -> FoldContext
    private let load: @Sendable (BucketID) -> BucketLoad

    /// - Parameters:
    ///   - longestWindow: the longest configured window, in ms.
    ///   - makeContext: a model's fold context, when the book has none yet.
    ///   - load: a bucket from storage (for late labels on evicted buckets).
    public init(
        longestWindow: Int64, makeContext: @escaping @Sendable (String) -> FoldContext,
        load: @escaping @Sendable (BucketID) -> BucketLoad = { _ in .absent }
    ) {
        retainedSpan = max(longestWindow, Self.fineHorizon) + Resolution.hour.millis
        self.state = Mutex(State())
        self.makeContext = makeContext
        self.load = load
    }

    // MARK: - Restoring

    /// Installs buckets and watermarks read from storage (at start-up).
    public func restore(
        _ buckets: [(BucketID, BucketAggregate)], predictionWatermark: Int64, labelWatermark: Int64, at now: Int64
    ) {
        state.withLock { s in
            for (id, bucket) in buckets {
                switch id.resolution {
                case .minute: s.series[id.series, default: SeriesBuckets()].minutes[id.start] = bucket
                case .hour: s.series[id.series, default: SeriesBuckets()].hours[id.start] = bucket
                }
            }
            s.predictionWatermark = predictionWatermark
            s.labelWatermark = labelWatermark
            s.memoryFloor = Resolution.floor(now - retainedSpan, Resolution.hour.millis)
            // Events replayed or arriving now for hours already rolled up go to their hour bucket.
            s.rolledBefore = Resolution.floor(now - Self.fineHorizon, Resolution.hour.millis)
        }
    }

    // MARK: - Contexts

    /// Replaces a model's fold context (new reference, schema or configuration).
    public func setContext(_ context: FoldContext, for model: String) {
        state.withLock { $0.contexts[model] = context }
    }

    // MARK: - Folding

    /// Folds committed events, in commit order. Events at or below the watermarks (already in
    /// the aggregates, as when replaying after a restart) are skipped.
    public func fold(_ events: [FoldEvent]) {
        state.withLock { s in
            for event in events {
                switch event {
                case .prediction(let p, let rowID):
                    guard rowID > s.predictionWatermark else { continue }
                    s.predictionWatermark = rowID
                    let context = context(p.model, &s)
                    update(bucket(for: p, &s), &s) { $0.fold(p, context: context) }
                case .label(let label, let folding, let p, let old, let seq):
                    guard seq > s.labelWatermark else { continue }
                    s.labelWatermark = seq
                    let context = context(p.model, &s)
                    update(bucket(for: p, &s), &s) {
                        $0.fold(label: label, folding: folding, of: p, replacing: old, context: context)
                    }
                }
            }
        }
    }

    private func context(_ model: String, _ s: inout State) -> FoldContext {
        if let c = s.contexts[model] { return c }
        let c = makeContext(model)
        s.contexts[model] = c
        return c
    }

    private func bucket(for p: Prediction, _ s: inout State) -> BucketID {
        let series = SeriesKey(model: p.model, version: p.version, variant: p.variant)
        let resolution: Resolution = p.timestamp < s.rolledBefore ? .hour : .minute
        return BucketID(series: series, resolution: resolution, start: resolution.start(of: p.timestamp))
    }

    private func update(_ id: BucketID, _ s: inout State, _ body: (inout BucketAggregate) -> Void) {
        switch id.resolution {
        case .minute:
            s.dirty.insert(id)
            body(&s.series[id.series, default: SeriesBuckets()].minutes[id.start, default: BucketAggregate()])
        case .hour:
            guard loadIfEvicted(id, &s) else {
                // The stored bucket could not be read: leave it as stored rather than overwrite
                // it with this event alone. The event itself stays in storage.
                s.unfolded += 1
                return
            }
            s.dirty.insert(id)
            body(&s.series[id.series, default: SeriesBuckets()].hours[id.start, default: BucketAggregate()])
        }
    }

    /// Brings an hour bucket older than the memory floor back from storage, if it is there, so
    /// folding into it adds to what was stored instead of replacing it. `false` when storage
    /// could not tell whether it has the bucket.
    private func loadIfEvicted(_ id: BucketID, _ s: inout State) -> Bool {
        guard s.series[id.series]?.hours[id.start] == nil, id.start < s.memoryFloor else { return true }
        switch load(id) {
        case .found(let stored): s.series[id.series, default: SeriesBuckets()].hours[id.start] = stored
        case .absent: break
        case .unavailable: return false
        }
        return true
    }

    /// Events left unfolded because their stored bucket could not be read (a gauge of trouble).
    public var unfoldedEvents: Int { state.withLock { $0.unfolded } }

    // MARK: - Maintenance

    /// Rolls minute buckets of hours older than `fineHorizon` into hour buckets and evicts hour
    /// buckets older than `retainedSpan` that storage already has.
    public func maintain(at now: Int64) {
        state.withLock { s in
            let boundary = Resolution.floor(now - Self.fineHorizon, Resolution.hour.millis)
            for key in Array(s.series.keys) {
                let old = s.series[key]!.minutes.filter { $0.key < boundary }
                for (start, bucket) in old {
                    let hour = Resolution.hour.start(of: start)
                    // An hour no longer in memory may be in storage: merge into it, not over it;
                    // while storage cannot be read, the minute bucket waits in memory.
                    guard loadIfEvicted(BucketID(series: key, resolution: .hour, start: hour), &s) else { continue }
                    s.series[key]!.hours[hour, default: BucketAggregate()].merge(bucket)
                    s.series[key]!.minutes[start] = nil
                    let minute = BucketID(series: key, resolution: .minute, start: start)
                    s.dirty.remove(minute)
                    s.rolled.append(minute)
                    s.dirty.insert(BucketID(series: key, resolution: .hour, start: hour))
                }
            }
            s.rolledBefore = max(s.rolledBefore, boundary)
            let floor = Resolution.floor(now - retainedSpan, Resolution.hour.millis)
            for key in Array(s.series.keys) {
                for start in s.series[key]!.hours.keys where start < floor {
                    if !s.dirty.contains(BucketID(series: key, resolution: .hour, start: start)) {
                        s.series[key]!.hours[start] = nil
                    }
                }
                if s.series[key]!.minutes.isEmpty && s.series[key]!.hours.isEmpty { s.series[key] = nil }
            }
            s.memoryFloor = max(s.memoryFloor, floor)
        }
    }

    /// Takes the changes since the last flush; `restore(failed:)` puts them back if the write fails.
    public func takeFlush() -> FlushBatch {
        state.withLock { s in
            var upserts: [(id: BucketID, bytes: [UInt8], predictions: Int)] = []
            for id in s.dirty {
                let bucket =
                    id.resolution == .minute
                    ? s.series[id.series]?.minutes[id.start] : s.series[id.series]?.hours[id.start]
                if let bucket { upserts.append((id, bucket.encoded(), bucket.predictions)) }
            }
            let batch = FlushBatch(
                upserts: upserts, deletes: s.rolled, predictionWatermark: s.predictionWatermark,
                labelWatermark: s.labelWatermark)
            s.dirty = []
            s.rolled = []
            return batch
        }
    }

    /// Marks a failed flush's buckets as changed again.
    public func restore(failed batch: FlushBatch) {
        state.withLock { s in
            for u in batch.upserts { s.dirty.insert(u.id) }
            s.rolled.append(contentsOf: batch.deletes)
        }
    }

    // MARK: - Windows

    /// The span a window of `width` covers at `now`.
    public static func span(width: Int64, at now: Int64) -> (from: Int64, to: Int64) {
        let alignment = width > fineHorizon ? Resolution.hour.millis : Resolution.minute.millis
        return (Resolution.floor(now - width, alignment), now)
    }

    /// The merge of the selected series' buckets over a window ending at `now`.
    public func window(_ selector: SeriesSelector, width: Int64, at now: Int64) -> BucketAggregate {
        let (from, to) = Self.span(width: width, at: now)
        // Copy out under the lock (copy-on-write values: retains, not copies), merge outside it
        // so folding never waits for a merge.
        let parts = state.withLock { s in
            var parts: [(key: SeriesKey, start: Int64, bucket: BucketAggregate)] = []
            for (key, buckets) in s.series where selector.matches(key) {
                for (start, bucket) in buckets.hours where start >= from && start <= to {
                    parts.append((key, start, bucket))
                }
                for (start, bucket) in buckets.minutes where start >= from && start <= to {
                    parts.append((key, start, bucket))
                }
            }
            return parts
        }
        // A fixed merge order keeps sketch merges (and float sums) reproducible: the same
        // buckets give the same document in every process.
        var merged = BucketAggregate()
        for part in parts.sorted(by: { ($0.key, $0.start) < ($1.key, $1.start) }) { merged.merge(part.bucket) }
        return merged
    }

    /// Every series with buckets in memory.
    public func seriesKeys() -> [SeriesKey] { state.withLock { Array($0.series.keys).sorted() } }
}

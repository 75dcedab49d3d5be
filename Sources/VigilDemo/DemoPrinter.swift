import Foundation
import Synchronization

/// The demo's narration on standard output: one line per event, stamped with the time since
/// the demo started, written whole and flushed at once (the output is often piped).
public final class DemoPrinter: Sendable {
    private let start: ContinuousClock.Instant
    private let lock = Mutex(())

    public init(start: ContinuousClock.Instant = .now) { self.start = start }

    /// Prints `text` as it is, with no time stamp (the URL banner).
    public func plain(_ text: String) {
        lock.withLock { _ in
            FileHandle.standardOutput.write(Data((text + "\n").utf8))
        }
    }

    /// Prints `text` after `[mm:ss]`, the time since the start.
    public func say(_ text: String) {
        let seconds = Int((ContinuousClock.now - start).components.seconds)
        plain(String(format: "[%02d:%02d] ", seconds / 60, seconds % 60) + text)
    }
}

import Foundation

/// Progress on standard error: a bar redrawn in place with rate and ETA on a terminal, a plain
/// line every 5 s (and at the end) otherwise.
struct ImportProgress {
    let total: Int?
    let terminal: Bool
    private let start = ContinuousClock.now
    private var lastDraw: ContinuousClock.Instant?
    private let startRows: Int

    init(total: Int?, startRows: Int, terminal: Bool = isatty(STDERR_FILENO) == 1) {
        self.total = total
        self.startRows = startRows
        self.terminal = terminal
    }

    mutating func update(rows: Int, final: Bool = false) {
        let now = ContinuousClock.now
        let interval: Duration = terminal ? .milliseconds(200) : .seconds(5)
        if !final, let lastDraw, now - lastDraw < interval { return }
        lastDraw = now
        let seconds = max(Double((now - start).components.seconds) + Double((now - start).components.attoseconds) * 1e-18, 1e-3)
        let rate = Double(rows - startRows) / seconds
        var text = "\(Self.grouped(rows))"
        if let total, total > 0 {
            let fraction = min(Double(rows) / Double(total), 1)
            text += "/≈\(Self.grouped(total)) rows \(String(format: "%3.0f%%", fraction * 100))"
            if terminal {
                let width = 30
                let filled = Int(fraction * Double(width))
                text = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] " + text
            }
            if rate > 0, !final { text += ", ETA \(Self.clock(Double(max(total - rows, 0)) / rate))" }
        } else {
            text += " rows"
        }
        text += ", \(Self.grouped(Int(rate))) rows/s"
        let line = terminal ? "\r\u{1B}[K" + text + (final ? "\n" : "") : text + "\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    static func grouped(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}

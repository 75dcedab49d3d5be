import Foundation
import Testing
import VigilCore

/// Debian's `chromium` in headless mode, run per page on loopback URLs: the rendered DOM, every
/// request the page made (from Chromium's network log), and screenshots. Chromium's own
/// background requests (updates, sign-in) are not the page's: a request is the page's when its
/// network isolation key is the page's site.
enum HeadlessBrowser {
    static var isInstalled: Bool { ExternalTool.path("chromium") != nil }

    static let flags = [
        "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-default-apps",
        "--disable-domain-reliability", "--disable-features=Translate,OptimizationHints,MediaRouter",
    ]

    struct Page {
        var dom: String
        /// URLs the page requested (documents, styles, scripts, images, fetches).
        var requests: [String]
    }

    /// Loads `url`, runs its scripts and returns the DOM and the page's requests.
    static func load(_ url: String, directory: TemporaryDirectory) async throws -> Page {
        let netLog = directory.path("net-\(UUID().uuidString).json")
        let (status, dom) = try await run(["--window-size=1280,1000", "--log-net-log=\(netLog)", "--dump-dom", url], directory: directory)
        #expect(status == 0, "chromium exited with \(status)")
        let log = try JSONParser.parse(try String(contentsOfFile: netLog, encoding: .utf8))
        return Page(dom: dom, requests: pageRequests(log, site: site(of: url)))
    }

    /// Writes a PNG of `url` to `path`.
    static func screenshot(_ url: String, to path: String, height: Int, directory: TemporaryDirectory) async throws {
        let (status, output) = try await run(
            ["--screenshot=\(path)", "--window-size=1280,\(height)", url], directory: directory)
        #expect(status == 0, "chromium --screenshot exited with \(status): \(output.suffix(500))")
    }

    /// `http://127.0.0.1:PORT/…` → `http://127.0.0.1` (a site, as network isolation keys name it).
    static func site(of url: String) -> String {
        let rest = url.drop(while: { $0 != "/" }).dropFirst(2)
        let host = rest.prefix { $0 != ":" && $0 != "/" }
        return "http://\(host)"
    }

    /// The URLs of `URL_REQUEST_START_JOB` events whose network isolation key is `site`'s.
    static func pageRequests(_ log: JSONValue, site: String) -> [String] {
        guard let type = log["constants"]?["logEventTypes"]?["URL_REQUEST_START_JOB"]?.numberValue else { return [] }
        var out: [String] = []
        for event in log["events"]?.array ?? [] where event["type"]?.numberValue == type {
            guard let params = event["params"], let url = params["url"]?.stringValue,
                let key = params["network_isolation_key"]?.stringValue
            else { continue }
            if key.split(separator: " ").contains(where: { $0 == site }) { out.append(url) }
        }
        return out
    }

    private static func run(_ arguments: [String], directory: TemporaryDirectory) async throws -> (Int32, String) {
        let outputPath = directory.path("chromium-\(UUID().uuidString).out")
        FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        defer { try? output.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ExternalTool.path("chromium") ?? "/usr/bin/chromium")
        // A profile of its own per run, inside the test's directory.
        process.arguments = flags + ["--user-data-dir=\(directory.path("profile-\(UUID().uuidString)"))"] + arguments
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.environment = ProcessInfo.processInfo.environment.merging(["HOME": directory.url.path]) { _, b in b }
        try process.run()
        let status = await process.exitStatus(within: 90)
        return (status, (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "")
    }
}

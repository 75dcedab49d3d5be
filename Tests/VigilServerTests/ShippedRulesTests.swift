import Foundation
import Testing
import Yams

/// `alerts/`: promtool validates and unit-tests the shipped rules; every rule carries severity,
/// summary, description and a runbook_url whose anchor exists in `docs/runbook.md`.
@Suite struct ShippedRulesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func files(_ directory: String, suffix: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(directory).path)
            .filter { $0.hasSuffix(suffix) }.sorted().map { "\(directory)/\($0)" }
    }

    @Test(
        .enabled(if: Promtool.shouldRun, "promtool is not installed: apt-get install prometheus (CI always runs this)"))
    func promtoolChecksAndTestsTheRules() throws {
        let rules = try Self.files("alerts", suffix: ".rules.yml")
        #expect(!rules.isEmpty)
        let (checkStatus, checkOutput) = try Promtool.run(["check", "rules"] + rules, in: Self.root)
        #expect(checkStatus == 0, "promtool check rules: \(checkOutput)")
        let tests = try Self.files("alerts/tests", suffix: ".yml")
        #expect(!tests.isEmpty)
        let (testStatus, testOutput) = try Promtool.run(["test", "rules"] + tests, in: Self.root)
        #expect(testStatus == 0, "promtool test rules: \(testOutput)")
    }

    @Test func everyRuleIsDocumentedAndTested() throws {
        let runbook = try String(contentsOf: Self.root.appendingPathComponent("docs/runbook.md"), encoding: .utf8)
        let anchors = Set(
            runbook.split(separator: "\n").filter { $0.hasPrefix("## ") }.map {
                $0.dropFirst(3).lowercased().filter { $0.isLetter || $0.isNumber }
            })
        var tested = ""
        for file in try Self.files("alerts/tests", suffix: ".yml") {
            tested += try String(contentsOf: Self.root.appendingPathComponent(file), encoding: .utf8)
        }
        for file in try Self.files("alerts", suffix: ".rules.yml") {
            let text = try String(contentsOf: Self.root.appendingPathComponent(file), encoding: .utf8)
            let document = try #require(try Yams.load(yaml: text) as? [String: Any])
            for group in document["groups"] as? [[String: Any]] ?? [] {
                for rule in group["rules"] as? [[String: Any]] ?? [] {
                    let name = try #require(rule["alert"] as? String)
                    #expect(name.hasPrefix("Vigil"), "\(name): alert names are Vigil<Subject><Condition>")
                    #expect(rule["for"] != nil, "\(name) has no for")
                    let labels = rule["labels"] as? [String: Any] ?? [:]
                    #expect(
                        ["critical", "warning", "info"].contains(labels["severity"] as? String ?? ""),
                        "\(name) severity")
                    let annotations = rule["annotations"] as? [String: Any] ?? [:]
                    for key in ["summary", "description", "runbook_url"] {
                        #expect(annotations[key] is String, "\(name) has no \(key)")
                    }
                    let anchor = (annotations["runbook_url"] as? String ?? "").split(separator: "#").last.map(
                        String.init)
                    #expect(
                        anchor == name.lowercased() && anchors.contains(name.lowercased()), "\(name): runbook anchor")
                    #expect(tested.contains("alertname: \(name)\n"), "\(name) has no promtool test")
                }
            }
        }
    }
}

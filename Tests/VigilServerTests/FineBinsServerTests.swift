import Foundation
import NIOHTTP1
import Testing
import VigilCore
import VigilServer
import VigilStats

/// `drift: {fine_bins: true}` on the real binary: a model that opts in reports KS over the
/// reference's fine bins (D within 0.002 of the exact D, a bound of about 0.001) for a window too
/// large for its sketch; a model that does not keeps the sketch's bound.
@Suite struct FineBinsServerTests {
    static func items(_ model: String, prefix: String, _ values: [Double], at t: Double) -> String {
        values.enumerated().map { i, x in
            #"{"id": "\#(prefix)\#(i)", "model": "\#(model)", "timestamp": \#(t + Double(i) / 100), "features": {"amount": \#(x)}, "prediction": "ok", "confidence": 0.9}"#
        }.joined(separator: "\n") + "\n"
    }

    @Test func theSettingIsParsedAndChecked() throws {
        let config = try ConfigLoader.parse(
            yaml: "models:\n  a: {task: binary, drift: {fine_bins: true}}\n  b: {task: binary}\n")
        #expect(config.model("a").driftFineBins && !config.model("b").driftFineBins)
        #expect(throws: (any Error).self) { try ConfigLoader.parse(yaml: "models: {a: {drift: {fine_bins: maybe}}}\n") }
    }

    @Test func aModelThatOptsInGetsFineBinKS() async throws {
        let directory = try TemporaryDirectory()
        let configPath = directory.path("vigil.yaml")
        try """
        models:
          fine: {task: binary, positive_class: fraud, drift: {fine_bins: true}}
          coarse: {task: binary, positive_class: fraud}
        """.write(toFile: configPath, atomically: true, encoding: .utf8)
        let vigil = try await VigilProcess.serve(
            db: directory.path("vigil.db"), logPath: directory.path("vigil.log"), extra: ["--config", configPath])
        let base = "http://127.0.0.1:\(vigil.port)"
        var random = SplitMix64(state: 13)
        let reference = (0..<3_000).map { _ in (Double.random(in: 0..<100, using: &random) * 100).rounded() / 100 }
        let current = (0..<6_000).map { _ in (Double.random(in: 3..<103, using: &random) * 100).rounded() / 100 }
        let now = Date().timeIntervalSince1970 - 600
        for model in ["fine", "coarse"] {
            let put = try await HTTP.request(
                .PUT, "\(base)/v1/models/\(model)/reference", body: Self.items(model, prefix: "r", reference, at: now - 3_600),
                contentType: "application/x-ndjson")
            #expect(put.status == 200, "\(put.body)")
            for chunk in stride(from: 0, to: current.count, by: 2_000) {
                let body = Self.items(model, prefix: "p\(chunk)-", Array(current[chunk..<(chunk + 2_000)]), at: now + Double(chunk) / 100)
                #expect(try await HTTP.post("\(base)/v1/predictions", body, contentType: "application/x-ndjson").status == 200)
            }
        }
        let exact = try #require(KolmogorovSmirnov.test(reference, current))
        func ks(_ model: String) async throws -> (statistic: Double, bound: Double, p: Double)? {
            let doc = try JSONParser.parse(try await HTTP.get("\(base)/v1/models/\(model)/metrics?window=59m").body)
            guard doc["counts"]?["predictions"]?.numberValue == Double(current.count),
                let ks = doc["drift"]?["features"]?["amount"]?["ks"], let d = ks["statistic"]?.numberValue,
                let bound = ks["bound"]?.numberValue, let p = ks["p_value"]?.numberValue
            else { return nil }
            return (d, bound, p)
        }
        try await HTTP.eventually(.seconds(30), "both windows folded") {
            let a = try await ks("fine")
            let b = try await ks("coarse")
            return a != nil && b != nil
        }
        let fineKS = try await ks("fine")
        let coarseKS = try await ks("coarse")
        let fine = try #require(fineKS)
        let coarse = try #require(coarseKS)
        #expect(abs(fine.statistic - exact.statistic) <= 0.002, "\(fine.statistic) vs \(exact.statistic)")
        #expect(fine.statistic <= exact.statistic + 1e-12 && exact.statistic <= fine.statistic + fine.bound + 1e-12)
        #expect(fine.bound < 0.003)
        #expect((fine.p < 0.05) == (exact.pValue < 0.05))
        #expect(coarse.bound >= 0.01, "the model without fine bins keeps the sketch's bound (\(coarse.bound))")
        #expect(await vigil.terminate() == 0)
    }
}

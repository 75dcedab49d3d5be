import Foundation
import Testing
import VigilCore
import VigilStats

/// DESIGN §9 on real `vigil` processes sharing one PostgreSQL of the tests' private cluster:
/// traffic split across replicas with labels sent to another replica than their prediction,
/// the same documents on every replica and in one SQLite process given the same events; a
/// replica killed mid-ingest loses nothing it acknowledged; PostgreSQL restarted under load.
@Suite(.serialized, .enabled(if: PostgresCluster.shouldRun)) struct ReplicaTests {
    static let config = """
        evaluation_interval: 1s
        storage: {postgres: {url_env: VIGIL_DATABASE_URL, replica_id_env: VIGIL_REPLICA, pool_size: 2}}
        models:
          fraud:
            positive_class: fraud
            segments: [region]
        """

    /// A replica on `url` named `name`.
    static func replica(_ name: String, url: String, directory: TemporaryDirectory, config: String = config)
        async throws -> VigilProcess
    {
        let path = directory.path("vigil-\(name).yaml")
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        let vigil = try VigilProcess(
            arguments: ["serve", "--config", path, "--port", "0"], logPath: directory.path("\(name).log"),
            environment: ["VIGIL_DATABASE_URL": url, "VIGIL_REPLICA": name])
        try await vigil.waitUntilListening()
        return vigil
    }

    /// One SQLite process with the same configuration less the storage line.
    static func single(directory: TemporaryDirectory) async throws -> VigilProcess {
        let yaml = config.split(separator: "\n").filter { !$0.hasPrefix("storage:") }.joined(separator: "\n")
        let path = directory.path("single.yaml")
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let vigil = try VigilProcess(
            arguments: ["serve", "--config", path, "--db", directory.path("single.db"), "--port", "0"],
            logPath: directory.path("single.log"))
        try await vigil.waitUntilListening()
        return vigil
    }

    static func prediction(_ i: Int, at now: Double) -> JSONValue {
        var random = SplitMix64(state: UInt64(i + 1))
        let amount = Double.random(in: 0..<1, using: &random) * 100 + (i % 3 == 0 ? 40 : 0)
        return .object([
            ("id", .string("p\(i)")), ("model", .string("fraud")), ("timestamp", .number(now - Double(i % 600))),
            ("prediction", .string(i % 3 == 0 ? "fraud" : "ok")), ("confidence", .number(0.5 + Double.random(in: 0..<1, using: &random) / 2)),
            ("features", .object([("amount", .number(amount)), ("country", .string(["FR", "DE", "US"][i % 3]))])),
            ("segments", .object([("region", .string(i % 2 == 0 ? "eu" : "us"))])),
        ])
    }

    static func label(_ i: Int, _ value: String) -> JSONValue {
        .object([("id", .string("p\(i)")), ("model", .string("fraud")), ("label", .string(value))])
    }

    static func post(_ vigil: VigilProcess, _ path: String, _ items: [JSONValue]) async throws {
        let answer = try await HTTP.post("http://127.0.0.1:\(vigil.port)\(path)", JSONWriter.string(.array(items)))
        #expect(answer.status == 200, "\(path): \(answer.body)")
    }

    /// A window's document with the instants that differ between processes (its bounds, the
    /// reference's upload time) taken out.
    static func document(_ vigil: VigilProcess, _ query: String = "window=1h") async throws -> JSONValue {
        let answer = try await HTTP.get("http://127.0.0.1:\(vigil.port)/v1/models/fraud/metrics?\(query)")
        guard answer.status == 200 else { return .string("status \(answer.status): \(answer.body)") }
        return strip(try JSONParser.parse(answer.body))
    }

    static func strip(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(var object):
            object.members.removeAll { ["from", "to", "created_at"].contains($0.key) }
            object.members = object.members.map { JSONMember(key: $0.key, value: strip($0.value)) }
            return .object(object)
        case .array(let items): return .array(items.map(strip))
        default: return value
        }
    }

    /// Where two documents disagree beyond the statistics' tolerances (README, exactness): the
    /// KS statistic and Wasserstein distance merged from per-replica sketches are within the
    /// sketches' error of one stream's (D within 2ε = 0.033; W within the sum of the two
    /// documents' `wasserstein_bound`s, each value being within its bound of the exact distance,
    /// or 15% where no bound is stated; p-values following D); every other number equal to 1e-9
    /// relative (float sums in another order); all else equal.
    static func differences(
        _ x: JSONValue, _ y: JSONValue, path: String = "", key: String = "", bound: Double? = nil
    ) -> [String] {
        switch (x, y) {
        case (.object(let a), .object(let b)):
            let keysA = a.members.map(\.key)
            guard keysA == b.members.map(\.key) else { return ["\(path): keys \(keysA) vs \(b.members.map(\.key))"] }
            let bounds = [x, y].compactMap { $0["wasserstein_bound"]?.numberValue }
            return zip(a.members, b.members).flatMap {
                differences(
                    $0.value, $1.value, path: path + "." + $0.key, key: $0.key,
                    bound: $0.key == "wasserstein" && bounds.count == 2 ? bounds[0] + bounds[1] : nil)
            }
        case (.array(let a), .array(let b)):
            guard a.count == b.count else { return ["\(path): \(a.count) vs \(b.count) items"] }
            return zip(a, b).enumerated().flatMap { differences($1.0, $1.1, path: path + "[\($0)]", key: key) }
        case (.number(let a), .number(let b)):
            let tolerance: Double
            switch key {
            case "statistic": tolerance = 0.033
            case "p_value", "p_value_interval", "p_value_adjusted": tolerance = 0.15
            case "wasserstein": tolerance = bound ?? 0.15 * max(abs(a), abs(b))
            case "wasserstein_bound": tolerance = 0.15 * max(abs(a), abs(b))
            default: tolerance = max(1e-12, 1e-9 * max(abs(a), abs(b)))
            }
            return abs(a - b) <= tolerance ? [] : ["\(path): \(a) vs \(b)"]
        default:
            return x == y ? [] : ["\(path): \(JSONWriter.string(x)) vs \(JSONWriter.string(y))"]
        }
    }

    @Test func labelsAtAnotherReplicaGiveTheSameDocumentsEverywhere() async throws {
        let url = try PostgresCluster.shared().createDatabase()
        let directory = try TemporaryDirectory()
        let a = try await Self.replica("a", url: url, directory: directory)
        let b = try await Self.replica("b", url: url, directory: directory)
        let single = try await Self.single(directory: directory)
        let now = Date().timeIntervalSince1970
        // One reference, uploaded to one replica (the other installs it from the database).
        let reference = (0..<300).map { Self.prediction(10_000 + $0, at: now - 7_200) }
        for target in [a, single] {
            let answer = try await HTTP.request(
                .PUT, "http://127.0.0.1:\(target.port)/v1/models/fraud/reference", body: JSONWriter.string(.array(reference)))
            #expect(answer.status == 200, "\(answer.body)")
        }
        try await HTTP.eventually(.seconds(20), "replica b installs the reference") {
            ((try? String(contentsOfFile: directory.path("b.log"), encoding: .utf8)) ?? "").contains(
                "reference installed from another replica")
        }
        // Predictions split across the replicas in batches; each label goes to the other one.
        let n = 600
        for start in stride(from: 0, to: n, by: 50) {
            let batch = (start..<start + 50).map { Self.prediction($0, at: now) }
            try await Self.post(start / 50 % 2 == 0 ? a : b, "/v1/predictions", batch)
            try await Self.post(single, "/v1/predictions", batch)
        }
        for start in stride(from: 0, to: n, by: 50) {
            let labels = (start..<start + 50).filter { $0 % 4 != 3 }.map { Self.label($0, $0 % 5 == 0 ? "fraud" : "ok") }
            try await Self.post(start / 50 % 2 == 0 ? b : a, "/v1/labels", labels)
            try await Self.post(single, "/v1/labels", labels)
        }
        // Corrections, half at each replica, some of rows the other replica labelled.
        let corrections = (0..<n).filter { $0 % 10 == 0 }.map { Self.label($0, "ok") }
        try await Self.post(a, "/v1/labels", Array(corrections.prefix(30)))
        try await Self.post(b, "/v1/labels", Array(corrections.dropFirst(30)))
        try await Self.post(single, "/v1/labels", corrections)
        // Labels before their predictions, held at one replica, joined by the other.
        try await Self.post(a, "/v1/labels", (n..<n + 20).map { Self.label($0, "fraud") })
        try await Self.post(single, "/v1/labels", (n..<n + 20).map { Self.label($0, "fraud") })
        let late = (n..<n + 20).map { Self.prediction($0, at: now) }
        try await Self.post(b, "/v1/predictions", late)
        try await Self.post(single, "/v1/predictions", late)
        // After a few quiet evaluations every replica has merged everyone's flushed partials.
        var last: [JSONValue] = []
        do {
            try await HTTP.eventually(.seconds(30), "the same document on both replicas") {
                last = [try await Self.document(a), try await Self.document(b), try await Self.document(single)]
                return last[0] == last[1] && last[0]["counts"]?["predictions"]?.int == n + 20
                    && last[2]["counts"]?["predictions"]?.int == n + 20
            }
        } catch {
            Issue.record("replicas differ: \(Self.differences(last[0], last[1]).prefix(20))")
            throw error
        }
        // Replicas agree exactly; with one SQLite process, to the statistics' tolerances.
        #expect(Self.differences(last[0], last[2]).isEmpty, "replica vs single: \(Self.differences(last[0], last[2]))")
        #expect(last[0]["counts"]?["labeled"]?.int == 470)
        // Each process evaluates on its own second, so a short window's bucket boundary can
        // pass between two reads (the 5m window drops a minute's events at once): compare
        // snapshots until one set is read within the same bucket.
        for query in ["window=5m", "window=24h", "window=1h&version=default"] {
            var mismatch: [String] = []
            do {
                try await HTTP.eventually(.seconds(15), "\(query) agrees") {
                    let docs = [try await Self.document(a, query), try await Self.document(b, query), try await Self.document(single, query)]
                    mismatch = Self.differences(docs[0], docs[1]).map { "replicas: " + $0 }
                        + Self.differences(docs[0], docs[2]).map { "replica vs single: " + $0 }
                    return mismatch.isEmpty
                }
            } catch {
                Issue.record("\(query): \(mismatch)")
            }
        }
        // One leader.
        let leaders = try await [a, b].asyncMap { vigil in
            try JSONParser.parse(try await HTTP.get("http://127.0.0.1:\(vigil.port)/readyz").body)["leader"] == .bool(true)
        }
        #expect(leaders.filter { $0 }.count == 1)
        _ = await a.terminate()
        _ = await b.terminate()
        _ = await single.terminate()
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for element in self { out.append(try await transform(element)) }
        return out
    }
}

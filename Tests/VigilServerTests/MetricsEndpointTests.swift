import HTTPTypes
import HummingbirdTesting
import Testing

@testable import VigilServer

@Suite struct MetricsEndpointTests {
    @Test func exportsTheServiceFamilies() async throws {
        try await withApp { client in
            _ = try await client.send(
                .post, "/v1/predictions",
                #"[{"id": "a", "model": "fraud", "version": "v7", "prediction": 1}, {"id": "b", "model": "fraud", "prediction": 1, "confidence": 7}]"#
            )
            _ = try await client.send(.post, "/v1/labels", #"[{"id": "a", "model": "fraud", "label": 0}]"#)
            let (status, _, text) = try await client.send(.get, "/metrics")
            #expect(status == .ok)
            #expect(text.contains(#"vigil_predictions_total{model="fraud",version="v7"} 1"#))
            #expect(text.contains(#"vigil_labels_total{model="fraud"} 1"#))
            #expect(text.contains(#"vigil_ingest_rejected_total{kind="prediction",reason="invalid_confidence"} 1"#))
            #expect(text.contains("vigil_http_request_duration_seconds_bucket{"))
            #expect(text.contains(#"route="/v1/predictions""#))
        }
    }

    @Test(
        .enabled(if: Promtool.shouldRun, "promtool is not installed: apt-get install prometheus (CI always runs this)"))
    func passesPromtoolCheckMetrics() async throws {
        try await withApp { client in
            _ = try await client.send(
                .post, "/v1/predictions",
                #"[{"id": "a", "model": "fraud", "prediction": 1, "segments": {"r": "eu"}}, {"id": 3}]"#)
            _ = try await client.send(.post, "/v1/labels", #"[{"id": "zz", "model": "other", "label": 1}]"#)
            _ = try await client.send(.get, "/v1/models")
            let (_, _, text) = try await client.send(.get, "/metrics")
            let (status, output) = try Promtool.checkMetrics(text)
            #expect(status == 0, "promtool check metrics failed: \(output)")
            #expect(output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "promtool lint: \(output)")
        }
    }
}

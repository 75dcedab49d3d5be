/// The configuration `vigil demo` serves with: short windows and a 2 s evaluation interval so
/// that every fault is caught within a minute of its start, one alert rule per scenario, alerts
/// to the demo's webhook printer and the canary rollback to its flag service.
public enum DemoConfig {
    /// The YAML text for a database at `database`, Vigil on `port`, and the demo's receiver
    /// (webhook printer and flag service) on `receiverPort`.
    public static func yaml(database: String, port: Int, receiverPort: Int) -> String {
        let receiver = "http://127.0.0.1:\(receiverPort)"
        return """
            server: {host: 127.0.0.1, port: \(port)}
            storage: {sqlite: '\(database.replacingOccurrences(of: "'", with: "''"))'}
            windows: [1m, 1h]
            evaluation_interval: 2s
            models:
              fraud:
                task: binary
                positive_class: fraud
                features: {amount: numeric, country: categorical, account_age_days: numeric}
                segments: [region]
                reference: {first: 1000}
                release:
                  min_samples: 200
                  sequential_tuning: 1000     # about a minute of canary traffic
                  guardrails:
                    - {metric: quality_precision, direction: higher_is_better, margin: 0.02}
                    - {metric: quality_recall, direction: higher_is_better, margin: 0.02}
                  watch: [{baseline: "variant:control", candidate: "variant:canary", window: 1h}]
              assistant:
                task: generative
                segments: [plan]
                reference: {first: 200}
            alerts:
              - {name: FraudFeatureDrift, model: fraud, metric: feature_drift_psi, op: ">", threshold: 0.2,
                 window: 1m, min_samples: 300, severity: warning, notify: [printer],
                 summary: "{{ $labels.feature }} drifted: PSI {{ $value }} over {{ $window }}"}
              - {name: FraudSegmentPrecisionLow, model: fraud, metric: segment_precision, segment: region,
                 op: "<", threshold: 0.6, window: 1m, min_samples: 1500, for: 6s, severity: warning, notify: [printer],
                 summary: "precision for region {{ $labels.group }} is {{ $value }} (threshold {{ $threshold }})"}
              - {name: FraudCanaryRollback, model: fraud, compare: {baseline: "variant:control", candidate: "variant:canary"},
                 verdict: rollback, window: 1m, severity: critical, notify: [printer, flag_off],
                 summary: "the canary is significantly worse than control: roll it back"}
              - {name: AssistantHallucinationRate, model: assistant, metric: metric_value, source: label,
                 metric_name: hallucination, stat: mean, op: ">", threshold: 0.1, window: 1m, min_samples: 200,
                 severity: critical, notify: [printer],
                 summary: "hallucination rate {{ $value }} over {{ $window }} (threshold {{ $threshold }})"}
              - {name: AssistantLatencyHigh, model: assistant, metric: metric_value, source: prediction,
                 metric_name: latency_ms, stat: p95, op: ">", threshold: 4000, window: 1m, min_samples: 200,
                 severity: warning, notify: [printer],
                 summary: "p95 latency {{ $value }} ms over {{ $window }}"}
            notifiers:
              printer: {type: webhook, url: "\(receiver)/alerts", send_resolved: true}
              flag_off: {type: http, method: POST, url: "\(receiver)/flags/{{ $labels.model }}-canary/off",
                         body: '{"reason": "{{ $annotations.summary }}"}'}

            """
    }
}

#!/usr/bin/env python3
"""Writes the Grafana dashboards in dashboards/ (schemaVersion 39). Edit here, re-run, commit
both: python3 tools/dashboards/generate.py. Every query names only DESIGN §6 families (and the
documented additions), and VigilServerTests/DashboardQueryTests runs each one on a real
Prometheus scraping Vigil."""
import json
import os
import re

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "dashboards")
# The window gauge families, written from Vigil's one catalog (WindowGauges; a test keeps the
# file equal to it), and the process families of MetricsCatalog.
with open(os.path.join(os.path.dirname(__file__), "families.json")) as f:
    FAMILIES = {family["name"] for family in json.load(f)}
FAMILIES |= {"vigil_predictions_total", "vigil_labels_total", "vigil_ingest_rejected_total",
             "vigil_ingest_duplicates_total", "vigil_labels_pending", "vigil_http_request_duration_seconds_bucket",
             "vigil_webhook_deliveries_total"}
DS = {"type": "prometheus", "uid": "${datasource}"}


def variables(model_multi):
    return {"list": [
        {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus", "hide": 0},
        {"name": "model", "label": "Model", "type": "query", "datasource": DS,
         "query": {"query": "label_values(vigil_window_predictions, model)", "refId": "model"},
         "definition": "label_values(vigil_window_predictions, model)", "refresh": 2, "sort": 1,
         "multi": model_multi, "includeAll": model_multi, **({"allValue": ".+"} if model_multi else {})},
        {"name": "version", "label": "Version", "type": "query", "datasource": DS,
         "query": {"query": 'label_values(vigil_window_predictions{model=~"$model"}, version)', "refId": "version"},
         "definition": 'label_values(vigil_window_predictions{model=~"$model"}, version)', "refresh": 2, "sort": 1,
         "multi": True, "includeAll": True, "allValue": ".+"},
        {"name": "window", "label": "Window", "type": "custom", "query": "5m,1h,24h",
         "current": {"text": "1h", "value": "1h"},
         "options": [{"text": w, "value": w, "selected": w == "1h"} for w in ["5m", "1h", "24h"]]},
    ]}


class Board:
    def __init__(self, uid, title, description, model_multi=True):
        self.uid, self.title, self.description, self.model_multi = uid, title, description, model_multi
        self.panels, self.y, self.x, self.row_h = [], 0, 0, 0

    def row(self, title):
        self.newline()
        self.panels.append({"id": len(self.panels) + 1, "type": "row", "title": title, "collapsed": False,
                            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y}, "panels": []})
        self.y += 1

    def newline(self):
        if self.x:
            self.y += self.row_h
            self.x, self.row_h = 0, 0

    def panel(self, title, targets, kind="timeseries", w=12, h=8, unit=None, description=None, minmax=None):
        if self.x + w > 24:
            self.newline()
        defaults = {}
        if unit:
            defaults["unit"] = unit
        if minmax:
            defaults["min"], defaults["max"] = minmax
        for expr, _ in targets:
            for name in re.findall(r"vigil_[a-z0-9_]+", expr):
                if name not in FAMILIES:
                    raise SystemExit(f"{self.uid} / {title}: {name} is not a catalog family")
        p = {"id": len(self.panels) + 1, "type": kind, "title": title, "datasource": DS,
             "gridPos": {"h": h, "w": w, "x": self.x, "y": self.y},
             "targets": [{"refId": chr(65 + i), "datasource": DS, "expr": e, "legendFormat": l}
                         for i, (e, l) in enumerate(targets)],
             "fieldConfig": {"defaults": defaults, "overrides": []}, "options": {}}
        if description:
            p["description"] = description
        if kind == "table":
            for t in p["targets"]:
                t["instant"], t["format"] = True, "table"
        self.panels.append(p)
        self.x += w
        self.row_h = max(self.row_h, h)

    def write(self):
        doc = {"uid": self.uid, "title": self.title, "description": self.description, "tags": ["vigil"],
               "schemaVersion": 39, "version": 1, "editable": True, "graphTooltip": 1, "refresh": "30s",
               "time": {"from": "now-6h", "to": "now"}, "timezone": "", "templating": variables(self.model_multi),
               "annotations": {"list": []}, "links": [], "panels": self.panels}
        with open(os.path.join(OUT, self.uid + ".json"), "w") as f:
            json.dump(doc, f, indent=2, ensure_ascii=False)
            f.write("\n")


SEL = 'model=~"$model",version=~"$version",window="$window"'


def overview():
    b = Board("vigil-overview", "Vigil — overview", "Every model at a glance: traffic, labels, drift, quality, alerts.")
    b.row("Traffic and labels")
    b.panel("Predictions per second", [('sum by (model) (rate(vigil_predictions_total{model=~"$model"}[$__rate_interval]))', "{{model}}")], unit="reqps", w=8)
    b.panel("Predictions in window", [(f'sum by (model) (vigil_window_predictions{{{SEL}}})', "{{model}}")], w=8)
    b.panel("Label coverage", [(f'vigil_label_coverage_ratio{{{SEL}}}', "{{model}} {{version}}")], unit="percentunit", w=8, minmax=(0, 1))
    b.row("Drift and quality")
    b.panel("Share of features drifted", [(f'vigil_feature_drifted_share{{{SEL}}}', "{{model}} {{version}}")], unit="percentunit", w=8, minmax=(0, 1))
    b.panel("Prediction drift (PSI)", [(f'vigil_prediction_drift_psi{{{SEL}}}', "{{model}} {{version}}")], w=8)
    b.panel("Worst feature PSI", [(f'max by (model, version) (vigil_feature_drift_psi{{{SEL}}})', "{{model}} {{version}}")], w=8)
    b.panel("Precision: realized vs estimated", [
        (f'vigil_quality_precision{{{SEL}}}', "realized {{model}} {{version}}"),
        (f'vigil_estimated_precision{{{SEL}}}', "estimated {{model}} {{version}}")], unit="percentunit", w=12, minmax=(0, 1))
    b.panel("Accuracy: realized vs estimated", [
        (f'vigil_quality_accuracy{{{SEL}}}', "realized {{model}} {{version}}"),
        (f'vigil_estimated_accuracy{{{SEL}}}', "estimated {{model}} {{version}}")], unit="percentunit", w=12, minmax=(0, 1))
    b.row("Alerts")
    b.panel("Alerts firing in Vigil", [('sum by (alertname, severity) (vigil_alerts_firing)', "{{alertname}} ({{severity}})")], w=12)
    b.panel("Largest fairness gap (equalized odds)", [(f'max by (model, version) (vigil_fairness_equalized_odds_difference{{{SEL}}})', "{{model}} {{version}}")], w=12)
    b.write()


def model():
    b = Board("vigil-model", "Vigil — model", "One model: drift per feature, realized vs estimated quality, fairness by segment, data quality.", model_multi=False)
    b.row("Drift")
    b.panel("Feature drift (PSI)", [(f'vigil_feature_drift_psi{{{SEL}}}', "{{feature}} {{version}}")], w=12,
            description="Population stability index against the reference's decile bins; 0.2 is the default drift threshold.")
    b.panel("Feature drift (Jensen–Shannon distance)", [(f'vigil_feature_drift_js_distance{{{SEL}}}', "{{feature}} {{version}}")], w=12)
    b.panel("KS statistic", [(f'vigil_feature_drift_ks_statistic{{{SEL}}}', "{{feature}} {{version}}")], w=8)
    b.panel("Adjusted p-value (BH)", [(f'vigil_feature_drift_pvalue{{{SEL}}}', "{{feature}} {{version}}")], w=8)
    b.panel("Drifted features", [(f'vigil_feature_drifted{{{SEL}}} == 1', "{{feature}} {{version}}")], kind="table", w=8)
    b.panel("Prediction and confidence drift (PSI)", [
        (f'vigil_prediction_drift_psi{{{SEL}}}', "prediction {{version}}"),
        (f'vigil_confidence_drift_psi{{{SEL}}}', "confidence {{version}}")], w=24)
    b.row("Quality")
    for metric, realized, estimated in [("Precision", "vigil_quality_precision", "vigil_estimated_precision"),
                                        ("Recall", "vigil_quality_recall", "vigil_estimated_recall"),
                                        ("Accuracy", "vigil_quality_accuracy", "vigil_estimated_accuracy")]:
        b.panel(f"{metric}: realized vs estimated", [(f'{realized}{{{SEL}}}', "realized {{version}}"),
                                                     (f'{estimated}{{{SEL}}}', "estimated {{version}}")],
                unit="percentunit", w=8, minmax=(0, 1))
    b.panel("F1", [(f'vigil_quality_f1{{{SEL}}}', "{{version}}")], unit="percentunit", w=8, minmax=(0, 1))
    b.panel("Calibration (ECE, Brier)", [(f'vigil_calibration_ece{{{SEL}}}', "ECE {{version}}"),
                                         (f'vigil_calibration_brier{{{SEL}}}', "Brier {{version}}")], w=8)
    b.panel("Label coverage", [(f'vigil_label_coverage_ratio{{{SEL}}}', "{{version}}")], unit="percentunit", w=8, minmax=(0, 1))
    b.row("Fairness")
    b.panel("Fairness gaps by segment", [
        (f'vigil_fairness_demographic_parity_difference{{{SEL}}}', "parity diff {{segment}}"),
        (f'vigil_fairness_equalized_odds_difference{{{SEL}}}', "equalized odds {{segment}}"),
        (f'vigil_fairness_equal_opportunity_difference{{{SEL}}}', "equal opportunity {{segment}}")], w=12)
    b.panel("Demographic parity ratio", [(f'vigil_fairness_demographic_parity_ratio{{{SEL}}}', "{{segment}}")], w=12, minmax=(0, 1))
    b.panel("Selection rate by group", [(f'vigil_segment_selection_rate{{{SEL}}}', "{{segment}}={{group}}")], unit="percentunit", w=8)
    b.panel("True positive rate by group", [(f'vigil_segment_tpr{{{SEL}}}', "{{segment}}={{group}}")], unit="percentunit", w=8)
    b.panel("False positive rate by group", [(f'vigil_segment_fpr{{{SEL}}}', "{{segment}}={{group}}")], unit="percentunit", w=8)
    b.panel("Precision by group", [(f'vigil_segment_precision{{{SEL}}}', "{{segment}}={{group}}")], unit="percentunit", w=12)
    b.panel("Predictions by group", [(f'vigil_segment_predictions{{{SEL}}}', "{{segment}}={{group}}")], w=12)
    b.row("Canary (watched comparisons)")
    b.panel("Verdict", [('vigil_compare_verdict{model="$model",window="$window"} == 1',
                         "{{candidate}} vs {{baseline}}: {{verdict}}")], kind="table", w=8,
            description="The current verdict of each watched comparison (release.watch and comparison rules); the reason and intervals are in GET /v1/models/{model}/compare.")
    b.panel("Candidate minus baseline", [('vigil_compare_difference{model="$model",window="$window"}',
                                          "{{metric}} ({{candidate}} vs {{baseline}})")], w=16,
            description="candidate − baseline per compared metric; the always-valid interval the verdict uses is in the compare document.")
    b.row("Data quality and custom metrics")
    b.panel("Missing ratio by feature", [(f'vigil_feature_missing_ratio{{{SEL}}}', "{{feature}}")], unit="percentunit", w=8)
    b.panel("Out-of-range ratio by feature", [(f'vigil_feature_out_of_range_ratio{{{SEL}}}', "{{feature}}")], unit="percentunit", w=8)
    b.panel("Custom metrics (p95)", [(f'vigil_metric_value{{{SEL},stat="p95"}}', "{{metric}} ({{source}})")], w=8)
    b.write()


def service():
    b = Board("vigil-service", "Vigil — service health", "The Vigil service itself: ingestion, rejections, latency, notification deliveries.")
    b.row("Ingestion")
    b.panel("Predictions and labels per second", [
        ('sum(rate(vigil_predictions_total[$__rate_interval]))', "predictions"),
        ('sum(rate(vigil_labels_total[$__rate_interval]))', "labels")], unit="reqps", w=12)
    b.panel("Rejected items per second by reason", [
        ('sum by (kind, reason) (rate(vigil_ingest_rejected_total[$__rate_interval]))', "{{kind}} {{reason}}")], unit="reqps", w=12)
    b.panel("Duplicates (retries) per second", [('sum by (kind) (rate(vigil_ingest_duplicates_total[$__rate_interval]))', "{{kind}}")], unit="reqps", w=8)
    b.panel("Labels waiting for their prediction", [('vigil_labels_pending', "{{model}}")], w=8)
    b.panel("Request latency p99 by route", [
        ('histogram_quantile(0.99, sum by (le, route) (rate(vigil_http_request_duration_seconds_bucket[$__rate_interval])))', "{{route}}")], unit="s", w=8)
    b.row("Alerting")
    b.panel("Notification deliveries by outcome", [
        ('sum by (notifier, outcome) (rate(vigil_webhook_deliveries_total[$__rate_interval]))', "{{notifier}} {{outcome}}")], unit="reqps", w=12)
    b.panel("Alerts firing", [('sum by (alertname, severity) (vigil_alerts_firing)', "{{alertname}} ({{severity}})")], w=12)
    b.write()


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    overview()
    model()
    service()

package main

import (
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/plugins"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/prometheus/client_golang/prometheus"
)

// sampleCounts gathers the histogram's sample count per outcome label.
func sampleCounts(t *testing.T, registry *prometheus.Registry) map[string]uint64 {
	t.Helper()
	families, err := registry.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	counts := map[string]uint64{}
	for _, family := range families {
		if family.GetName() != decisionDurationMetric {
			continue
		}
		for _, metric := range family.GetMetric() {
			counts[metric.GetLabel()[0].GetValue()] = metric.GetHistogram().GetSampleCount()
		}
	}
	return counts
}

func TestDecisionMetricsExportEveryOutcome(t *testing.T) {
	registry := prometheus.NewRegistry()
	manager, err := plugins.New([]byte(`{}`), "test", inmem.New(), plugins.WithPrometheusRegister(registry))
	if err != nil {
		t.Fatal(err)
	}

	first := newDecisionMetrics(manager)
	before := sampleCounts(t, registry)
	// A second plugin instance, as after a reconfiguration, shares the registered histogram.
	second := newDecisionMetrics(manager)
	first.observe("allowed", time.Millisecond)
	second.observe("denied", 2*time.Millisecond)
	after := sampleCounts(t, registry)

	expectedBefore := map[string]uint64{
		"allowed": 0, "denied": 0, "request-invalid": 0, "policy-unavailable": 0, "policy-error": 0,
		"cancelled": 0,
	}
	expectedAfter := map[string]uint64{
		"allowed": 1, "denied": 1, "request-invalid": 0, "policy-unavailable": 0, "policy-error": 0,
		"cancelled": 0,
	}
	if len(before) != len(expectedBefore) {
		t.Errorf("outcomes before any decision = %v, expected %v", before, expectedBefore)
	}
	for outcome, count := range expectedBefore {
		if before[outcome] != count {
			t.Errorf("count of %s before any decision = %d, expected %d", outcome, before[outcome], count)
		}
	}
	for outcome, count := range expectedAfter {
		if after[outcome] != count {
			t.Errorf("count of %s after two decisions = %d, expected %d", outcome, after[outcome], count)
		}
	}
}

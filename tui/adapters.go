package tui

import (
	"context"

	"github.com/resnas/resnas/model"
)

// Function adapters, so main can wire an engine with a closure instead of a named type
// (as http.HandlerFunc does for http.Handler).

// EvaluatorFunc is an Evaluator.
type EvaluatorFunc func(ctx context.Context, req EvalRequest) (Estimate, error)

// Evaluate calls f.
func (f EvaluatorFunc) Evaluate(ctx context.Context, req EvalRequest) (Estimate, error) {
	return f(ctx, req)
}

// ThroughputFunc is a Throughput.
type ThroughputFunc func(ctx context.Context, arch model.Arch) (Rate, error)

// Measure calls f.
func (f ThroughputFunc) Measure(ctx context.Context, arch model.Arch) (Rate, error) {
	return f(ctx, arch)
}

// ExporterFunc is an Exporter.
type ExporterFunc func(ctx context.Context, dir string, rec SubnetRecord) ([]string, error)

// ExportSubnet calls f.
func (f ExporterFunc) ExportSubnet(ctx context.Context, dir string, rec SubnetRecord) ([]string, error) {
	return f(ctx, dir, rec)
}

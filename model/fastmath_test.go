package model

import (
	"math"
	"testing"
)

func TestExpfAccuracy(t *testing.T) {
	var worst float64
	for x := float32(-87); x <= 88; x += 0.00137 {
		got, want := float64(expf(x)), math.Exp(float64(x))
		rel := math.Abs(got-want) / want
		worst = math.Max(worst, rel)
	}
	t.Logf("expf max relative error %.3g", worst)
	if worst > 4e-7 {
		t.Fatalf("expf max relative error %.3g, want ≤ 4e-7", worst)
	}
	if expf(-100) != 0 || !math.IsInf(float64(expf(100)), 1) {
		t.Fatalf("expf out of range: %v %v", expf(-100), expf(100))
	}
}

func TestErffAccuracy(t *testing.T) {
	var worst float64
	for x := float32(-6); x <= 6; x += 0.0001 {
		worst = math.Max(worst, math.Abs(float64(erff(x))-math.Erf(float64(x))))
	}
	t.Logf("erff max absolute error %.3g", worst)
	if worst > 5e-7 {
		t.Fatalf("erff max absolute error %.3g, want ≤ 5e-7", worst)
	}
}

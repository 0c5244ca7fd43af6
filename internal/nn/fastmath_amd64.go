package nn

import "golang.org/x/sys/cpu"

// haveAVX2FMA is fixed at start-up: the vector kernels need AVX2 and FMA.
var haveAVX2FMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// expNegAVX2 is expNeg on 8 values at a time (the same Cephes method, rounding n to nearest
// even); len(x) must be a multiple of 8.
//
//go:noescape
func expNegAVX2(x []float32)

// expNegVector handles the longest multiple-of-8 prefix of x with AVX2 when the CPU has it and
// returns how many values it did.
func expNegVector(x []float32) int {
	if !haveAVX2FMA {
		return 0
	}
	n := len(x) &^ 7
	if n > 0 {
		expNegAVX2(x[:n])
	}
	return n
}

// geluAVX2 is GELUForward's arithmetic on 8 values at a time (gelu_amd64.s): y = x·Φ(x) and,
// unless d is empty, d = Φ(x) + x·φ(x); len(x) must be a multiple of 8.
//
//go:noescape
func geluAVX2(y, d, x []float32)

// geluVector handles the longest multiple-of-8 prefix with AVX2 when the CPU has it and
// returns how many values it did. d may be nil.
func geluVector(y, d, x []float32) int {
	if !haveAVX2FMA {
		return 0
	}
	n := len(x) &^ 7
	if n > 0 {
		var dd []float32
		if d != nil {
			dd = d[:n]
		}
		geluAVX2(y[:n], dd, x[:n])
	}
	return n
}

// maxAVX2 returns the maximum of x; len(x) must be a positive multiple of 8.
//
//go:noescape
func maxAVX2(x []float32) float32

// expSubSumAVX2 replaces x[i] by e^(x[i]−sub) (x[i] ≤ sub) and returns their sum; len(x) must
// be a multiple of 8.
//
//go:noescape
func expSubSumAVX2(x []float32, sub float32) float32

// softmaxVector is softmaxRow's max and exp-and-sum passes with AVX2 on the longest
// multiple-of-8 prefix of y; ok is false when the CPU lacks AVX2 or y is shorter than 8.
func softmaxVector(y []float32) (mx, sum float32, done int, ok bool) {
	n := len(y) &^ 7
	if !haveAVX2FMA || n == 0 {
		return 0, 0, 0, false
	}
	mx = maxAVX2(y[:n])
	for _, v := range y[n:] {
		mx = max(mx, v)
	}
	return mx, expSubSumAVX2(y[:n], mx), n, true
}

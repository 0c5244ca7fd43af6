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

//go:build !amd64

package nn

// expNegVector has no vector version off amd64.
func expNegVector(x []float32) int { return 0 }

// geluVector has no vector version off amd64.
func geluVector(y, d, x []float32) int { return 0 }

// softmaxVector has no vector version off amd64.
func softmaxVector(y []float32) (mx, sum float32, done int, ok bool) { return 0, 0, 0, false }

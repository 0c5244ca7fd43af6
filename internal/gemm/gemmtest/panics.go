package gemmtest

import (
	"testing"

	"gonum.org/v1/gonum/blas"
	gblas "gonum.org/v1/gonum/blas/gonum"

	"github.com/resnas/resnas/internal/gemm"
)

// testPanics checks that every malformed call panics in be with the message gonum's Sgemm
// panics with, before anything reaches native code.
func testPanics(t *testing.T, be gemm.Backend) {
	t.Helper()
	ok := Case{TA: blas.NoTrans, TB: blas.NoTrans, M: 3, N: 4, K: 5, LdA: 5, LdB: 4, LdC: 4, Alpha: 1, Beta: 0}
	lens := [3]int{(3-1)*5 + 5, (5-1)*4 + 4, (3-1)*4 + 4}
	type badCall struct {
		name string
		c    Case
		lens [3]int
	}
	mod := func(name string, f func(*Case, *[3]int)) badCall {
		c, l := ok, lens
		f(&c, &l)
		return badCall{name, c, l}
	}
	calls := []badCall{
		mod("transpose A", func(c *Case, _ *[3]int) { c.TA = 'X' }),
		mod("transpose B", func(c *Case, _ *[3]int) { c.TB = 0 }),
		mod("m<0", func(c *Case, _ *[3]int) { c.M = -1 }),
		mod("n<0", func(c *Case, _ *[3]int) { c.N = -1 }),
		mod("k<0", func(c *Case, _ *[3]int) { c.K = -1 }),
		mod("lda", func(c *Case, _ *[3]int) { c.LdA = 4 }),
		mod("lda transposed", func(c *Case, _ *[3]int) { c.TA = blas.Trans; c.LdA = 2 }),
		mod("ldb", func(c *Case, _ *[3]int) { c.LdB = 3 }),
		mod("ldc", func(c *Case, _ *[3]int) { c.LdC = 3 }),
		mod("ldc with m=0", func(c *Case, _ *[3]int) { c.M = 0; c.LdC = 0 }),
		mod("short a", func(_ *Case, l *[3]int) { l[0]-- }),
		mod("short b", func(_ *Case, l *[3]int) { l[1]-- }),
		mod("short c", func(_ *Case, l *[3]int) { l[2]-- }),
	}
	for _, bc := range calls {
		want := panicOf(gblas.Implementation{}, bc.c, bc.lens)
		if want == "" {
			t.Fatalf("%s: gonum did not panic on %s; the case is wrong", bc.name, bc.c)
		}
		if got := panicOf(be, bc.c, bc.lens); got != want {
			t.Errorf("%s %s (%s, lengths %v): panic %q, want %q", be.Name(), bc.name, bc.c, bc.lens, got, want)
		}
	}
}

type sgemmer interface {
	Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
}

// panicOf calls Sgemm and returns its panic message, or "" if it returned.
func panicOf(be sgemmer, c Case, lens [3]int) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg, _ = r.(string)
			if msg == "" {
				msg = "non-string panic"
			}
		}
	}()
	a, b, cc := make([]float32, lens[0]), make([]float32, lens[1]), make([]float32, lens[2])
	be.Sgemm(c.TA, c.TB, c.M, c.N, c.K, c.Alpha, a, c.LdA, b, c.LdB, c.Beta, cc, c.LdC)
	return ""
}

package gemm_test

import (
	"fmt"
	"testing"

	"github.com/resnas/resnas/internal/gemm"
	"github.com/resnas/resnas/internal/gemm/gemmtest"
	"github.com/resnas/resnas/internal/gemm/gonum"
)

// TestSubSharesParent checks the views the supernet relies on: a sub-block keeps its parent's
// stride, reads its elements, writes through to the parent, and its Data ends at its last
// element (so a backend's length checks see exactly the view).
func TestSubSharesParent(t *testing.T) {
	data := make([]float32, 5*7)
	for i := range data {
		data[i] = float32(i)
	}
	p := gemm.NewMat(5, 7, data)
	s := p.Sub(1, 4, 2, 6)
	if s.Rows != 3 || s.Cols != 4 || s.Stride != 7 || len(s.Data) != 2*7+4 {
		t.Fatalf("Sub(1,4,2,6) = %dx%d stride %d len %d", s.Rows, s.Cols, s.Stride, len(s.Data))
	}
	for i := range s.Rows {
		for j := range s.Cols {
			if s.At(i, j) != p.At(i+1, j+2) {
				t.Fatalf("s(%d,%d) = %g, want %g", i, j, s.At(i, j), p.At(i+1, j+2))
			}
		}
	}
	s.Row(2)[3] = -1
	if p.At(3, 5) != -1 {
		t.Error("a write through the view did not reach the parent")
	}
	ss := s.Sub(1, 3, 1, 2)
	if ss.At(0, 0) != p.At(2, 3) || ss.At(1, 0) != p.At(3, 3) {
		t.Error("a view of a view reads the wrong elements")
	}
	if e := p.Sub(2, 2, 0, 7); e.Rows != 0 || e.Data != nil {
		t.Errorf("empty view %+v, want no rows and no data", e)
	}
}

func TestSubOutOfRangePanics(t *testing.T) {
	p := gemm.NewMat(3, 4, make([]float32, 12))
	for _, r := range [][4]int{{0, 4, 0, 1}, {0, 1, 0, 5}, {2, 1, 0, 1}, {-1, 1, 0, 1}} {
		msg := func() (msg string) {
			defer func() { msg = fmt.Sprint(recover()) }()
			p.Sub(r[0], r[1], r[2], r[3])
			return ""
		}()
		if msg != "gemm: sub-matrix out of range" {
			t.Errorf("Sub%v: panic %q", r, msg)
		}
	}
}

// TestMul runs the shared Mul checks (views, transposes, empty dimensions, attention heads)
// with the pure-Go backend, which every machine has.
func TestMul(t *testing.T) { gemmtest.TestMul(t, gonum.New()) }

package gonum_test

import (
	"testing"

	"github.com/resnas/resnas/internal/gemm/gemmtest"
	"github.com/resnas/resnas/internal/gemm/gonum"
)

// gonum's float32 code is generated and "not directly tested" upstream, so it runs the suite
// like any other backend.
func TestSgemm(t *testing.T) { gemmtest.TestSgemm(t, gonum.New()) }

func TestMul(t *testing.T) { gemmtest.TestMul(t, gonum.New()) }

func BenchmarkSgemm(b *testing.B) { gemmtest.BenchmarkSgemm(b, gonum.New()) }

package cuda

import (
	"math/rand/v2"
	"testing"

	"github.com/resnas/resnas/internal/gemm/gemmtest"
)

// openGPUOrSkip opens the real GPU for benchmarks; the fake would time a CPU loop.
func openGPUOrSkip(b *testing.B) *Device {
	b.Helper()
	d, err := Open()
	if err != nil {
		b.Skipf("no GPU: %v", err)
	}
	b.Cleanup(func() { d.Close() })
	return d
}

// BenchmarkSgemm times the host-slice adapter, transfers included, with the body every backend
// shares.
func BenchmarkSgemm(b *testing.B) {
	d := openGPUOrSkip(b)
	be := NewBackend(d)
	defer be.Close()
	gemmtest.BenchmarkSgemm(b, be)
}

// BenchmarkDeviceSgemm times GEMMs on device-resident data, synchronising once per batch of
// iterations, which is how GPU layers use cuBLAS.
func BenchmarkDeviceSgemm(b *testing.B) {
	d := openGPUOrSkip(b)
	for _, s := range gemmtest.BenchShapes() {
		b.Run(s.Name(), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(9, 10))
			bufs := [3]*Buffer{}
			for i, n := range [3]int{s.M * s.K, s.K * s.N, s.M * s.N} {
				buf, err := d.Alloc(n)
				if err != nil {
					b.Fatal(err)
				}
				defer buf.Free()
				if err := d.Upload(buf, 0, randSlice(rng, n)); err != nil {
					b.Fatal(err)
				}
				bufs[i] = buf
			}
			lda, ldb := s.K, s.N
			if s.TA != 'N' {
				lda = s.M
			}
			if s.TB != 'N' {
				ldb = s.K
			}
			// A classic loop, so the final Synchronize (GEMMs are queued asynchronously) is timed.
			b.ResetTimer()
			for range b.N {
				if err := d.Sgemm(s.TA, s.TB, s.M, s.N, s.K, 1, bufs[0], 0, lda, bufs[1], 0, ldb, 0, bufs[2], 0, s.N); err != nil {
					b.Fatal(err)
				}
			}
			if err := d.Synchronize(); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(2*float64(s.M)*float64(s.N)*float64(s.K)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// openGPUOrFake opens the real GPU, else the fake driver, for benchmarks of host-side costs.
func openGPUOrFake(b *testing.B) *Device {
	b.Helper()
	d, err := Open()
	if err != nil {
		if fakeDir == "" {
			b.Skip(fakeSkip)
		}
		if d, err = openWith(fakeSearch(fakeDir), 0); err != nil {
			b.Fatal(err)
		}
	}
	b.Cleanup(func() { d.Close() })
	return d
}

// BenchmarkCallOverhead times one small driver call (a 4-byte upload) through the context's
// goroutine, on the fake driver when there is no GPU: the host cost each launch and GEMM of a
// forward pass would pay without a Batch (see BenchmarkBatchCallOverhead).
func BenchmarkCallOverhead(b *testing.B) {
	d := openGPUOrFake(b)
	buf := mustAllocB(b, d, 1)
	one := []float32{1}
	for b.Loop() {
		if err := d.Upload(buf, 0, one); err != nil {
			b.Fatal(err)
		}
	}
}

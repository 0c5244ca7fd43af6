package cuda

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestBatch issues upload, kernel, GEMM and download from the caller's goroutine inside a
// Batch, checks the results against the CPU, and that the device serves ordinary calls after.
func TestBatch(t *testing.T) {
	forEachDevice(t, func(t *testing.T, d *Device) {
		mod, err := d.LoadModule(axpyPTX)
		if err != nil {
			t.Fatal(err)
		}
		defer mod.Unload()
		f, err := mod.Function("axpy")
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(8, 8))
		const n = 6
		x, y := randSlice(rng, n*n), randSlice(rng, n*n)
		dx, dy, dz := mustAlloc(t, d, n*n), mustAlloc(t, d, n*n), mustAlloc(t, d, n*n)
		got := make([]float32, n*n)
		err = d.Batch(func(q *Batch) error {
			if err := q.Upload(dx, 0, x); err != nil {
				return err
			}
			if err := q.Upload(dy, 0, y); err != nil {
				return err
			}
			// y += 2x, then z = y·xᵀ.
			if err := q.Launch(f, Dim3{X: 1}, Dim3{X: 64}, 0, dy, dx.Ptr(0), float32(2), uint32(n*n)); err != nil {
				return err
			}
			if err := q.Mul(false, true, 1, NewDMat(dy, n, n), NewDMat(dx, n, n), 0, NewDMat(dz, n, n)); err != nil {
				return err
			}
			return q.Download(got, dz, 0)
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				var want float64
				for k := 0; k < n; k++ {
					want += float64(y[i*n+k]+2*x[i*n+k]) * float64(x[j*n+k])
				}
				if math.Abs(float64(got[i*n+j])-want) > 1e-4 {
					t.Fatalf("z[%d,%d] = %g, want %g", i, j, got[i*n+j], want)
				}
			}
		}
		// Ordinary calls still go through the context's goroutine afterwards.
		if err := d.Synchronize(); err != nil {
			t.Fatal(err)
		}
		back := make([]float32, n*n)
		if err := d.Download(back, dz, 0); err != nil || back[0] != got[0] {
			t.Fatalf("download after the batch: %v, %g want %g", err, back[0], got[0])
		}
	})
}

func TestBatchOnClosedDevice(t *testing.T) {
	if fakeDir == "" {
		t.Skip(fakeSkip)
	}
	d, err := openWith(fakeSearch(fakeDir), 0)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	ran := false
	if err := d.Batch(func(*Batch) error { ran = true; return nil }); err != ErrClosed || ran {
		t.Fatalf("Batch on a closed device: %v, ran %v", err, ran)
	}
}

// BenchmarkBatchCallOverhead is BenchmarkCallOverhead's call made inside one Batch.
func BenchmarkBatchCallOverhead(b *testing.B) {
	d := openGPUOrFake(b)
	buf := mustAllocB(b, d, 1)
	one := []float32{1}
	d.Batch(func(q *Batch) error {
		for b.Loop() {
			if err := q.Upload(buf, 0, one); err != nil {
				b.Fatal(err)
			}
		}
		return nil
	})
}

func mustAllocB(b *testing.B, d *Device, n int) *Buffer {
	buf, err := d.Alloc(n)
	if err != nil {
		b.Fatal(err)
	}
	return buf
}

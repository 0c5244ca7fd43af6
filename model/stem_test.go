package model

import (
	"context"
	"math"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/resnas/resnas/internal/gemm"
	"github.com/resnas/resnas/internal/gemm/gonum"
)

// TestIm2colPatches compares the patch im2col with im2colCHW (kernel = stride, no padding),
// on a dense image and on channel planes spread apart as convStem lays them out.
func TestIm2colPatches(t *testing.T) {
	for _, c := range []struct{ cin, h, w, k, chanStride int }{
		{1, 4, 4, 2, 16}, {3, 16, 16, 2, 256}, {2, 6, 9, 3, 54}, {12, 16, 16, 2, 8 * 256}, {2, 8, 8, 4, 70},
	} {
		src := make([]float32, (c.cin-1)*c.chanStride+c.h*c.w)
		for i := range src {
			src[i] = float32(i + 1)
		}
		dense := make([]float32, c.cin*c.h*c.w)
		for ci := 0; ci < c.cin; ci++ {
			copy(dense[ci*c.h*c.w:(ci+1)*c.h*c.w], src[ci*c.chanStride:])
		}
		rows, cols := (c.h/c.k)*(c.w/c.k), c.cin*c.k*c.k
		want := gemm.NewMat(rows, cols, make([]float32, rows*cols))
		im2colCHW(want, dense, c.cin, c.h, c.w, c.k, c.k, 0)
		got := gemm.NewMat(rows, cols, make([]float32, rows*cols))
		for i := range got.Data {
			got.Data[i] = -99
		}
		im2colPatches(got, src, c.chanStride, c.cin, c.h, c.w, c.k)
		for i := range want.Data {
			if got.Data[i] != want.Data[i] {
				t.Fatalf("%+v: element %d (row %d, col %d) = %v, want %v", c, i, i/cols, i%cols, got.Data[i], want.Data[i])
			}
		}
	}
}

// TestConvStemChunks runs batches that fill several stem chunks (and a partial one) on one
// worker and checks every image against the same image run alone: the chunked conv stem,
// the reductions' grouped patch convs and class-token GEMM, and the 512-row block tiles must
// not mix images.
func TestConvStemChunks(t *testing.T) {
	in := Input{Size: 32, Channels: 1, Patch: 4}
	for _, def := range []string{fmnistWideMax, fmnistWideMin, fmnistMax} {
		a, err := ParseArch(def)
		if err != nil {
			t.Fatal(err)
		}
		w := randomWeights(a, in, 3)
		for name, be := range benchBackends(nil) {
			n, err := NewNet(w, a, in, be, NetOptions{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			const batch = 2*stemImages + 3
			pix := 32 * 32
			x := make([]float32, batch*pix)
			for i := range x {
				x[i] = float32(math.Sin(float64(i)*0.37)) * 1.5
			}
			got := make([]float32, batch*10)
			if err := n.Forward(context.Background(), x, batch, got); err != nil {
				t.Fatal(err)
			}
			one := make([]float32, 10)
			worst := 0.0
			for i := 0; i < batch; i++ {
				if err := n.Forward(context.Background(), x[i*pix:(i+1)*pix], 1, one); err != nil {
					t.Fatal(err)
				}
				for j, v := range one {
					d := math.Abs(float64(got[i*10+j] - v))
					worst = max(worst, d)
					if !(d <= 1e-5+1e-5*math.Abs(float64(v))) {
						t.Fatalf("%s %s: image %d logit %d = %v in a batch of %d, %v alone", name, def[:20], i, j, got[i*10+j], batch, v)
					}
				}
			}
			t.Logf("%s stem %s: max abs diff batch vs alone %.3g", name, def[:12], worst)
		}
	}
}

// TestPairMatchesSerial runs single images (and two images on four threads: two workers, each
// with a pair) through the paired blocks and compares them with one thread, and the paired
// calls with the unpaired ones that time the other mode.
func TestPairMatchesSerial(t *testing.T) {
	in := Input{Size: 32, Channels: 1, Patch: 4}
	for _, def := range []string{fmnistWideMax, fmnistWideMin, fmnistMax} {
		a, err := ParseArch(def)
		if err != nil {
			t.Fatal(err)
		}
		w := randomWeights(a, in, 4)
		for name, be := range benchBackends(nil) {
			serial, err := NewNet(w, a, in, be, NetOptions{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct{ threads, batch int }{{2, 1}, {4, 2}, {3, 1}} {
				n, err := NewNet(w, a, in, be, NetOptions{Threads: tc.threads})
				if err != nil {
					t.Fatal(err)
				}
				x := make([]float32, tc.batch*32*32)
				for i := range x {
					x[i] = float32(math.Cos(float64(i)*0.11)) * 2
				}
				want := make([]float32, tc.batch*10)
				got := make([]float32, tc.batch*10)
				var first []float32
				// The pair is started and stopped per call; the first call runs paired and the
				// second unpaired (pairTuner times both), with bit-identical logits.
				for rep := 0; rep < 3; rep++ {
					if err := serial.Forward(context.Background(), x, tc.batch, want); err != nil {
						t.Fatal(err)
					}
					if err := n.Forward(context.Background(), x, tc.batch, got); err != nil {
						t.Fatal(err)
					}
					if rep == 0 && !n.workspaces[0].paired {
						t.Fatalf("%d threads, batch %d: the first call did not run as a pair", tc.threads, tc.batch)
					}
					if rep == 1 && n.workspaces[0].paired {
						t.Fatalf("%d threads, batch %d: the second call did not time the chunk unpaired", tc.threads, tc.batch)
					}
					if rep == 0 {
						first = append(first[:0], got...)
					} else if !slices.Equal(got, first) {
						t.Fatalf("%s %s, %d threads, batch %d: call %d (paired %v) gave %v, the paired call %v; want the same pieces' arithmetic", name, def[:20], tc.threads, tc.batch, rep, n.workspaces[0].paired, got, first)
					}
					for i := range want {
						if d := math.Abs(float64(got[i] - want[i])); !(d <= 1e-5+1e-5*math.Abs(float64(want[i]))) {
							t.Fatalf("%s %s, %d threads, batch %d: logit %d = %v, serial %v", name, def[:20], tc.threads, tc.batch, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

// TestPairWorkerAlone: with one OS thread for goroutines the helper gets no core while the
// worker runs, so the worker must claim every piece itself, finish, and give the same logits
// (the case of a loaded machine, where the helper starts late or not at all).
func TestPairWorkerAlone(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	in := Input{Size: 32, Channels: 1, Patch: 4}
	a, err := ParseArch(fmnistWideMax)
	if err != nil {
		t.Fatal(err)
	}
	w := randomWeights(a, in, 5)
	be := gonum.New()
	serial, err := NewNet(w, a, in, be, NetOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	n, err := NewNet(w, a, in, be, NetOptions{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 32*32)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)*0.07)) * 2
	}
	want, got := make([]float32, 10), make([]float32, 10)
	if err := serial.Forward(context.Background(), x, 1, want); err != nil {
		t.Fatal(err)
	}
	for rep := 0; rep < 3; rep++ {
		if err := n.Forward(context.Background(), x, 1, got); err != nil {
			t.Fatal(err)
		}
		if rep == 0 && !n.workspaces[0].paired {
			t.Fatal("batch 1 on two threads did not run as a pair")
		}
		for i := range want {
			if d := math.Abs(float64(got[i] - want[i])); !(d <= 1e-5+1e-5*math.Abs(float64(want[i]))) {
				t.Fatalf("logit %d = %v, serial %v", i, got[i], want[i])
			}
		}
	}
}

// TestPairTuner: both modes are timed first, then the faster runs, with the other tried every
// pairProbe-th call, so a change in load is noticed.
func TestPairTuner(t *testing.T) {
	var tu pairTuner
	if !tu.choose() {
		t.Fatal("first call: want paired")
	}
	tu.record(true, 3*time.Millisecond) // a loaded machine: the pair is slow
	if tu.choose() {
		t.Fatal("second call: want unpaired, to time it")
	}
	tu.record(false, 2*time.Millisecond)
	paired := 0
	for range 2 * pairProbe {
		if tu.choose() {
			paired++
			tu.record(true, 3*time.Millisecond)
		} else {
			tu.record(false, 2*time.Millisecond)
		}
	}
	if paired != 2 {
		t.Fatalf("with the pair slower it ran %d of %d calls, want 2 probes", paired, 2*pairProbe)
	}
	// The load goes away: the probes see the pair at 1 ms and it takes over.
	for range 4 * pairProbe {
		if tu.choose() {
			tu.record(true, time.Millisecond)
		} else {
			tu.record(false, 2*time.Millisecond)
		}
	}
	if !tu.choose() {
		t.Fatalf("after the pair was measured faster it is not chosen (paired %.2g s, serial %.2g s)", tu.paired, tu.serial)
	}
}

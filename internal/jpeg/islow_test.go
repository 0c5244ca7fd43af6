package jpeg

import (
	"bytes"
	"image"
	"image/color"
	stdjpeg "image/jpeg"
	"math"
	"math/rand/v2"
	"testing"
)

// TestIdctIslowNearExact checks libjpeg's integer IDCT against the float definition
// (T.81 A.3.3) on random blocks: within 1 after rounding, as IEEE 1180 asks of it.
func TestIdctIslowNearExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	worst := 0.0
	for n := 0; n < 2000; n++ {
		var b block
		for i := range b {
			if i == 0 || rng.IntN(4) == 0 {
				b[i] = int32(rng.IntN(512) - 256)
			}
		}
		want := b
		var got [64]byte
		idctIslow(&b, got[:], 8)
		for y := 0; y < 8; y++ {
			for x := 0; x < 8; x++ {
				s := 0.0
				for v := 0; v < 8; v++ {
					for u := 0; u < 8; u++ {
						cu, cv := 1.0, 1.0
						if u == 0 {
							cu = math.Sqrt2 / 2
						}
						if v == 0 {
							cv = math.Sqrt2 / 2
						}
						s += cu * cv * float64(want[8*v+u]) *
							math.Cos(float64(2*x+1)*float64(u)*math.Pi/16) * math.Cos(float64(2*y+1)*float64(v)*math.Pi/16)
					}
				}
				ref := math.Max(0, math.Min(255, math.Round(s/4)+128))
				worst = math.Max(worst, math.Abs(ref-float64(got[8*y+x])))
			}
		}
	}
	t.Logf("worst |islow − float IDCT| = %v", worst)
	if worst > 1 {
		t.Fatalf("worst difference %v, want ≤ 1", worst)
	}
}

// TestDecodeLikeImageJPEG decodes a Go-encoded JPEG with both decoders: same image type,
// bounds and subsampling, samples within a few levels (only the IDCT differs).
func TestDecodeLikeImageJPEG(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 37, 21))
	for y := 0; y < 21; y++ {
		for x := 0; x < 37; x++ {
			src.SetNRGBA(x, y, color.NRGBA{uint8(7 * x), uint8(11 * y), uint8(x * y), 255})
		}
	}
	var buf bytes.Buffer
	if err := stdjpeg.Encode(&buf, src, &stdjpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	got, err := Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	want, err := stdjpeg.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	g, ok1 := got.(*image.YCbCr)
	w, ok2 := want.(*image.YCbCr)
	if !ok1 || !ok2 || g.Rect != w.Rect || g.SubsampleRatio != w.SubsampleRatio {
		t.Fatalf("got %T %v, image/jpeg %T %v", got, got.Bounds(), want, want.Bounds())
	}
	for i := range w.Y {
		if d := int(g.Y[i]) - int(w.Y[i]); d < -2 || d > 2 {
			t.Fatalf("Y[%d] = %d, image/jpeg %d", i, g.Y[i], w.Y[i])
		}
	}
}

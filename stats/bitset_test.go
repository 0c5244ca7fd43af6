package stats

import (
	"math/rand/v2"
	"testing"
)

func TestBitsetRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 7, 8, 9, 63, 64, 65, 1000, 10000} {
		b := NewBitset(n)
		want := 0
		for i := 0; i < n; i++ {
			if rng.IntN(3) > 0 {
				b.Set(i)
				want++
			}
		}
		if b.Count() != want {
			t.Errorf("n=%d: Count %d, want %d", n, b.Count(), want)
		}
		got, err := DecodeBitset(b.Encode(), n)
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		for i := 0; i < n; i++ {
			if got.Get(i) != b.Get(i) {
				t.Fatalf("n=%d: bit %d changed in the round trip", n, i)
			}
		}
		if n == 10000 && len(b.Encode()) != 1668 {
			t.Errorf("10,000 images encode to %d characters, want 1,668", len(b.Encode()))
		}
	}
	if _, err := DecodeBitset(NewBitset(24).Encode(), 9); err == nil {
		t.Error("a set of 24 images was read as one of 9")
	}
	full := NewBitset(9)
	for i := 0; i < 9; i++ {
		full.Set(i)
	}
	if _, err := DecodeBitset(full.Encode(), 8); err == nil {
		t.Error("bits past the image count were accepted")
	}
	if _, err := DecodeBitset("not base64!", 8); err == nil {
		t.Error("bad base64 accepted")
	}
	if p := full.Prefix(5); p.N != 5 || p.Count() != 5 {
		t.Errorf("Prefix(5) of 9 ones = %+v", p)
	}
}

func TestPairedOf(t *testing.T) {
	// Images: 0..9. A right on 0-7, B right on 2-9: both 6, only A 2, only B 2, neither 0.
	a, b := NewBitset(10), NewBitset(10)
	for i := 0; i < 8; i++ {
		a.Set(i)
		b.Set(i + 2)
	}
	p, err := PairedOf(a, b)
	if err != nil {
		t.Fatal(err)
	}
	want := ComparePaired(6, 2, 2, 0)
	if p != want || p.OnlyA != 2 || p.OnlyB != 2 || p.Diff != 0 {
		t.Errorf("PairedOf = %+v, want %+v", p, want)
	}
	if !a.Equal(a.Prefix(10)) || a.Equal(b) || a.Equal(a.Prefix(9)) {
		t.Error("Equal does not tell sets apart by bits and size")
	}
	if _, err := PairedOf(a, NewBitset(11)); err == nil {
		t.Error("sets of different sizes were compared")
	}
}

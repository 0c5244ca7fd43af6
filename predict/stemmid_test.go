package predict

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/supernet"
)

// encodingDigest hashes the feature names and the encodings of the extremes and 200 random
// members of the space name.
func encodingDigest(t *testing.T, name string) string {
	t.Helper()
	s, err := supernet.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEncoder(s, model.Input{})
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	fmt.Fprintln(h, e.Names())
	r := rand.New(rand.NewPCG(31, 1))
	archs := []model.Arch{s.Max(), s.Min()}
	for range 200 {
		archs = append(archs, s.Random(r))
	}
	for _, a := range archs {
		fmt.Fprintln(h, e.Encode(nil, a))
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// TestSingleMidSpacesEncodeAsBefore pins the features of the spaces with one stem mid width
// to what they were before the mid width became a feature (digests recorded then), so their
// predictions do not change.
func TestSingleMidSpacesEncodeAsBefore(t *testing.T) {
	for name, want := range map[string]string{
		"dev-small":   "ba9244f0666d02a3956366468417a7fdf71de149e82071f39ae884682a0bbc2b",
		"fmnist":      "b8a2a437a258d459f6ae2048caf888e4180c274ce389340d454c1f7c433679bb",
		"sr_small_mh": "527e79c06a18e2cb0b06ac41763884178aeded868e155642c140480cca0e1954",
		"sr_tiny_mh":  "65afaec912831632d6a691693cf92714bb2d00447570e0a7d3e477b8fb26973a",
	} {
		if got := encodingDigest(t, name); got != want {
			t.Errorf("%s: features %s, want %s as before the stem mid width was a feature", name, got, want)
		}
	}
}

func TestEncoderScalesTheStemMid(t *testing.T) {
	s, err := supernet.Lookup("fmnist-wide")
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEncoder(s, model.Input{})
	if err != nil {
		t.Fatal(err)
	}
	if e.Names()[0] != "stem.mid" {
		t.Fatalf("features %v, want stem.mid first", e.Names())
	}
	mids := s.StemMidChoices() // 12, 8, 4, 2
	lo, hi := mids[len(mids)-1], mids[0]
	a := s.Max()
	for _, m := range mids {
		a.Stem.Mid = m
		f := e.Encode(nil, a)
		if len(f) != e.Len() {
			t.Fatalf("%d features, want %d", len(f), e.Len())
		}
		if want := float64(m-lo) / float64(hi-lo); f[0] != want {
			t.Errorf("stem mid width %d encodes as %v, want %v", m, f[0], want)
		}
	}
	// Two networks that differ only in the stem mid width differ in that feature.
	b := a.Clone()
	b.Stem.Mid = hi
	fa, fb := e.Encode(nil, a), e.Encode(nil, b)
	if fa[0] == fb[0] {
		t.Errorf("stem mid widths %d and %d encode alike", a.Stem.Mid, b.Stem.Mid)
	}
	fm, _ := supernet.Lookup("fmnist")
	ef, err := NewEncoder(fm, model.Input{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ef.Names() {
		if n == "stem.mid" {
			t.Errorf("fmnist, with one stem mid width, has a stem.mid feature")
		}
	}
}

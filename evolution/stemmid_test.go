package evolution

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/profiler"
	"github.com/resnas/resnas/supernet"
)

// operatorDigest runs every gene operator from a seeded stream on s and hashes the
// architectures they produce and where the stream ends up, so a change in what they draw
// shows.
func operatorDigest(t *testing.T, s *supernet.Space, seed uint64) string {
	t.Helper()
	r := newRNG(seed)
	h := sha256.New()
	lo, hi := profiler.MACs(s.Min(), s.Input), profiler.MACs(s.Max(), s.Input)
	ceiling := lo + (hi-lo)/3
	over := func(a model.Arch) bool { return profiler.MACs(a, s.Input) > ceiling }
	var b model.Arch
	for range 40 {
		a := sampleUniform(r, s, s.Max())
		sampleWidthsDepth(r, s, s.Max(), &b)
		m := mutate(r, s, a, 0.3)
		c := crossover(r, s, a, b, 0.5)
		p := b.Clone()
		pruneOne(r, s, &p, true)
		q := a.Clone()
		pruneOne(r, s, &q, false)
		f, ok := reduceConstraint(r, s, b.Clone(), over)
		fmt.Fprintln(h, a, b, m, c, p, q, f, ok)
	}
	g := generator{space: s, max: s.Max(), in: s.Input, r: r, cons: midWindow(s, 0.3)}
	for range 10 {
		a, err := g.random(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(h, a)
	}
	fmt.Fprintln(h, r.src.Uint64())
	return fmt.Sprintf("%x", h.Sum(nil))
}

// TestSingleMidSpacesDrawAsBefore pins what every operator draws on spaces with one stem mid
// width to what it drew before the mid width became a gene (digests recorded then): their
// seeded searches, histories and journals must not change.
func TestSingleMidSpacesDrawAsBefore(t *testing.T) {
	want := map[string]string{
		"evotest":   "9a752b3c144d208867b0591c1d69b241f3fe49e2230253d14b6a2810d03317c5",
		"fmnist":    "37a184231d0e0b5eaacbd4af7f8a85dfde88c9666b2d4104b8a9abb7760105d4",
		"dev-small": "ebec34e2a7ffe2ffe3378d7f8bbb1c2775ad00f1bc86648e5a55359766ae4882",
	}
	spaces := []*supernet.Space{testSpace(), lookup(t, "fmnist"), lookup(t, "dev-small")}
	for _, s := range spaces {
		if n := len(s.StemMidChoices()); n != 1 {
			t.Fatalf("%s has %d stem mid widths, want 1", s.Name, n)
		}
		if got := operatorDigest(t, s, 11); got != want[s.Name] {
			t.Errorf("%s: the operators drew %s, want %s as before stem mid widths were genes", s.Name, got, want[s.Name])
		}
	}
}

func lookup(t *testing.T, name string) *supernet.Space {
	t.Helper()
	s, err := supernet.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// wideSpace is fmnist-wide, the space whose stem mid width is searchable.
func wideSpace(t *testing.T) *supernet.Space {
	t.Helper()
	s := lookup(t, "fmnist-wide")
	if len(s.StemMidChoices()) < 2 {
		t.Fatalf("%s: stem mid choices %v, want several", s.Name, s.StemMidChoices())
	}
	return s
}

// seenAll fails unless seen holds every one of choices.
func seenAll(t *testing.T, what string, seen map[int]int, choices []int) {
	t.Helper()
	for _, c := range choices {
		if seen[c] == 0 {
			t.Errorf("%s: stem mid width %d never drawn (seen %v)", what, c, seen)
		}
	}
}

func TestStemMidOperatorsStayInTheSpace(t *testing.T) {
	s := wideSpace(t)
	mids := s.StemMidChoices()
	r := newRNG(21)
	seen := map[string]map[int]int{}
	note := func(op string, a model.Arch) {
		t.Helper()
		if err := s.Contains(a); err != nil {
			t.Fatalf("%s gave %s: %v", op, a, err)
		}
		if seen[op] == nil {
			seen[op] = map[int]int{}
		}
		seen[op][a.Stem.Mid]++
	}
	var b model.Arch
	for range 400 {
		a := sampleUniform(r, s, s.Max())
		note("sampleUniform", a)
		sampleWidthsDepth(r, s, s.Max(), &b)
		note("sampleWidthsDepth", b)
		note("mutate", mutate(r, s, s.Max(), 0.5))
		note("crossover", crossover(r, s, a, b, 0.5))
		p := a.Clone()
		for range 20 {
			pruneOne(r, s, &p, true)
			note("pruneOne", p)
		}
	}
	for _, op := range []string{"sampleUniform", "sampleWidthsDepth", "mutate", "crossover", "pruneOne"} {
		seenAll(t, op, seen[op], mids)
	}
	// Uniform draws: each of the 4 mid widths about 400/4 times.
	for _, op := range []string{"sampleUniform", "sampleWidthsDepth"} {
		for _, m := range mids {
			if n := seen[op][m]; n < 60 || n > 140 {
				t.Errorf("%s drew stem mid width %d %d times of 400, want about 100", op, m, n)
			}
		}
	}
}

func TestMutationRedrawsTheStemMid(t *testing.T) {
	s := wideSpace(t)
	r := newRNG(22)
	a := s.Max()
	if got := mutate(r, s, a, 0); got.Stem.Mid != a.Stem.Mid {
		t.Fatalf("mutation with p=0 changed the stem mid width to %d", got.Stem.Mid)
	}
	changed := 0
	for range 1000 {
		if mutate(r, s, a, 0.2).Stem.Mid != a.Stem.Mid {
			changed++
		}
	}
	// Redrawn with p = 0.2, to another of 4 choices with probability ¾: 150 of 1000.
	if changed < 100 || changed > 200 {
		t.Errorf("mutation with p=0.2 changed the stem mid width %d times of 1000, want about 150", changed)
	}
}

func TestCrossoverTakesTheStemFromOneParent(t *testing.T) {
	s := wideSpace(t)
	r := newRNG(23)
	a, b := s.Max(), s.Min()
	fromA, fromB := 0, 0
	for range 400 {
		c := crossover(r, s, a, b, 0.5)
		switch c.Stem {
		case a.Stem:
			fromA++
		case b.Stem:
			fromB++
		default:
			t.Fatalf("crossover of stems %+v and %+v gave %+v, mixing the parents", a.Stem, b.Stem, c.Stem)
		}
	}
	if fromA < 150 || fromB < 150 {
		t.Errorf("crossover took the stem %d times from the first parent and %d from the second, want about 200 each", fromA, fromB)
	}
	if c := crossover(r, s, a, b, 1); c.Stem != b.Stem {
		t.Errorf("crossover with p=1 gave stem %+v, want the second parent's %+v", c.Stem, b.Stem)
	}
}

// TestPruningShrinksTheStemMid checks that fitting a budget lowers the stem mid width one
// choice at a time, as it lowers widths, and reaches its smallest.
func TestPruningShrinksTheStemMid(t *testing.T) {
	s := wideSpace(t)
	mids := s.StemMidChoices()
	r := newRNG(24)
	a := s.Max()
	for range 2000 {
		before := a.Stem.Mid
		pruneOne(r, s, &a, true)
		if a.Stem.Mid != before {
			if want, _ := nextSmaller(mids, before); a.Stem.Mid != want {
				t.Fatalf("pruning moved the stem mid width from %d to %d, want %d", before, a.Stem.Mid, want)
			}
		}
	}
	if last := mids[len(mids)-1]; a.Stem.Mid != last {
		t.Errorf("2000 prunings left the stem mid width at %d, want the smallest, %d", a.Stem.Mid, last)
	}
	b := s.Max()
	for range reduceStepsBeforeAll {
		pruneOne(r, s, &b, false)
	}
	if b.Stem != s.Max().Stem {
		t.Errorf("pruning heads and MLP only changed the stem to %+v", b.Stem)
	}
}

// TestRandomCandidatesSearchTheStemMid draws random candidates of fmnist-wide in MACs windows
// (draw, then shrink to fit) and without a ceiling (uniform): all stay in the space and the
// window, and every stem mid width comes up.
func TestRandomCandidatesSearchTheStemMid(t *testing.T) {
	s := wideSpace(t)
	for _, cons := range []Constraints{midWindow(s, 0.2), midWindow(s, 0.6), {}} {
		g := generator{space: s, max: s.Max(), in: s.Input, r: newRNG(25), cons: cons}
		seen := map[int]int{}
		for range 200 {
			a, err := g.random(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Contains(a); err != nil {
				t.Fatalf("%s: %v", a, err)
			}
			if m := profiler.MACs(a, s.Input); m < cons.MinMACs || (cons.MaxMACs > 0 && m > cons.MaxMACs) {
				t.Fatalf("window %v: %s has %d MACs", cons, a, m)
			}
			seen[a.Stem.Mid]++
		}
		seenAll(t, fmt.Sprintf("random in %v", cons), seen, s.StemMidChoices())
	}
}

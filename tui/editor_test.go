package tui

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/supernet"
)

func TestStepChoice(t *testing.T) {
	choices := []int{768, 704, 640, 576} // descending, as spaces store them
	for _, c := range []struct {
		v, dir, want int
		ok           bool
	}{
		{704, 1, 768, true},
		{704, -1, 640, true},
		{768, 1, 0, false},
		{576, -1, 0, false},
		{650, 1, 704, true}, // off-choice values snap to the neighbouring choice
		{650, -1, 640, true},
	} {
		got, ok := stepChoice(choices, c.v, c.dir)
		if got != c.want || ok != c.ok {
			t.Errorf("stepChoice(%v, %d, %d) = %d, %v; want %d, %v", choices, c.v, c.dir, got, ok, c.want, c.ok)
		}
	}
}

// Any sequence of editor moves and edits stays inside the space: the editor offers only
// choices the space has, and keeps the widths of a stage consistent.
func TestEditorEditsStayInSpace(t *testing.T) {
	for _, sp := range []*supernet.Space{tinySpace(), wideSpace()} {
		t.Run(sp.Name, func(t *testing.T) { editorWalk(t, sp) })
	}
}

// editorWalk makes 3000 random moves and edits in sp's editor, checking the architecture
// after each.
func editorWalk(t *testing.T, sp *supernet.Space) {
	e := newEditor(newStyles(), sp, sp.Input, sp.Max())
	e.SetSize(40, 10)
	rng := rand.New(rand.NewPCG(7, 7))
	refused := 0
	for step := range 3000 {
		switch rng.IntN(6) {
		case 0:
			e.Move(1, 0)
		case 1:
			e.Move(-1, 0)
		case 2:
			e.Move(0, rng.IntN(3)-1)
		case 3, 4:
			a, why := e.Step(rng.IntN(2)*2 - 1)
			if why != "" {
				refused++
				continue
			}
			e.SetArch(a)
		case 5:
			if a, why := e.Toggle(); why == "" {
				e.SetArch(a)
			}
		}
		if err := sp.Contains(e.Arch()); err != nil {
			t.Fatalf("step %d: editor left the space: %v\n%s", step, err, e.Arch())
		}
		if e.cursor < e.offset || e.cursor >= e.offset+e.height {
			t.Fatalf("step %d: cursor row %d outside the visible rows %d..%d", step, e.cursor, e.offset, e.offset+e.height-1)
		}
		if !editable(e.rows[e.cursor].kind) {
			t.Fatalf("step %d: cursor on a row that cannot be edited", step)
		}
	}
	if refused == 0 {
		t.Error("no edit was ever refused: the walk never reached an end of a choice list")
	}
}

func TestEditorWidthPropagates(t *testing.T) {
	sp := tinySpace()
	e := newEditor(newStyles(), sp, sp.Input, sp.Max())
	// Cursor starts on the stem: its width is stage 1's embedding width.
	a, why := e.Step(-1)
	if why != "" {
		t.Fatal(why)
	}
	if a.Stem.Width != 224 {
		t.Fatalf("stem width %d, want 224 (the next smaller choice)", a.Stem.Width)
	}
	for i := 0; i < 6; i++ {
		if a.Layers[i].Dim != 224 {
			t.Errorf("blocks.%d C = %d, want 224", i, a.Layers[i].Dim)
		}
	}
	if a.Layers[6].In != 224 || a.Layers[6].Out != 512 {
		t.Errorf("blocks.6 = %v, want (3, 224, 512)", a.Layers[6])
	}
	// The last reduction sets stage 3 and the head.
	e.SetArch(a)
	for e.rows[e.cursor].layer != 13 || e.rows[e.cursor].kind != rowReduction {
		e.Move(1, 0)
	}
	a, why = e.Step(-1)
	if why != "" {
		t.Fatal(why)
	}
	if a.Head.Dim != 896 || a.Layers[19].Dim != 896 {
		t.Errorf("head C %d, blocks.19 C %d; want 896 after narrowing stage 3", a.Head.Dim, a.Layers[19].Dim)
	}
}

func TestEditorRefusalsSayWhy(t *testing.T) {
	sp := tinySpace()
	e := newEditor(newStyles(), sp, sp.Input, sp.Max())
	if _, why := e.Step(1); !strings.Contains(why, "largest") || !strings.Contains(why, "stem") {
		t.Errorf("widening the largest stem: %q, want a reason naming the stem and 'largest'", why)
	}
	e.Move(1, 0) // blocks.0, which sr_tiny_mh cannot skip
	if _, why := e.Toggle(); !strings.Contains(why, "blocks.0") || !strings.Contains(why, "cannot be skipped") {
		t.Errorf("skipping blocks.0: %q", why)
	}
	e.Move(1, 0) // blocks.1 is skippable
	a, why := e.Toggle()
	if why != "" || a.Layers[1].Exists {
		t.Fatalf("skipping blocks.1: %q, exists=%v", why, a.Layers[1].Exists)
	}
	e.SetArch(a)
	a, _ = e.Toggle()
	if !a.Layers[1].Exists || a.Layers[1].Heads != 6 || a.Layers[1].MLP != 768 {
		t.Errorf("switching blocks.1 back on lost its choices: %v", a.Layers[1])
	}
}

func TestEditorFieldsFollowRows(t *testing.T) {
	sp := tinySpace()
	e := newEditor(newStyles(), sp, sp.Input, sp.Max())
	e.Move(2, 0) // blocks.1 (skippable): heads, mlp, on/off
	e.Move(0, 5) // far right: on/off
	if e.current() != fieldExists {
		t.Fatalf("field %v, want on/off", e.current())
	}
	e.Move(-1, 0) // blocks.0 has no on/off: the nearest field is mlp
	if e.current() != fieldMLP {
		t.Errorf("field on blocks.0 %v, want mlp", e.current())
	}
	e.Move(-1, 0) // the stem has only its width
	if e.current() != fieldWidth {
		t.Errorf("field on the stem %v, want width", e.current())
	}
	if e.Location() != "stem" {
		t.Errorf("location %q", e.Location())
	}
}

func TestEditorViewMarksCursorWithoutColour(t *testing.T) {
	sp := tinySpace()
	e := newEditor(newStyles(), sp, sp.Input, sp.Max())
	e.SetSize(40, 30)
	e.Move(1, 1)
	view := e.View()
	lines := strings.Split(view, "\n")
	i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "›") })
	if i < 0 || !strings.Contains(lines[i], "[768]") {
		t.Fatalf("cursor line %d not marked with › and [brackets]:\n%s", i, view)
	}
	if n := strings.Count(view, "["); n != 1 {
		t.Errorf("%d bracketed fields, want 1", n)
	}
}

// TestEditorStemMid edits the stem's mid width of fmnist-wide: the stem row's second field,
// reached with →, stepped with +/- through the space's choices only.
func TestEditorStemMid(t *testing.T) {
	sp := wideSpace()
	e := newEditor(newStyles(), sp, sp.Input, sp.Max())
	e.SetSize(40, 10)
	if got := e.fields(e.rows[0]); !slices.Equal(got, []field{fieldWidth, fieldMid}) {
		t.Fatalf("stem fields %v, want width and mid", got)
	}
	e.Move(0, 1)
	if e.current() != fieldMid {
		t.Fatalf("field %v after →, want mid", e.current())
	}
	if !strings.Contains(e.View(), "mid [12]") {
		t.Errorf("stem row does not show the mid width under the cursor:\n%s", e.View())
	}
	if _, why := e.Step(1); !strings.Contains(why, "stem mid") || !strings.Contains(why, "largest") {
		t.Errorf("widening the largest mid width: %q, want a reason naming the stem mid and 'largest'", why)
	}
	var seen []int
	for {
		a, why := e.Step(-1)
		if why != "" {
			if !strings.Contains(why, "smallest") || !strings.Contains(why, "12 8 4 2") {
				t.Errorf("narrowing the smallest mid width: %q", why)
			}
			break
		}
		if err := sp.Contains(a); err != nil {
			t.Fatalf("%s: %v", a, err)
		}
		if a.Stem.Width != e.arch.Stem.Width {
			t.Errorf("stepping the mid width changed the stem width to %d", a.Stem.Width)
		}
		e.SetArch(a)
		seen = append(seen, a.Stem.Mid)
	}
	if want := []int{8, 4, 2}; !slices.Equal(seen, want) {
		t.Errorf("mid widths stepped through %v, want %v", seen, want)
	}
	// ← goes back to the width, which steps alone.
	e.Move(0, -1)
	a, why := e.Step(-1)
	if why != "" || a.Stem.Mid != 2 || a.Stem.Width != sp.Widths[1] {
		t.Errorf("narrowing the stem width: %q, stem %+v", why, a.Stem)
	}
	// Moving from the mid field to a block lands on its first field, and back on mid.
	e.Move(0, 1)
	e.Move(1, 0)
	if e.current() != fieldHeads {
		t.Errorf("field on blocks.0 %v, want heads", e.current())
	}
}

// TestEditorStemRowWithOneMid: spaces with one mid width keep the stem row as it was, with
// the mid width in the stem's kind and the width its only field.
func TestEditorStemRowWithOneMid(t *testing.T) {
	for _, sp := range []*supernet.Space{tinySpace(), lookupSpace(t, "fmnist")} {
		e := newEditor(newStyles(), sp, sp.Input, sp.Max())
		e.SetSize(40, 3)
		if got := e.fields(e.rows[0]); !slices.Equal(got, []field{fieldWidth}) {
			t.Errorf("%s: stem fields %v, want width only", sp.Name, got)
		}
		mid := sp.StemMid
		if mid == 0 {
			mid = model.DefaultStemMid
		}
		row := strings.Split(e.View(), "\n")[0]
		want := fmt.Sprintf("%-9s C", fmt.Sprintf("conv·%d", mid))
		if !strings.Contains(row, want) || !strings.HasSuffix(strings.TrimSpace(row), fmt.Sprintf("[%d]", sp.Widths[0])) || strings.Contains(row, "mid") {
			t.Errorf("%s: stem row %q, want %q and the width under the cursor, last, and no mid field", sp.Name, row, want)
		}
	}
}

func lookupSpace(t *testing.T, name string) *supernet.Space {
	t.Helper()
	sp, err := supernet.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

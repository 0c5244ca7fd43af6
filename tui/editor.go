package tui

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/supernet"
)

// The architecture editor: one row per network_def entry, grouped by stage. The cursor sits
// on an editable row (stem, transformer block, spatial reduction) and one of its fields;
// +/- step that field to the next choice the space allows, never to anything else.
//
// The editor is a bubble with its own key table (editorKeys). It shows the architecture the
// root gives it (SetArch) and never changes it itself: an edit or a preset goes to the root
// as a request (editMsg, setArchMsg), which keeps the undo history and starts the
// evaluation, then shows the result here.

type rowKind int

const (
	rowStem rowKind = iota
	rowStage
	rowBlock
	rowReduction
	rowHead
)

type editorRow struct {
	kind  rowKind
	layer int // Arch.Layers index for rowBlock and rowReduction
	stage int // stage index for rowStage
}

// field is what +/- change on the cursor's row.
type field int

const (
	fieldWidth field = iota // stem or reduction output: a stage's embedding width
	fieldHeads
	fieldMLP
	fieldExists
	fieldMid // the conv stem's mid width, in spaces that search it
)

func (f field) String() string {
	return [...]string{"width", "heads", "mlp", "on/off", "mid"}[f]
}

type editor struct {
	st      styles
	space   *supernet.Space
	input   model.Input
	arch    model.Arch
	rows    []editorRow // fixed by the space: edits change values, never the rows
	cursor  int         // index into rows; always an editable row
	field   field       // preferred field; rows without it use their first field
	offset  int         // first visible row
	height  int
	width   int
	focused bool
	presets []Preset // offered by n, in turn
	preset  int      // next preset to load
	seed    uint64   // seeds r, with draws, so a run of r presses is reproducible
	draws   uint64
	outbox
}

func newEditor(st styles, sp *supernet.Space, in model.Input, a model.Arch) editor {
	e := editor{st: st, space: sp, input: in, arch: a}
	e.rows = append(e.rows, editorRow{kind: rowStem})
	e.rows = append(e.rows, editorRow{kind: rowStage, stage: 0})
	stage := 0
	for i, lc := range sp.Layers {
		if lc.Type == model.TypeReduction {
			stage++
			e.rows = append(e.rows, editorRow{kind: rowReduction, layer: i}, editorRow{kind: rowStage, stage: stage})
			continue
		}
		e.rows = append(e.rows, editorRow{kind: rowBlock, layer: i})
	}
	e.rows = append(e.rows, editorRow{kind: rowHead})
	return e
}

// SetSize sets the rows and columns the editor may draw.
func (e *editor) SetSize(w, h int) {
	e.width, e.height = w, h
	e.scrollToCursor()
}

func (e *editor) Focus() { e.focused = true }
func (e *editor) Blur()  { e.focused = false }

// SetPresets gives the named architectures n offers, and the seed of r.
func (e *editor) SetPresets(ps []Preset, seed uint64) { e.presets, e.seed = ps, seed }

// Update runs the editor's key table while it has focus; it takes no other message.
func (e editor) Update(msg tea.Msg) (editor, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok || !e.focused {
		return e, nil
	}
	_, why, cmd := dispatch(editorKeys(), &e, k)
	if why != "" {
		e.send(failMsg{why})
	}
	return e, cmd
}

// Keys is the editor's key table as help shows it.
func (e editor) Keys() []keyGroup { return groupsOf(editorKeys(), e) }

func editorKeys() []category[editor] {
	return []category[editor]{
		{name: "Architecture", bindings: []binding[editor]{
			bind([]string{"up", "k"}, "↑/k", "previous block", func(e *editor) tea.Cmd { e.Move(-1, 0); return nil }).inFooter(),
			bind([]string{"down", "j"}, "↓/j", "next block", func(e *editor) tea.Cmd { e.Move(1, 0); return nil }).inFooter(),
			bind([]string{"left", "h"}, "←/h", "previous field", func(e *editor) tea.Cmd { e.Move(0, -1); return nil }),
			bind([]string{"right", "l"}, "→/l", "next field", func(e *editor) tea.Cmd { e.Move(0, 1); return nil }),
			bind([]string{"+", "="}, "+", "larger choice", func(e *editor) tea.Cmd { e.edit(e.Step(1)); return nil }).inFooter(),
			bind([]string{"-", "_"}, "-", "smaller choice", func(e *editor) tea.Cmd { e.edit(e.Step(-1)); return nil }).inFooter(),
			bind([]string{" ", "enter"}, "space", "block on/off", func(e *editor) tea.Cmd { e.edit(e.Toggle()); return nil }).inFooter(),
		}},
		{name: "Presets", bindings: []binding[editor]{
			bind([]string{"M"}, "M", "largest", func(e *editor) tea.Cmd { e.load(e.space.Max(), "largest"); return nil }),
			bind([]string{"m"}, "m", "smallest", func(e *editor) tea.Cmd { e.load(e.space.Min(), "smallest"); return nil }),
			bind([]string{"r"}, "r", "random", func(e *editor) tea.Cmd { e.load(e.space.Random(e.rng()), "random architecture"); return nil }),
			bind([]string{"n"}, "n", "next named preset", (*editor).nextPreset).when(noPresets),
		}},
	}
}

// edit asks the root to apply an edit, or says why it cannot be made.
func (e *editor) edit(a model.Arch, why string) {
	if why != "" {
		e.send(failMsg{why})
		return
	}
	e.send(editMsg{a})
}

// load asks the root to show a whole architecture.
func (e *editor) load(a model.Arch, note string) { e.send(setArchMsg{a, note}) }

func (e *editor) nextPreset() tea.Cmd {
	p := e.presets[e.preset%len(e.presets)]
	e.preset++
	e.load(p.Arch, "preset "+p.Name)
	return nil
}

func noPresets(e editor) string {
	if len(e.presets) == 0 {
		return "no named preset fits space " + e.space.Name
	}
	return ""
}

// rng returns the generator for the next random architecture: seeded, and advanced by a
// counter the editor keeps, so a run of r presses is reproducible.
func (e *editor) rng() *rand.Rand {
	e.draws++
	return rand.New(rand.NewPCG(e.seed, e.draws))
}

// SetArch shows a (which the caller has checked against the space).
func (e *editor) SetArch(a model.Arch) { e.arch = a }

// Arch is the architecture shown.
func (e editor) Arch() model.Arch { return e.arch }

func editable(k rowKind) bool { return k == rowStem || k == rowBlock || k == rowReduction }

// fields lists the fields of row r, in screen order.
func (e editor) fields(r editorRow) []field {
	switch r.kind {
	case rowStem:
		if e.midSearched() {
			return []field{fieldWidth, fieldMid}
		}
		return []field{fieldWidth}
	case rowReduction:
		return []field{fieldWidth}
	case rowBlock:
		if e.space.Layers[r.layer].Skippable {
			return []field{fieldHeads, fieldMLP, fieldExists}
		}
		return []field{fieldHeads, fieldMLP}
	}
	return nil
}

// midSearched reports whether the space searches the stem's mid width, which the stem row
// then offers as a second field.
func (e editor) midSearched() bool { return len(e.space.StemMidChoices()) > 1 }

// current is the field +/- act on: the preferred one if the row has it, else the nearest.
func (e editor) current() field {
	fs := e.fields(e.rows[e.cursor])
	if slices.Contains(fs, e.field) {
		return e.field
	}
	if e.field == fieldExists && len(fs) > 1 {
		return fs[len(fs)-1]
	}
	return fs[0]
}

// Move moves the cursor by dy editable rows and dx fields.
func (e *editor) Move(dy, dx int) {
	for step := 0; dy != 0; {
		step = 1
		if dy < 0 {
			step = -1
		}
		next := e.cursor + step
		for next >= 0 && next < len(e.rows) && !editable(e.rows[next].kind) {
			next += step
		}
		if next < 0 || next >= len(e.rows) {
			break
		}
		e.cursor = next
		dy -= step
	}
	if dx != 0 {
		fs := e.fields(e.rows[e.cursor])
		i := slices.Index(fs, e.current()) + dx
		e.field = fs[max(0, min(len(fs)-1, i))]
	}
	e.scrollToCursor()
}

func (e *editor) scrollToCursor() {
	if e.height <= 0 {
		return
	}
	// Show the stage header above the first block of a stage along with it.
	top := e.cursor
	if top > 0 && e.rows[top-1].kind == rowStage {
		top--
	}
	if top < e.offset {
		e.offset = top
	}
	if e.cursor >= e.offset+e.height {
		e.offset = e.cursor - e.height + 1
	}
	e.offset = max(0, min(e.offset, len(e.rows)-e.height))
}

// Location names the entry under the cursor as the state_dict does.
func (e editor) Location() string {
	r := e.rows[e.cursor]
	if r.kind == rowStem {
		return "stem"
	}
	return fmt.Sprintf("blocks.%d", r.layer)
}

// Step returns the architecture with the cursor's field moved dir choices towards larger
// (dir > 0) or smaller values, or a reason why it cannot move.
func (e editor) Step(dir int) (model.Arch, string) {
	r := e.rows[e.cursor]
	a := e.arch.Clone()
	f := e.current()
	var choices []int
	var val *int
	switch {
	case r.kind == rowStem && f == fieldMid:
		choices, val = e.space.StemMidChoices(), &a.Stem.Mid
	case r.kind == rowStem:
		choices, val = e.space.Widths, &a.Stem.Width
	case r.kind == rowReduction:
		choices, val = e.space.Layers[r.layer].Widths, &a.Layers[r.layer].Out
	case f == fieldHeads:
		choices, val = e.space.Layers[r.layer].Heads, &a.Layers[r.layer].Heads
	case f == fieldMLP:
		choices, val = e.space.Layers[r.layer].MLP, &a.Layers[r.layer].MLP
	default:
		return e.Toggle()
	}
	next, ok := stepChoice(choices, *val, dir)
	if !ok {
		end := "largest"
		if dir < 0 {
			end = "smallest"
		}
		return model.Arch{}, fmt.Sprintf("%s %s is already the %s choice (%s)", e.Location(), f, end, joinInts(choices))
	}
	*val = next
	propagateWidths(&a)
	if err := e.space.Contains(a); err != nil {
		return model.Arch{}, err.Error()
	}
	return a, ""
}

// Toggle returns the architecture with the cursor's block switched on or off.
func (e editor) Toggle() (model.Arch, string) {
	r := e.rows[e.cursor]
	if r.kind != rowBlock {
		return model.Arch{}, e.Location() + " is not a transformer block: only blocks switch on and off"
	}
	if !e.space.Layers[r.layer].Skippable {
		return model.Arch{}, e.Location() + " cannot be skipped in space " + e.space.Name
	}
	a := e.arch.Clone()
	a.Layers[r.layer].Exists = !a.Layers[r.layer].Exists
	return a, ""
}

// stepChoice moves from v to the neighbouring choice: choices are in descending order, so
// larger values sit at lower indices. A v between choices snaps to the next one each way.
func stepChoice(choices []int, v, dir int) (int, bool) {
	best, found := 0, false
	for _, c := range choices {
		if (dir > 0 && c > v && (!found || c < best)) || (dir < 0 && c < v && (!found || c > best)) {
			best, found = c, true
		}
	}
	return best, found
}

// propagateWidths rewrites every block's C, every reduction's C_in and the head's C from the
// stem and reduction output widths (the reference's update_embed_size).
func propagateWidths(a *model.Arch) {
	cur := a.Stem.Width
	for i := range a.Layers {
		l := &a.Layers[i]
		switch l.Type {
		case model.TypeReduction:
			l.In = cur
			cur = l.Out
		case model.TypeBlock:
			l.Dim = cur
		}
	}
	a.Head.Dim = cur
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, " ")
}

// View draws the visible rows.
func (e editor) View() string {
	if e.height <= 0 {
		return ""
	}
	stages := e.arch.Stages()
	lines := make([]string, 0, e.height)
	for i := e.offset; i < len(e.rows) && len(lines) < e.height; i++ {
		lines = append(lines, e.rowView(e.st, i, stages))
	}
	return strings.Join(lines, "\n")
}

func (e editor) rowView(st styles, i int, stages []model.Stage) string {
	r := e.rows[i]
	here := i == e.cursor
	mark := "  "
	if here {
		mark = "› "
		if e.focused {
			mark = st.key.Render("›") + " "
		}
	}
	// cell right-aligns text in w columns and brackets it when the cursor is on it, so the
	// cursor shows without colour and the columns stay put.
	cell := func(f field, text string, w int) string {
		pad := strings.Repeat(" ", max(0, w-len([]rune(text))))
		if here && f == e.current() {
			return pad + "[" + st.selected.Render(text) + "]"
		}
		return pad + " " + text + " "
	}
	switch r.kind {
	case rowStem:
		width := cell(fieldWidth, fmt.Sprint(e.arch.Stem.Width), 4)
		if e.midSearched() { // the mid width is a field of its own
			return mark + fmt.Sprintf("stem  %-9s C", "conv") + width + " mid" + cell(fieldMid, fmt.Sprint(e.arch.Stem.Mid), 3)
		}
		kind := "linear"
		if e.arch.Stem.Type != model.TypeLinearStem {
			mid := e.arch.Stem.Mid
			if mid == 0 {
				mid = model.DefaultStemMid
			}
			kind = fmt.Sprintf("conv·%d", mid)
		}
		return mark + fmt.Sprintf("stem  %-9s C", kind) + width
	case rowStage:
		s := stages[min(r.stage, len(stages)-1)]
		head := fmt.Sprintf("stage %d · C %d · %d/%d blocks", s.Index+1, s.Width, s.Depth(e.arch), len(s.Blocks))
		if g := s.Grid(e.input); g > 0 {
			head = fmt.Sprintf("stage %d · %d×%d · C %d · %d/%d on", s.Index+1, g, g, s.Width, s.Depth(e.arch), len(s.Blocks))
		}
		return "  " + st.dim.Render(head)
	case rowReduction:
		l := e.arch.Layers[r.layer]
		return mark + fmt.Sprintf("SR b%-2d  %4d →", r.layer, l.In) + cell(fieldWidth, fmt.Sprint(l.Out), 4)
	case rowHead:
		return st.dim.Render(fmt.Sprintf("  head      %4d → %d classes", e.arch.Head.Dim, e.arch.Head.Classes))
	}
	l := e.arch.Layers[r.layer]
	on := "·" // a block the space cannot skip
	if e.space.Layers[r.layer].Skippable {
		on = "off"
		if l.Exists {
			on = "on"
		}
	}
	heads := fmt.Sprintf("%d×%d", l.Heads, l.HeadDim)
	body := fmt.Sprintf("b%-2d ", r.layer) + cell(fieldHeads, heads, 5) + cell(fieldMLP, fmt.Sprint(l.MLP), 4) + cell(fieldExists, on, 3)
	if !l.Exists {
		return mark + st.dim.Render(body)
	}
	return mark + body
}

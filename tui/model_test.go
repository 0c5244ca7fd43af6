package tui

import (
	"context"
	"errors"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/profiler"
)

func TestEditUpdatesMACsAndDeltas(t *testing.T) {
	m := sized(t, testOptions(), 80, 24)
	in := m.opts.Input
	if want := profiler.MACs(m.opts.Space.Max(), in); m.macs != want || m.maxMACs != want {
		t.Fatalf("start: MACs %d (max %d), want the largest's %d", m.macs, m.maxMACs, want)
	}
	before := m.arch
	m = keys(t, m, "j", "-") // blocks.0: 6 heads → 5
	if m.arch.Layers[0].Heads != 5 {
		t.Fatalf("blocks.0 heads %d, want 5", m.arch.Layers[0].Heads)
	}
	macs, params := profiler.Count(m.arch, in)
	if m.macs != macs || m.params != params {
		t.Errorf("MACs/params %d/%d, profiler says %d/%d", m.macs, m.params, macs, params)
	}
	if !m.prev.Equal(before) || m.prevMACs != profiler.MACs(before, in) {
		t.Error("the previous architecture is not the one before the edit")
	}
	view := m.View()
	if !strings.Contains(view, "MACs   "+siCount(macs)) || !strings.Contains(view, relDelta(macs, m.maxMACs)) {
		t.Errorf("view lacks the new MACs %s and its delta %s:\n%s", siCount(macs), relDelta(macs, m.maxMACs), view)
	}
}

func TestEvaluationQuickThenFullAndCached(t *testing.T) {
	calls := &callLog{}
	opts := testOptions()
	opts.Evaluator = fakeEvaluator{in: opts.Space.Input, calls: calls}
	m := sized(t, opts, 80, 24)
	reqs := calls.requests()
	if len(reqs) != 2 || reqs[0].Limit != defaultQuick || reqs[1].Limit != 0 {
		t.Fatalf("first evaluation requests %+v, want a quick one (%d images) then the full set", reqs, defaultQuick)
	}
	est := m.eval.cache[m.currentKey()]
	if !est.Final || est.Top1 != fakeTop1(m.arch, m.opts.Input) {
		t.Fatalf("estimate %+v, want the final one", est)
	}
	m = keys(t, m, "j", "-", "+") // edit and edit back: the largest is cached
	reqs = calls.requests()
	if len(reqs) != 4 {
		t.Errorf("%d requests after an edit and its reverse, want 4 (the reverse is cached)", len(reqs))
	}
	if got := m.hist.points; len(got) != 2 {
		t.Errorf("history has %d points, want 2", len(got))
	}
}

func TestStaleEvaluationIsDropped(t *testing.T) {
	m := sized(t, testOptions(), 80, 24)
	m = keys(t, m, "j")
	tm, cmd := m.Update(keyMsg("-"))
	m = tm.(Model)
	if cmd == nil {
		t.Fatal("an edit started no evaluation")
	}
	staleGen := m.eval.gen
	tm, _ = m.Update(keyMsg("-")) // a second edit supersedes the first evaluation
	m = tm.(Model)
	stale := evalResultMsg{gen: staleGen, key: evalKey{"stale", false}, arch: m.arch,
		est: Estimate{Top1: 1, CI95: 9, Images: defaultQuick}}
	tm, cmd = m.Update(stale)
	m = tm.(Model)
	if cmd != nil {
		t.Error("a stale quick estimate started a full evaluation")
	}
	if !m.eval.running {
		t.Error("a stale result ended the current evaluation")
	}
	if strings.Contains(m.View(), "1.00%") {
		t.Error("a stale estimate reached the screen")
	}
}

func TestEvaluationErrorIsShown(t *testing.T) {
	opts := testOptions()
	opts.Evaluator = EvaluatorFunc(func(context.Context, EvalRequest) (Estimate, error) {
		return Estimate{}, errors.New("shard 3: checksum mismatch\nmore detail")
	})
	m := sized(t, opts, 80, 24)
	view := m.View()
	if !strings.Contains(view, "shard 3: checksum mismatch") || strings.Contains(view, "more detail") {
		t.Errorf("the error's first line should show, once per line:\n%s", view)
	}
}

func TestBNToggleReevaluates(t *testing.T) {
	calls := &callLog{}
	opts := testOptions()
	opts.Evaluator = fakeEvaluator{in: opts.Space.Input, calls: calls}
	m := sized(t, opts, 80, 24)
	m = keys(t, m, "B")
	reqs := calls.requests()
	if last := reqs[len(reqs)-1]; !last.RecalibrateBN || !last.Arch.Equal(m.arch) {
		t.Fatalf("after B the last request is %+v, want the current arch with BN recalibration", last)
	}
	if !strings.Contains(m.View(), "recalibrated") {
		t.Error("the BN mode is not shown")
	}
	m = keys(t, m, "B")
	if n := len(calls.requests()); n != len(reqs) {
		t.Errorf("toggling back evaluated again (%d → %d requests); the estimate was cached", len(reqs), n)
	}
}

func TestUndoRedo(t *testing.T) {
	m := sized(t, testOptions(), 80, 24)
	start := m.arch
	m = keys(t, m, "j", "-", "l", "-")
	edited := m.arch
	m = keys(t, m, "u", "u")
	if !m.arch.Equal(start) {
		t.Fatal("two undos did not restore the start")
	}
	m = keys(t, m, "u")
	if !strings.Contains(m.View(), "nothing to undo") {
		t.Error("undo with nothing to undo does not say so")
	}
	m = keys(t, m, "ctrl+r", "ctrl+r")
	if !m.arch.Equal(edited) {
		t.Error("two redos did not restore the edits")
	}
}

func TestPresetsAndRandom(t *testing.T) {
	m := sized(t, testOptions(), 80, 24)
	m = keys(t, m, "m")
	if !m.arch.Equal(m.opts.Space.Min()) {
		t.Error("m did not load the smallest architecture")
	}
	m = keys(t, m, "M")
	if !m.arch.Equal(m.opts.Space.Max()) {
		t.Error("M did not load the largest architecture")
	}
	m = keys(t, m, "r")
	r1 := m.arch
	if err := m.opts.Space.Contains(r1); err != nil {
		t.Fatal(err)
	}
	// The same seed gives the same random architecture.
	m2 := keys(t, sized(t, testOptions(), 80, 24), "r")
	if !m2.arch.Equal(r1) {
		t.Error("random architectures differ between runs with one seed")
	}
	// ViT-ResNAS-Tiny is a member of sr_tiny_mh, so it is a preset.
	m = keys(t, m, "n")
	tiny, _ := model.Preset("vit-resnas-tiny")
	if m.arch.Compact().String() != tiny.String() {
		t.Errorf("n loaded %s, want ViT-ResNAS-Tiny", m.arch.Compact())
	}
}

func TestYankAndPaste(t *testing.T) {
	var copied string
	opts := testOptions()
	opts.CopyText = func(s string) error { copied = s; return nil }
	m := sized(t, opts, 80, 24)
	m = keys(t, m, "j", "-")
	want := m.arch
	m = keys(t, m, "y")
	if copied != want.String() {
		t.Fatalf("clipboard got %q", copied)
	}
	m = keys(t, m, "M", "P")
	if !m.prompt.open() || m.prompt.input.Value() != want.String() {
		t.Fatalf("paste prompt not prefilled with the yanked def: %q", m.prompt.input.Value())
	}
	m = keys(t, m, "enter")
	if !m.arch.Equal(want) || m.prompt.open() {
		t.Fatal("pasting the yanked def did not load it")
	}
	// A compact def (skipped blocks deleted) is put back in place; ViT-ResNAS-Tiny has 5+6+5.
	tiny, _ := model.Preset("vit-resnas-tiny")
	m = keys(t, m, "P")
	m.prompt.input.SetValue(tiny.String())
	m = keys(t, m, "enter")
	if m.arch.Compact().String() != tiny.String() {
		t.Errorf("pasted compact def loaded as %s", m.arch)
	}
	// A def from another space keeps the prompt open with the reason.
	m = keys(t, m, "P")
	small, _ := model.Preset("vit-resnas-small")
	m.prompt.input.SetValue(small.String())
	m = keys(t, m, "enter")
	if !m.prompt.open() || !m.status.isErr {
		t.Fatal("a def outside the space was accepted")
	}
	if !strings.Contains(m.View(), "✗") {
		t.Error("the prompt does not show why the def was refused")
	}
	m = keys(t, m, "esc")
	if m.prompt.open() {
		t.Error("esc did not close the prompt")
	}
}

func TestPromptTakesLetterKeys(t *testing.T) {
	m := sized(t, testOptions(), 80, 24)
	m = keys(t, m, "P", "q", "j")
	if !m.prompt.open() || m.prompt.input.Value() != "qj" {
		t.Fatalf("while typing, q and j must type: value %q, open %v", m.prompt.input.Value(), m.prompt.open())
	}
}

func TestDisabledKeySaysWhy(t *testing.T) {
	opts := testOptions()
	opts.Throughput = nil
	m := sized(t, opts, 80, 24)
	m = keys(t, m, "t")
	if !strings.Contains(m.View(), "no throughput meter") {
		t.Error("t without a meter does not say why")
	}
	m = keys(t, m, "tab", "tab") // search pane, no searcher
	m = keys(t, m, "p")
	if !strings.Contains(m.View(), "no searcher") {
		t.Error("p without a searcher does not say why")
	}
}

func TestThroughputMeasured(t *testing.T) {
	m := sized(t, testOptions(), 80, 24)
	m = keys(t, m, "t")
	r := m.rates[m.keyOf(m.arch)]
	if r.ImagesPerSec <= 0 || !strings.Contains(m.View(), "img/s") {
		t.Fatalf("throughput %+v not stored or shown", r)
	}
	// The throughput axis shows only measured architectures.
	m = keys(t, m, "tab", "v")
	if m.plot.Len() != 1 || !strings.Contains(m.View(), "images/s") {
		t.Errorf("throughput plot has %d points, want 1", m.plot.Len())
	}
}

func TestHelpComesFromKeyTables(t *testing.T) {
	m := sized(t, testOptions(), 120, 40)
	m = keys(t, m, "?")
	view := m.View()
	for _, g := range m.keyGroups(m.focus) {
		for _, k := range g.keys {
			shown := strings.Contains(view, k.Help().Desc)
			if on := k.why == ""; on != shown {
				t.Errorf("help shows %q: %v, but the key can act: %v", k.Help().Desc, shown, on)
			}
		}
	}
	m = keys(t, m, "esc")
	if m.showHelp {
		t.Error("esc did not close help")
	}
}

func TestQuitWithoutSearch(t *testing.T) {
	m := sized(t, testOptions(), 80, 24)
	_, cmd := m.Update(keyMsg("q"))
	if cmd == nil {
		t.Fatal("q did nothing")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Error("q without a running search did not quit")
	}
	if m.ctx.Err() == nil {
		t.Error("quitting did not cancel background work")
	}
}

func TestSmallTerminalShowsOnlyFocusedPane(t *testing.T) {
	m := sized(t, testOptions(), 60, 20)
	for _, l := range strings.Split(m.View(), "\n") {
		if w := len([]rune(l)); w > 60 {
			t.Fatalf("line wider than the terminal (%d): %q", w, l)
		}
	}
	if strings.Contains(m.View(), "Trade-off") {
		t.Error("a 60-column terminal shows two panes side by side")
	}
}

func TestViewFitsTerminal(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}, {100, 30}, {72, 24}} {
		m := sized(t, testOptions(), size[0], size[1])
		for _, ks := range [][]string{nil, {"tab"}, {"tab", "tab"}, {"?"}} {
			v := keys(t, m, ks...).View()
			lines := strings.Split(v, "\n")
			if len(lines) != size[1] {
				t.Errorf("%dx%d after %v: %d lines", size[0], size[1], ks, len(lines))
			}
			for _, l := range lines {
				if w := len([]rune(l)); w != size[0] {
					t.Errorf("%dx%d after %v: line of width %d: %q", size[0], size[1], ks, w, l)
					break
				}
			}
		}
	}
}

func TestPasteIntoScreenOpensPrompt(t *testing.T) {
	m := sized(t, testOptions(), 80, 24)
	def := m.opts.Space.Min().String()
	m = drive(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(def), Paste: true})
	if !m.prompt.open() || m.prompt.input.Value() != def {
		t.Fatalf("pasting a def did not open the paste prompt with it (value %q)", m.prompt.input.Value())
	}
	m = keys(t, m, "enter")
	if !m.arch.Equal(m.opts.Space.Min()) {
		t.Error("the pasted def was not loaded")
	}
}

func TestCtrlCInPromptQuits(t *testing.T) {
	m := sized(t, testOptions(), 80, 24)
	m = keys(t, m, "P")
	_, cmd := m.Update(keyMsg("ctrl+c"))
	if cmd == nil {
		t.Fatal("ctrl+c in a prompt did nothing")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Error("ctrl+c in a prompt did not quit")
	}
}

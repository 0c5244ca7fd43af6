package tui

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/profiler"
)

// Goldens of every view at 80×24 and 120×40, in testdata/TestGolden/<view>_<w>x<h>.golden;
// go test ./tui -run TestGolden -update rewrites them. Each model is brought to its state
// by Update alone (deterministic: fakes, a fixed seed, a clock the test sets), then run as a
// real program under teatest, which must show it; the golden is the program's final view.
func TestGolden(t *testing.T) {
	views := []struct {
		name  string
		setup func(t *testing.T, w, h int) Model
	}{
		{"editor", func(t *testing.T, w, h int) Model {
			return keys(t, sized(t, testOptions(), w, h), "j", "j", "-", "l", "-", "l", " ", "t")
		}},
		{"editor_mid", func(t *testing.T, w, h int) Model {
			// A space that searches the stem's mid width: the stem row has it as a second field.
			return keys(t, sized(t, wideOptions(), w, h), "l", "-")
		}},
		{"plot", func(t *testing.T, w, h int) Model {
			return keys(t, withPoints(t, w, h), "tab", "j", "j")
		}},
		{"search", func(t *testing.T, w, h int) Model { return searchGoldenModel(t, w, h) }},
		{"help", func(t *testing.T, w, h int) Model {
			return keys(t, sized(t, testOptions(), w, h), "?")
		}},
		{"predicted", predictedGoldenModel},
		{"measured", func(t *testing.T, w, h int) Model {
			opts, _ := predictorOptions(12)
			return keys(t, sized(t, opts, w, h), "j", "-")
		}},
	}
	for _, v := range views {
		for _, size := range [][2]int{{80, 24}, {120, 40}} {
			w, h := size[0], size[1]
			t.Run(fmt.Sprintf("%s_%dx%d", v.name, w, h), func(t *testing.T) {
				m := v.setup(t, w, h)
				want := m.View()
				tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(w, h))
				marker := []byte(m.titleView()[:20])
				teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, marker) },
					teatest.WithDuration(5*time.Second))
				if err := tm.Quit(); err != nil {
					t.Fatal(err)
				}
				got := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).View()
				if got != want {
					t.Fatalf("the running program changed the view:\n%s\nwant:\n%s", got, want)
				}
				golden.RequireEqual(t, []byte(got))
			})
		}
	}
}

// predictedGoldenModel is the frame after an edit, its evaluation under way: the top-1 line
// shows the prediction. The evaluation never ends while the program runs (a closed gate at
// the end of the test lets it go).
func predictedGoldenModel(t *testing.T, w, h int) Model {
	opts, _ := predictorOptions(12)
	m := keys(t, sized(t, opts, w, h), "j")
	gate := make(chan struct{})
	t.Cleanup(func() { close(gate) })
	m.opts.Evaluator = fakeEvaluator{in: opts.Space.Input, gate: gate}
	m, _ = step(t, m, keyMsg("-"))
	return m
}

// searchGoldenModel is a search three generations in, with rate and ETA from the clock.
func searchGoldenModel(t *testing.T, w, h int) Model {
	now := testTime()
	s := newFakeSearcher(64)
	opts := testOptions()
	opts.Searcher = s
	opts.Clock = manualClock{&now}
	m := keys(t, sized(t, opts, w, h), "tab", "tab")
	m = keys(t, m, "s")
	m.prompt.input.SetValue("1.8G 20")
	m, cmd := step(t, m, keyMsg("enter"))
	m, wait := step(t, m, cmd())
	rng := rand.New(rand.NewPCG(3, 3))
	done := 0
	for gen := range 3 {
		for range 8 {
			done++
			a := m.opts.Space.Random(rng)
			top1 := fakeTop1(a, m.opts.Input)
			s.events <- SearchEvent{Kind: SearchEvaluated, Generation: gen, Arch: a, Done: done, Total: 160,
				Estimate: Estimate{Top1: top1, CI95: 0.5, Images: 25000, Final: true, Correct: fakeCorrect(a, top1, 25000)}}
		}
		s.events <- SearchEvent{Kind: SearchGeneration, Generation: gen, Done: done, Total: 160}
		now = now.Add(90 * time.Second)
		m, wait = step(t, m, wait())
	}
	_ = wait
	return m
}

// The flows run the real program: keys go in, the screen is read back.

// waitText waits until the output since the last wait holds every one of texts. (WaitFor
// consumes what it reads, so texts drawn in one frame must be waited for together.)
func waitText(t *testing.T, tm *teatest.TestModel, texts ...string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		for _, s := range texts {
			if !bytes.Contains(b, []byte(s)) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(5*time.Second))
}

func finalModel(t *testing.T, tm *teatest.TestModel) Model {
	t.Helper()
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	return tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(Model)
}

// afterFirstEdit is the MACs line the flows expect after "j-" (blocks.0: 6 heads → 5).
func afterFirstEdit() string {
	a := tinySpace().Max()
	a.Layers[0].Heads = 5
	return "MACs   " + siCount(profiler.MACs(a, model.ReferenceInput()))
}

func TestFlowEditShowsNewMACs(t *testing.T) {
	tm := teatest.NewTestModel(t, New(testOptions()), teatest.WithInitialTermSize(80, 24))
	waitText(t, tm, "MACs   3.498G")
	tm.Type("j-")
	waitText(t, tm, afterFirstEdit())
	m := finalModel(t, tm)
	if m.arch.Layers[0].Heads != 5 {
		t.Errorf("blocks.0 heads %d, want 5", m.arch.Layers[0].Heads)
	}
}

// steppedEvaluator answers one evaluation per token the test sends; a cancelled evaluation
// hands its token back.
type steppedEvaluator struct {
	fakeEvaluator
	tokens chan struct{}
}

func (s steppedEvaluator) Evaluate(ctx context.Context, req EvalRequest) (Estimate, error) {
	if err := ctx.Err(); err != nil {
		return Estimate{}, err
	}
	select {
	case <-s.tokens:
		if err := ctx.Err(); err != nil {
			s.tokens <- struct{}{}
			return Estimate{}, err
		}
	case <-ctx.Done():
		return Estimate{}, ctx.Err()
	}
	return s.fakeEvaluator.Evaluate(ctx, req)
}

func TestFlowEstimateAppearsAndRefines(t *testing.T) {
	opts := testOptions()
	ev := steppedEvaluator{fakeEvaluator{in: opts.Space.Input}, make(chan struct{}, 8)}
	opts.Evaluator = ev
	tm := teatest.NewTestModel(t, New(opts), teatest.WithInitialTermSize(80, 24))
	waitText(t, tm, "evaluating 256 images")
	tm.Type("j-") // supersedes the first evaluation
	waitText(t, tm, afterFirstEdit())
	ev.tokens <- struct{}{}
	waitText(t, tm, "256 img · refin", "[eval all images]")
	ev.tokens <- struct{}{}
	waitText(t, tm, "25000 img")
	m := finalModel(t, tm)
	est := m.eval.cache[m.currentKey()]
	if !est.Final || est.Top1 != fakeTop1(m.arch, m.opts.Input) {
		t.Errorf("final estimate %+v", est)
	}
	if _, ok := m.eval.cache[evalKey{m.keyOf(m.opts.Space.Max()), false}]; ok {
		t.Error("the superseded evaluation of the largest architecture finished anyway")
	}
}

func TestFlowSlowEvaluatorKeysStillAnswer(t *testing.T) {
	gate := make(chan struct{})
	opts := testOptions()
	opts.Evaluator = fakeEvaluator{in: opts.Space.Input, gate: gate}
	tm := teatest.NewTestModel(t, New(opts), teatest.WithInitialTermSize(80, 24))
	tm.Type("j-") // starts an evaluation that cannot finish
	tm.Type("?")  // help must still open
	waitText(t, tm, "toggle help")
	tm.Type("?j")
	waitText(t, tm, "› b1")
	close(gate)
	finalModel(t, tm)
}

func TestFlowSearchStartPauseResume(t *testing.T) {
	s := newFakeSearcher(16)
	opts := testOptions()
	opts.Searcher = s
	tm := teatest.NewTestModel(t, New(opts), teatest.WithInitialTermSize(120, 40))
	waitText(t, tm, "No search yet")
	tm.Send(tea.KeyMsg{Type: tea.KeyTab})
	tm.Send(tea.KeyMsg{Type: tea.KeyTab})
	tm.Type("s")
	waitText(t, tm, "start search")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter}) // the offered budget: the current MACs, 20 generations
	waitText(t, tm, "running · gen 1/20")
	s.events <- SearchEvent{Kind: SearchEvaluated, Generation: 0, Arch: opts.Space.Min(), Done: 50, Total: 1000,
		Estimate: Estimate{Top1: 70.5, CI95: 0.5, Images: 25000, Final: true}}
	s.events <- SearchEvent{Kind: SearchGeneration, Generation: 0, Done: 50, Total: 1000}
	waitText(t, tm, "best in budget 70.50%")
	tm.Type("p")
	waitText(t, tm, "paused · gen 2/20")
	tm.Type("p")
	waitText(t, tm, "running · gen 2/20")
	tm.Type("q")
	waitText(t, tm, "Stop it and quit?")
	tm.Type("y")
	m := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(Model)
	if m.search.state != searchDone {
		t.Errorf("final search state %v, want done", m.search.state)
	}
	if want := "start pause resume stop"; fmt.Sprint(s.Ops()) != "["+want+"]" {
		t.Errorf("searcher saw %v, want %s", s.Ops(), want)
	}
	if s.budget.MaxMACs != 3_497_553_920 || s.budget.Generations != 20 {
		t.Errorf("budget %+v, want the offered 100%% (3497553920 MACs) and 20 generations", s.budget)
	}
}

func TestFlowSelectParetoPointLoadsIt(t *testing.T) {
	m := withPoints(t, 120, 40)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 40))
	tm.Send(tea.KeyMsg{Type: tea.KeyTab})
	tm.Type("jj")
	waitText(t, tm, "enter loads")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitText(t, tm, "loaded")
	fm := finalModel(t, tm)
	sel, ok := fm.plot.Selected()
	if !ok || !fm.arch.Equal(sel.arch) || !fm.editor.Arch().Equal(sel.arch) {
		t.Fatal("the editor does not show the selected point")
	}
	if !slicesContains(fm.plot.front, sel.key, fm.plot.pts) {
		t.Error("↓ selected a point off the front")
	}
}

func slicesContains(front []int, key string, pts []point) bool {
	for _, i := range front {
		if pts[i].key == key {
			return true
		}
	}
	return false
}

func TestFlowExportWritesFiles(t *testing.T) {
	dir := t.TempDir() + "/export"
	tm := teatest.NewTestModel(t, New(testOptions()), teatest.WithInitialTermSize(80, 24))
	waitText(t, tm, "25000 img")
	tm.Type("e")
	waitText(t, tm, "export to folder")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlU}) // clear the offered folder
	tm.Type(dir)
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitText(t, tm, "exported 3 files")
	finalModel(t, tm)
	for _, f := range []string{"network_def.txt", plotFile, historyFile} {
		if _, err := os.Stat(dir + "/" + f); err != nil {
			t.Error(err)
		}
	}
}

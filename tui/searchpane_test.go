package tui

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/profiler"
)

// step applies one message and returns the model and its Cmd, unrun.
func step(t *testing.T, m Model, msg tea.Msg) (Model, tea.Cmd) {
	t.Helper()
	tm, cmd := m.Update(msg)
	return tm.(Model), cmd
}

// searchModel returns a model on the search pane, with a fake searcher and a clock the test
// moves.
func searchModel(t *testing.T, now *time.Time) (Model, *fakeSearcher) {
	t.Helper()
	s := newFakeSearcher(64)
	opts := testOptions()
	opts.Searcher = s
	opts.Clock = manualClock{now}
	m := sized(t, opts, 120, 40)
	return keys(t, m, "tab", "tab"), s
}

// startSearch types the budget and returns the model waiting for events, and the wait.
func startSearch(t *testing.T, m Model, budget string) (Model, tea.Cmd) {
	t.Helper()
	m = keys(t, m, "s")
	if !m.prompt.open() {
		t.Fatal("s did not ask for a budget")
	}
	m.prompt.input.SetValue(budget)
	m, cmd := step(t, m, keyMsg("enter"))
	if m.search.state != searchStarting || !m.status.running(jobSearch) {
		t.Fatalf("state %v after enter, want starting and a search job", m.search.state)
	}
	m, wait := step(t, m, cmd())
	if m.search.state != searchRunning {
		t.Fatalf("state %v after Start, want running", m.search.state)
	}
	return m, wait
}

func evaluated(m Model, gen, done, total int, seed uint64) SearchEvent {
	arch := m.opts.Space.Random(rand.New(rand.NewPCG(seed, 0)))
	return SearchEvent{Kind: SearchEvaluated, Generation: gen, Arch: arch,
		Estimate: Estimate{Top1: fakeTop1(arch, m.opts.Input), CI95: 0.5, Images: 25000, Final: true}, Done: done, Total: total}
}

// scored is an evaluation of arch with the given top-1.
func scored(arch model.Arch, gen, done, total int, top1 float64) SearchEvent {
	return SearchEvent{Kind: SearchEvaluated, Generation: gen, Arch: arch,
		Estimate: Estimate{Top1: top1, CI95: 0.5, Images: 25000, Final: true}, Done: done, Total: total}
}

// archUnder is a random architecture of m's space with at most maxMACs MACs.
func archUnder(t *testing.T, m Model, maxMACs int64, seed uint64) model.Arch {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	for range 1000 {
		if a := m.opts.Space.Random(rng); profiler.MACs(a, m.opts.Input) <= maxMACs {
			return a
		}
	}
	t.Fatalf("no random architecture under %d MACs", maxMACs)
	return model.Arch{}
}

func TestSearchLifecycle(t *testing.T) {
	now := testTime()
	m, s := searchModel(t, &now)
	m, wait := startSearch(t, m, "2.5G 3")
	if s.budget != (Budget{MaxMACs: 2_500_000_000, Generations: 3}) {
		t.Fatalf("Start got budget %+v", s.budget)
	}
	// Two candidates and the end of generation 0, a minute in.
	now = now.Add(time.Minute)
	s.events <- scored(archUnder(t, m, 2_500_000_000, 1), 0, 1, 6, 71.5)
	s.events <- scored(archUnder(t, m, 2_500_000_000, 2), 0, 2, 6, 67)
	s.events <- SearchEvent{Kind: SearchGeneration, Generation: 0, Done: 2, Total: 6}
	m, wait = step(t, m, wait())
	if len(m.hist.points) != 3 { // the editor's largest plus two searched
		t.Fatalf("history has %d points, want the searched ones too", len(m.hist.points))
	}
	if got := m.search; got.generation != 0 || got.done != 2 || got.perMinute != 2 || got.eta != 2*time.Minute {
		t.Errorf("after 2 of 6 evals in a minute: gen %d, done %d, %.1f/min, ETA %v; want 0, 2, 2.0, 2m",
			got.generation, got.done, got.perMinute, got.eta)
	}
	view := m.View()
	for _, want := range []string{"running · gen 2/3", "best in budget 71.50%", "gen 1 median 69.25%", "2.0 evals/min", "ETA 2m00s", "[search gen 2/3]"} {
		if !strings.Contains(view, want) {
			t.Errorf("view lacks %q:\n%s", want, view)
		}
	}

	// Pause: the paused minute does not count towards the rate.
	m, cmd := step(t, m, keyMsg("p"))
	m, _ = step(t, m, cmd())
	if m.search.state != searchPaused || !strings.Contains(m.View(), "paused") {
		t.Fatal("p did not pause")
	}
	now = now.Add(time.Minute)
	m, cmd = step(t, m, keyMsg("p"))
	m, _ = step(t, m, cmd())
	if m.search.state != searchRunning {
		t.Fatal("p did not resume")
	}
	now = now.Add(time.Minute)
	s.events <- scored(archUnder(t, m, 2_000_000_000, 3), 1, 3, 6, 72) // within the later budget too
	s.events <- scored(archUnder(t, m, 2_500_000_000, 4), 1, 4, 6, 68)
	s.events <- SearchEvent{Kind: SearchGeneration, Generation: 1, Done: 4, Total: 6}
	m, wait = step(t, m, wait())
	if m.search.perMinute != 2 {
		t.Errorf("rate %.2f/min, want 2 (4 evals in 2 running minutes)", m.search.perMinute)
	}

	// Inject and budget changes reach the searcher.
	m, cmd = step(t, m, keyMsg("i"))
	m, _ = step(t, m, cmd())
	if len(s.injected) != 1 || !s.injected[0].Equal(m.arch) {
		t.Error("i did not inject the editor's architecture")
	}
	m = keys(t, m, "b")
	m.prompt.input.SetValue("2G 5")
	m, cmd = step(t, m, keyMsg("enter"))
	m, _ = step(t, m, cmd())
	if s.budget != (Budget{MaxMACs: 2_000_000_000, Generations: 5}) || m.search.budget.Generations != 5 {
		t.Errorf("budget change: searcher has %+v, pane %+v", s.budget, m.search.budget)
	}

	// Stop: the searcher closes its channel, the job leaves the status line.
	m, cmd = step(t, m, keyMsg("x"))
	if m.search.state != searchStopping {
		t.Fatalf("state %v after x, want stopping", m.search.state)
	}
	m, _ = step(t, m, cmd())
	m, _ = step(t, m, wait())
	if m.search.state != searchDone || m.status.running(jobSearch) {
		t.Fatalf("after the channel closed: state %v, job running %v", m.search.state, m.status.running(jobSearch))
	}
	if m.SearchOutcome() != "stopped" || !strings.Contains(m.View(), "stopped · gen") {
		t.Errorf("outcome %q after stopping", m.SearchOutcome())
	}
	if !strings.Contains(m.View(), "search stopped: best in budget 72.00%") {
		t.Error("the end of the search is not reported")
	}
	if want := []string{"start", "pause", "resume", "inject", "budget", "stop"}; !slices.Equal(s.Ops(), want) {
		t.Errorf("searcher saw %v, want %v", s.Ops(), want)
	}
}

func TestSearchBudgetPromptRejectsBadInput(t *testing.T) {
	now := testTime()
	m, s := searchModel(t, &now)
	m = keys(t, m, "s")
	m.prompt.input.SetValue("lots")
	m = keys(t, m, "enter")
	if !m.prompt.open() || !m.status.isErr || len(s.Ops()) != 0 {
		t.Fatal("a bad budget started a search or closed the prompt")
	}
	if !strings.Contains(m.View(), "50% 20") {
		t.Error("the complaint does not show an example budget")
	}
}

func TestQuitDuringSearchAsksThenStops(t *testing.T) {
	now := testTime()
	m, s := searchModel(t, &now)
	m, wait := startSearch(t, m, "2G")
	m, cmd := step(t, m, keyMsg("q"))
	if cmd != nil || !m.confirmQuit || !strings.Contains(m.View(), "Stop it and quit?") {
		t.Fatal("q during a search did not ask")
	}
	m, _ = step(t, m, keyMsg("n"))
	if m.confirmQuit {
		t.Fatal("n did not cancel quitting")
	}
	m, _ = step(t, m, keyMsg("q"))
	m, cmd = step(t, m, keyMsg("y"))
	m, _ = step(t, m, cmd()) // Stop closes the channel
	m, cmd = step(t, m, wait())
	if cmd == nil {
		t.Fatal("the search ended but the program does not quit")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Error("after stopping, the program does not quit")
	}
	if !slices.Contains(s.Ops(), "stop") {
		t.Error("quitting did not stop the search")
	}
}

func TestFilterHoldsQuitWhileSearching(t *testing.T) {
	now := testTime()
	m, _ := searchModel(t, &now)
	if _, ok := Filter(m, tea.QuitMsg{}).(tea.QuitMsg); !ok {
		t.Fatal("without a search, QuitMsg must pass")
	}
	m, _ = startSearch(t, m, "2G")
	if _, ok := Filter(m, tea.QuitMsg{}).(stopAndQuitMsg); !ok {
		t.Fatal("during a search, QuitMsg must become a stop request")
	}
	m, cmd := step(t, m, stopAndQuitMsg{})
	if !m.quitting || m.search.state != searchStopping || cmd == nil {
		t.Error("the stop request did not stop the search")
	}
}

func TestSearchStartError(t *testing.T) {
	now := testTime()
	m, s := searchModel(t, &now)
	s.startErr = errTest("journal search.jsonl: permission denied")
	m = keys(t, m, "s")
	m = drive(t, m, keyMsg("enter"))
	if m.search.state != searchFailed || m.status.running(jobSearch) {
		t.Fatalf("state %v, job %v", m.search.state, m.status.running(jobSearch))
	}
	if !strings.Contains(m.View(), "permission denied") {
		t.Error("the start error is not shown")
	}
}

type errTest string

func (e errTest) Error() string { return string(e) }

func TestSearchFailureIsReported(t *testing.T) {
	now := testTime()
	m, s := searchModel(t, &now)
	m, wait := startSearch(t, m, "2G")
	s.events <- SearchEvent{Kind: SearchFailed, Err: errTest("evaluate blocks.3: out of memory")}
	close(s.events)
	s.events = nil
	m, wait = step(t, m, wait())
	m, _ = step(t, m, wait())
	if m.search.state != searchFailed || m.SearchOutcome() != "failed" || m.status.running(jobSearch) {
		t.Fatalf("state %v, outcome %q", m.search.state, m.SearchOutcome())
	}
	if !strings.Contains(m.View(), "search failed: evaluate blocks.3: out of memory") {
		t.Error("the failure is not shown")
	}
}

// An architecture outside the budget (injected, or left over from a wider budget) is
// scored and plotted, but the pane's best counts only what fits the budget shown.
func TestSearchBestStaysWithinBudget(t *testing.T) {
	now := testTime()
	m, s := searchModel(t, &now)
	m, wait := startSearch(t, m, "2G 3")
	inside := archUnder(t, m, 2_000_000_000, 1)
	largest := m.opts.Space.Max() // 3.498G, the editor's architecture
	s.events <- scored(inside, 0, 1, 10, 70)
	s.events <- scored(largest, 0, 2, 10, 75) // injected, over the budget
	m, wait = step(t, m, wait())
	view := m.search.View()
	if !strings.Contains(view, "best in budget 70.00%") || strings.Contains(view, "75.00%") {
		t.Errorf("best must be the 70%% architecture within 2G, not the 75%% one of %s MACs:\n%s",
			siCount(profiler.MACs(largest, m.opts.Input)), view)
	}

	// Injecting the editor's 3.498G architecture says it is over the 2G budget.
	m, cmd := step(t, m, keyMsg("i"))
	m, _ = step(t, m, cmd())
	if got := m.status.msg; !strings.Contains(got, "3.498G MACs > 2.000G budget") {
		t.Errorf("inject over the budget says %q", got)
	}

	// A wider budget lets the larger architecture count; a narrower one leaves none.
	m = keys(t, m, "b")
	m.prompt.input.SetValue("100% 3")
	m, cmd = step(t, m, keyMsg("enter"))
	m, _ = step(t, m, cmd())
	if !strings.Contains(m.View(), "best in budget 75.00%") {
		t.Errorf("after widening the budget to 100%% the best is not the 75%% architecture:\n%s", m.View())
	}
	m = keys(t, m, "b")
	m.prompt.input.SetValue("1k 3")
	m, cmd = step(t, m, keyMsg("enter"))
	m, _ = step(t, m, cmd())
	if !strings.Contains(m.View(), "best in budget — ") {
		t.Errorf("with a 1k budget nothing fits, yet a best is shown:\n%s", m.View())
	}
	_ = wait
}

// Best and median follow each evaluation, before any generation has finished.
func TestSearchFiguresFollowEachEvaluation(t *testing.T) {
	now := testTime()
	m, s := searchModel(t, &now)
	m, wait := startSearch(t, m, "3G 3")
	for i, top1 := range []float64{60, 64, 62} {
		s.events <- scored(archUnder(t, m, 3_000_000_000, uint64(i)), 0, i+1, 20, top1)
	}
	m, _ = step(t, m, wait())
	view := m.View()
	for _, want := range []string{"best in budget 64.00%", "gen 1 median 62.00% · 3 evals"} {
		if !strings.Contains(view, want) {
			t.Errorf("after 3 evaluations of generation 1 the view lacks %q:\n%s", want, view)
		}
	}
	if m.search.chart == "" {
		t.Error("the chart waits for a finished generation")
	}
}

// No ETA outlives a running search: paused, stopped and finished searches show none, and a
// finished one counts what it did.
func TestSearchETAOnlyWhileRunning(t *testing.T) {
	now := testTime()
	m, s := searchModel(t, &now)
	m, wait := startSearch(t, m, "3G 2")
	now = now.Add(time.Minute)
	s.events <- scored(archUnder(t, m, 3_000_000_000, 1), 0, 1, 60, 61)
	s.events <- scored(archUnder(t, m, 3_000_000_000, 2), 0, 2, 60, 62)
	m, wait = step(t, m, wait())
	if !strings.Contains(m.View(), "ETA 29m00s") {
		t.Fatalf("a running search shows no ETA:\n%s", m.View())
	}
	m, cmd := step(t, m, keyMsg("p"))
	m, _ = step(t, m, cmd())
	now = now.Add(time.Minute)
	if v := m.View(); strings.Contains(v, "ETA") || !strings.Contains(v, "2.0 evals/min · paused") {
		t.Errorf("a paused search shows an ETA:\n%s", v)
	}
	m, cmd = step(t, m, keyMsg("p"))
	m, _ = step(t, m, cmd())

	// It finishes early (a budget change dropped candidates): 27 of the planned 60.
	s.events <- SearchEvent{Kind: SearchGeneration, Generation: 1, Done: 27, Total: 60}
	close(s.events)
	s.events = nil
	now = now.Add(time.Minute)
	m, wait = step(t, m, wait())
	m, _ = step(t, m, wait())
	v := m.View()
	if strings.Contains(v, "ETA") || strings.Contains(v, "/60") {
		t.Errorf("a finished search shows an ETA or its stale total:\n%s", v)
	}
	for _, want := range []string{"done · gen 2/2 · 27 evals", "ran 2m00s"} {
		if !strings.Contains(v, want) {
			t.Errorf("a finished search lacks %q:\n%s", want, v)
		}
	}
}

func TestStoppedSearchShowsNoETA(t *testing.T) {
	now := testTime()
	m, s := searchModel(t, &now)
	m, wait := startSearch(t, m, "3G 2")
	now = now.Add(time.Minute)
	s.events <- scored(archUnder(t, m, 3_000_000_000, 1), 0, 1, 60, 61)
	m, wait = step(t, m, wait())
	m, cmd := step(t, m, keyMsg("x"))
	if v := m.View(); strings.Contains(v, "ETA") {
		t.Errorf("a stopping search shows an ETA:\n%s", v)
	}
	m, _ = step(t, m, cmd())
	m, _ = step(t, m, wait())
	if v := m.View(); strings.Contains(v, "ETA") || !strings.Contains(v, "stopped · gen") {
		t.Errorf("a stopped search shows an ETA:\n%s", v)
	}
}

// A search stopped while paused does not count the pause as running time.
func TestStoppedWhilePausedExcludesThePause(t *testing.T) {
	now := testTime()
	m, s := searchModel(t, &now)
	m, wait := startSearch(t, m, "3G 2")
	now = now.Add(time.Minute)
	s.events <- scored(archUnder(t, m, 3_000_000_000, 1), 0, 1, 60, 61)
	s.events <- scored(archUnder(t, m, 3_000_000_000, 2), 0, 2, 60, 62)
	m, wait = step(t, m, wait())
	m, cmd := step(t, m, keyMsg("p"))
	m, _ = step(t, m, cmd())
	now = now.Add(10 * time.Minute)
	m, cmd = step(t, m, keyMsg("x"))
	m, _ = step(t, m, cmd())
	m, _ = step(t, m, wait())
	if v := m.search.View(); !strings.Contains(v, "2.0 evals/min · ran 1m00s") {
		t.Errorf("stopped after 1 running minute and a 10-minute pause:\n%s", v)
	}
}

// The searcher may close its channel before Stop's answer arrives; the status line then
// keeps the end of the search, not "stopping".
func TestStopAnswerAfterTheEndKeepsTheEndMessage(t *testing.T) {
	for _, withEvals := range []bool{false, true} {
		now := testTime()
		m, s := searchModel(t, &now)
		m, wait := startSearch(t, m, "3G 2")
		if withEvals {
			s.events <- scored(archUnder(t, m, 3_000_000_000, 1), 0, 1, 60, 61)
			m, wait = step(t, m, wait())
		}
		m, cmd := step(t, m, keyMsg("x"))
		answer := cmd() // Stop closes the channel
		m, _ = step(t, m, wait())
		m, _ = step(t, m, answer)
		status := m.status.View(120)
		if strings.Contains(status, "stopping") || !strings.Contains(status, "search stopped") {
			t.Errorf("with evaluations %v: status %q after the search stopped", withEvals, status)
		}
	}
}

// The engine's warning about unsatisfiable constraints is read whole at common widths.
func TestSearchNoticeWrapsToThePane(t *testing.T) {
	notice := "generation 3: no evaluated architecture satisfies MACs in [7800000, 8000000], so it is sampled at random"
	if got, want := shortCounts(notice), "MACs in [7.800M, 8.000M]"; !strings.Contains(got, want) {
		t.Errorf("shortCounts: %q lacks %q", got, want)
	}
	for _, size := range [][2]int{{80, 24}, {100, 30}, {120, 40}, {160, 24}, {160, 40}} {
		now := testTime()
		s := newFakeSearcher(8)
		opts := testOptions()
		opts.Searcher = s
		opts.Clock = manualClock{&now}
		m := keys(t, sized(t, opts, size[0], size[1]), "tab", "tab")
		m, wait := startSearch(t, m, "8M 5")
		s.events <- SearchEvent{Kind: SearchNotice, Err: errTest(notice)}
		m, _ = step(t, m, wait())
		view := m.View()
		for _, l := range strings.Split(view, "\n") {
			if w := len([]rune(l)); w != size[0] {
				t.Fatalf("%dx%d: line of width %d: %q", size[0], size[1], w, l)
			}
		}
		// Every word shows, in order, across however many lines the pane needs.
		rest := view
		for _, word := range strings.Fields(shortCounts(notice)) {
			i := strings.Index(rest, word)
			if i < 0 {
				t.Errorf("%dx%d: the notice is cut at %q:\n%s", size[0], size[1], word, view)
				break
			}
			rest = rest[i+len(word):]
		}
	}
}

// TestSearchPaneListsWorkers: a distributed search's workers appear with their device, rate
// and current candidate, and one that stopped answering is marked.
func TestSearchPaneListsWorkers(t *testing.T) {
	now := testTime()
	m, s := searchModel(t, &now)
	m, wait := startSearch(t, m, "2G 3")
	cand := m.opts.Space.Min()
	s.events <- SearchEvent{Kind: SearchWorkers, Done: 0, Total: 10, Workers: []WorkerStatus{
		{Name: "local-1", Device: "cpu", PerMinute: 31.5, Current: cand.String(), LastSeen: now.Add(-time.Second)},
		{Name: "gpu-box", Device: "cuda:0", PerMinute: 0, LastSeen: now.Add(-12 * time.Second), Silent: true},
		{Name: "alien", Device: "cpu", LastSeen: now, Refused: "the search uses checkpoint ab12, this worker serves cd34"},
	}}
	m, _ = step(t, m, wait())
	view := m.search.View()
	want := []string{"workers 3", "alien cpu refuses: the search uses checkpoint", "local-1 cpu 31.5/min on " + siCount(profiler.MACs(cand, m.opts.Input)), "gpu-box cuda:0 silent 12s"}
	for _, w := range want {
		if !strings.Contains(view, w) {
			t.Errorf("search pane does not show %q:\n%s", w, view)
		}
	}
}

// TestWorkerLineCountMatchesLines: the layout counts the worker lines without rendering them.
func TestWorkerLineCountMatchesLines(t *testing.T) {
	s := newSearchPane(newStyles(), model.Input{Size: 32, Channels: 1, Patch: 4}, fixedClock{testTime()}, true)
	for n := 0; n <= maxWorkerLines+2; n++ {
		s.workers, s.workerMACs = make([]WorkerStatus, n), make([]int64, n)
		if got, want := s.workerLineCount(), len(s.workerLines()); got != want {
			t.Errorf("%d workers: counted %d lines, drew %d", n, got, want)
		}
	}
}

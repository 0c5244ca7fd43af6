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

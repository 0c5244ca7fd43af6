package tui

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/resnas/resnas/internal/atomicfile"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/profiler"
	"github.com/resnas/resnas/stats"
	"github.com/resnas/resnas/supernet"
)

func TestMain(m *testing.M) {
	// Goldens hold plain text: no colour, whatever the terminal running the tests.
	lipgloss.SetColorProfile(termenv.Ascii)
	os.Exit(m.Run())
}

// tinySpace is sr_tiny_mh (reference.md §5), the space of ViT-ResNAS-Tiny.
func tinySpace() *supernet.Space {
	sp, err := supernet.Lookup("sr_tiny_mh")
	if err != nil {
		panic(err)
	}
	return sp
}

// wideSpace is fmnist-wide, whose stem mid width is searchable.
func wideSpace() *supernet.Space {
	sp, err := supernet.Lookup("fmnist-wide")
	if err != nil {
		panic(err)
	}
	return sp
}

// wideOptions are testOptions on wideSpace.
func wideOptions() Options {
	opts := testOptions()
	opts.Space = wideSpace()
	opts.Evaluator = fakeEvaluator{in: opts.Space.Input}
	opts.CheckpointName = "wide-supernet.safetensors"
	return opts
}

// fixedClock always says the same time.
type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

func testTime() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) }

// manualClock is set by Update-level tests between messages (never shared with a running
// program).
type manualClock struct{ t *time.Time }

func (c manualClock) Now() time.Time { return *c.t }

// fakeEvaluator scores an architecture by its MACs, so larger is better and results are
// reproducible, with per-image results (fakeCorrect). With gate set, it waits for the gate
// (or the context) first.
type fakeEvaluator struct {
	in    model.Input
	gate  chan struct{}
	calls *callLog
}

type callLog struct {
	mu    sync.Mutex
	reqs  []EvalRequest
	cause []error
}

func (l *callLog) add(r EvalRequest) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = append(l.reqs, r)
}

func (l *callLog) requests() []EvalRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.reqs)
}

// fakeTop1 grows with MACs, less a reproducible 0–3 point penalty drawn from the def, so a
// cloud of architectures has points off the front.
func fakeTop1(a model.Arch, in model.Input) float64 {
	h := fnv.New32a()
	h.Write([]byte(a.String()))
	penalty := float64(h.Sum32()%300) / 100
	return math.Round((60+10*math.Log10(float64(profiler.MACs(a, in))/1e8)-penalty)*100) / 100
}

func (f fakeEvaluator) Evaluate(ctx context.Context, req EvalRequest) (Estimate, error) {
	f.calls.add(req)
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return Estimate{}, ctx.Err()
		}
	}
	top1 := fakeTop1(req.Arch, f.in)
	if req.RecalibrateBN {
		top1 += 0.5
	}
	if req.Limit > 0 {
		return Estimate{Top1: top1 - 1, CI95: 3.1, Images: req.Limit, Correct: fakeCorrect(req.Arch, top1, req.Limit)}, nil
	}
	return Estimate{Top1: top1, CI95: 0.52, Images: 25000, Final: true, Correct: fakeCorrect(req.Arch, top1, 25000)}, nil
}

// fakeCorrect marks which of the first n images a gets right, about top1% of them. Image i's
// bit does not depend on n, so a quick estimate is a prefix of the final one, as the real
// evaluator's are. Like real networks, two architectures agree on most images: image i has
// a difficulty shared by all, which decides the bit for about 80% of (architecture, image)
// pairs; a draw of the architecture's own decides the rest. Both are uniform, so the share
// of bits set stays about top1%.
func fakeCorrect(a model.Arch, top1 float64, n int) stats.Bitset {
	h := fnv.New64a()
	h.Write([]byte(a.String()))
	seed := h.Sum64()
	b := stats.NewBitset(n)
	for i := range n {
		u := splitmix(uint64(i))
		if own := splitmix(seed ^ splitmix(uint64(i)+0x9e3779b97f4a7c15)); own%5 == 0 {
			u = splitmix(own)
		}
		if float64(u>>11)/(1<<53) < top1/100 {
			b.Set(i)
		}
	}
	return b
}

// splitmix is SplitMix64's output function: a well-mixed hash of x.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

type fakeThroughput struct{}

func (fakeThroughput) Measure(_ context.Context, a model.Arch) (Rate, error) {
	return Rate{ImagesPerSec: math.Round(4e11 / float64(profiler.MACs(a, model.ReferenceInput()))), Spread: 0.04}, nil
}

// fakeSearcher hands out a channel the test feeds, and records the controls it receives.
type fakeSearcher struct {
	mu       sync.Mutex
	events   chan SearchEvent
	ops      []string
	budget   Budget
	injected []model.Arch
	startErr error
}

func newFakeSearcher(buffer int) *fakeSearcher {
	return &fakeSearcher{events: make(chan SearchEvent, buffer)}
}

func (s *fakeSearcher) log(op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ops = append(s.ops, op)
}

func (s *fakeSearcher) Ops() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ops)
}

func (s *fakeSearcher) Start(_ context.Context, b Budget) (<-chan SearchEvent, error) {
	s.log("start")
	s.mu.Lock()
	s.budget = b
	s.mu.Unlock()
	if s.startErr != nil {
		return nil, s.startErr
	}
	return s.events, nil
}

func (s *fakeSearcher) Pause() error  { s.log("pause"); return nil }
func (s *fakeSearcher) Resume() error { s.log("resume"); return nil }
func (s *fakeSearcher) Stop() error {
	s.log("stop")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.events != nil {
		close(s.events) // the search ends: its journal is flushed, the channel closes
		s.events = nil
	}
	return nil
}
func (s *fakeSearcher) Inject(a model.Arch) error {
	s.log("inject")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.injected = append(s.injected, a)
	return nil
}
func (s *fakeSearcher) SetBudget(b Budget) error {
	s.log("budget")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.budget = b
	return nil
}

// fakeExporter writes one small file per export.
type fakeExporter struct{}

func (fakeExporter) ExportSubnet(_ context.Context, dir string, rec SubnetRecord) ([]string, error) {
	if len(rec.Arch.Layers) == 0 {
		return nil, errors.New("empty architecture")
	}
	path := dir + "/network_def.txt"
	return []string{path}, atomicfile.Write(path, []byte(rec.Arch.String()+"\n"))
}

// testOptions wires every fake; tests drop what they do not need.
func testOptions() Options {
	sp := tinySpace()
	return Options{
		Space:          sp,
		Evaluator:      fakeEvaluator{in: sp.Input},
		Throughput:     fakeThroughput{},
		Exporter:       fakeExporter{},
		Clock:          fixedClock{testTime()},
		CheckpointName: "tiny-supernet.safetensors",
		Seed:           1,
	}
}

// drive applies msg and then every message its Cmds produce, until none is left. Cmds
// must not block: tests pass fakes that answer at once.
func drive(t *testing.T, m Model, msg tea.Msg) Model {
	t.Helper()
	queue := []tea.Msg{msg}
	for steps := 0; len(queue) > 0; steps++ {
		if steps > 200 {
			t.Fatal("drive: messages keep coming")
		}
		msg, queue = queue[0], queue[1:]
		if _, ok := msg.(tea.QuitMsg); ok {
			continue
		}
		if b, ok := msg.(tea.BatchMsg); ok {
			for _, c := range b {
				queue = append(queue, runCmd(t, c)...)
			}
			continue
		}
		tm, cmd := m.Update(msg)
		m = tm.(Model)
		queue = append(queue, runCmd(t, cmd)...)
	}
	return m
}

func runCmd(t *testing.T, c tea.Cmd) []tea.Msg {
	t.Helper()
	if c == nil {
		return nil
	}
	done := make(chan tea.Msg, 1)
	go func() { done <- c() }()
	select {
	case msg := <-done:
		if msg == nil {
			return nil
		}
		return []tea.Msg{msg}
	case <-time.After(5 * time.Second): // a safety net against a blocking fake, not a timing check
		t.Fatal("drive: a Cmd blocked")
		return nil
	}
}

// sized returns a model after Init and a window of w×h, every Cmd settled.
func sized(t *testing.T, opts Options, w, h int) Model {
	t.Helper()
	m := New(opts)
	m = drive(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	return drive(t, m, m.Init()())
}

func keys(t *testing.T, m Model, ks ...string) Model {
	t.Helper()
	for _, k := range ks {
		m = drive(t, m, keyMsg(k))
	}
	return m
}

func keyMsg(k string) tea.KeyMsg {
	switch k {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "shift+tab":
		return tea.KeyMsg{Type: tea.KeyShiftTab}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "left":
		return tea.KeyMsg{Type: tea.KeyLeft}
	case "right":
		return tea.KeyMsg{Type: tea.KeyRight}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	case "ctrl+r":
		return tea.KeyMsg{Type: tea.KeyCtrlR}
	case "backspace":
		return tea.KeyMsg{Type: tea.KeyBackspace}
	case " ":
		return tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}

// fakePredictor predicts fakeTop1 + 0.3 ±0.6 once it knows `need` networks; it starts
// knowing `have`. With live set, Updates delivers a notice after Start and each Observe, as
// a refit would; without, it has no notices.
type fakePredictor struct {
	in       model.Input
	have     int
	need     int
	updates  chan struct{}
	mu       sync.Mutex
	observed []measured
}

func newFakePredictor(in model.Input, have, need int, live bool) *fakePredictor {
	p := &fakePredictor{in: in, have: have, need: need}
	if live {
		p.updates = make(chan struct{}, 1)
	}
	return p
}

func (p *fakePredictor) notify() {
	if p.updates == nil {
		return
	}
	select {
	case p.updates <- struct{}{}:
	default:
	}
}

func (p *fakePredictor) Start(context.Context) error { p.notify(); return nil }

func (p *fakePredictor) Observe(a model.Arch, top1 float64) {
	p.mu.Lock()
	p.observed = append(p.observed, measured{a.Clone(), top1})
	p.mu.Unlock()
	p.notify()
}

func (p *fakePredictor) Observed() []measured {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.observed)
}

func (p *fakePredictor) known() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.have + len(p.observed)
}

func (p *fakePredictor) Predict(a model.Arch) (float64, float64, bool) {
	if p.known() < p.need {
		return 0, 0, false
	}
	return fakeTop1(a, p.in) + 0.3, 0.6, true
}

func (p *fakePredictor) Status() string {
	if n := p.known(); n < p.need {
		return fmt.Sprintf("predictor: %d of %d networks measured", n, p.need)
	}
	return fmt.Sprintf("predictor: %d networks, τ 0.62", p.known())
}

func (p *fakePredictor) Updates() <-chan struct{} { return p.updates }

package tui

import (
	"fmt"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// One table per pane drives dispatch, the footer and the full help (style.md §4, after
// W&B leet keybindings.go and lazygit's Binding with GetDisabledReason): a key that cannot
// act now says why in the status line and drops out of help.

// binding pairs a key with its handler.
type binding struct {
	key.Binding
	run    func(m *Model) tea.Cmd
	off    func(m Model) string // why the key cannot act now; "" or nil when it can
	footer bool                 // listed in the one-line help
}

// category is a titled group of bindings, one column of the full help.
type category struct {
	name     string
	bindings []binding
}

func bind(keys []string, help, desc string, run func(*Model) tea.Cmd) binding {
	return binding{Binding: key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc)), run: run}
}

func (b binding) when(off func(Model) string) binding { b.off = off; return b }
func (b binding) inFooter() binding                   { b.footer = true; return b }

// reason is why b cannot act in m, or "".
func (b binding) reason(m Model) string {
	if b.off == nil {
		return ""
	}
	return b.off(m)
}

func globalKeys() []category {
	return []category{{name: "General", bindings: []binding{
		bind([]string{"tab"}, "tab", "next pane", (*Model).focusNext),
		bind([]string{"shift+tab"}, "S-tab", "previous pane", (*Model).focusPrev),
		bind([]string{"?"}, "?", "toggle help", (*Model).toggleHelp).inFooter(),
		bind([]string{"u"}, "u", "undo", (*Model).undoArch).when(noUndo),
		bind([]string{"ctrl+r"}, "ctrl+r", "redo", (*Model).redoArch).when(noRedo),
		bind([]string{"y"}, "y", "yank network_def", (*Model).yank),
		bind([]string{"P"}, "P", "paste network_def", (*Model).askPaste),
		bind([]string{"B"}, "B", "toggle BN recalibration", (*Model).toggleBN).when(noEvaluator),
		bind([]string{"t"}, "t", "measure throughput", (*Model).measure).when(noThroughput),
		bind([]string{"e"}, "e", "export (arch, plot, CSV)", (*Model).askExport),
		bind([]string{"esc"}, "esc", "back", (*Model).back),
		bind([]string{"q", "ctrl+c"}, "q", "quit", (*Model).requestQuit).inFooter(),
	}}}
}

func editorKeys() []category {
	return []category{
		{name: "Architecture", bindings: []binding{
			bind([]string{"up", "k"}, "↑/k", "previous block", func(m *Model) tea.Cmd { m.editor.Move(-1, 0); return nil }).inFooter(),
			bind([]string{"down", "j"}, "↓/j", "next block", func(m *Model) tea.Cmd { m.editor.Move(1, 0); return nil }).inFooter(),
			bind([]string{"left", "h"}, "←/h", "previous field", func(m *Model) tea.Cmd { m.editor.Move(0, -1); return nil }),
			bind([]string{"right", "l"}, "→/l", "next field", func(m *Model) tea.Cmd { m.editor.Move(0, 1); return nil }),
			bind([]string{"+", "="}, "+", "larger choice", func(m *Model) tea.Cmd { return m.edit(m.editor.Step(1)) }).inFooter(),
			bind([]string{"-", "_"}, "-", "smaller choice", func(m *Model) tea.Cmd { return m.edit(m.editor.Step(-1)) }).inFooter(),
			bind([]string{" ", "enter"}, "space", "block on/off", func(m *Model) tea.Cmd { return m.edit(m.editor.Toggle()) }).inFooter(),
		}},
		{name: "Presets", bindings: []binding{
			bind([]string{"M"}, "M", "largest", func(m *Model) tea.Cmd { return m.setArch(m.opts.Space.Max(), "largest") }),
			bind([]string{"m"}, "m", "smallest", func(m *Model) tea.Cmd { return m.setArch(m.opts.Space.Min(), "smallest") }),
			bind([]string{"r"}, "r", "random", (*Model).randomArch),
			bind([]string{"n"}, "n", "next named preset", (*Model).nextPreset).when(noPresets),
		}},
		startSearchKeys(),
	}
}

// startSearchKeys lets s start a search from the editor and the plot too: the search
// begins from what they show, and the Search pane steers it.
func startSearchKeys() category {
	return category{name: "Search", bindings: []binding{
		bind([]string{"s"}, "s", "start search", (*Model).askStart).when(cannotStart),
	}}
}

func plotKeys() []category {
	return []category{{name: "Trade-off", bindings: []binding{
		bind([]string{"left", "h"}, "←/h", "previous point", func(m *Model) tea.Cmd { m.plot.Select(-1, false); return nil }).when(noPoints).inFooter(),
		bind([]string{"right", "l"}, "→/l", "next point", func(m *Model) tea.Cmd { m.plot.Select(1, false); return nil }).when(noPoints).inFooter(),
		bind([]string{"down", "j"}, "↓/j", "previous front point", func(m *Model) tea.Cmd { m.plot.Select(-1, true); return nil }).when(noPoints).inFooter(),
		bind([]string{"up", "k"}, "↑/k", "next front point", func(m *Model) tea.Cmd { m.plot.Select(1, true); return nil }).when(noPoints).inFooter(),
		bind([]string{"enter"}, "enter", "load into editor", (*Model).loadSelected).when(noSelection).inFooter(),
		bind([]string{"v"}, "v", "x axis: MACs/throughput", (*Model).toggleAxis).inFooter(),
	}}, startSearchKeys()}
}

func searchKeys() []category {
	return []category{{name: "Search", bindings: []binding{
		bind([]string{"s", "enter"}, "s/enter", "start search", (*Model).askStart).when(cannotStart).inFooter(),
		bind([]string{"p", " "}, "p/space", "pause/resume", (*Model).pauseResume).when(notRunning).inFooter(),
		bind([]string{"x"}, "x", "stop", func(m *Model) tea.Cmd { return m.control(opStop, Budget{}) }).when(notRunning).inFooter(),
		bind([]string{"i"}, "i", "inject current arch", func(m *Model) tea.Cmd { return m.control(opInject, Budget{}) }).when(notRunning).inFooter(),
		bind([]string{"b"}, "b", "change budget", (*Model).askBudget).when(notRunning).inFooter(),
	}}}
}

// Keys of the modal states, which take every key while they last.
func confirmKeys() (yes, no, force key.Binding) {
	return key.NewBinding(key.WithKeys("y", "Y", "enter"), key.WithHelp("y", "stop the search and quit")),
		key.NewBinding(key.WithKeys("n", "N", "esc", "q"), key.WithHelp("n", "keep going")),
		key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit now"))
}

func helpModeKeys() (closeHelp, quit key.Binding) {
	return key.NewBinding(key.WithKeys("?", "esc", "q"), key.WithHelp("?/esc", "close help")),
		key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit"))
}

// paneKeys are the tables that answer while pane p has focus, pane first.
func (m Model) paneKeys(p pane) []category {
	var cats []category
	switch p {
	case paneEditor:
		cats = editorKeys()
	case panePlot:
		cats = plotKeys()
	case paneSearch:
		cats = searchKeys()
	}
	return append(cats, globalKeys()...)
}

// elsewhere says where a key that pane p does not bind acts, or that no pane binds it; ""
// for keys that are not characters (an unbound arrow or function key stays quiet).
func (m Model) elsewhere(p pane, msg tea.KeyMsg) string {
	if msg.Type != tea.KeyRunes || msg.Paste {
		return ""
	}
	for other := range paneCount {
		if other == p {
			continue
		}
		for _, c := range m.paneKeys(other) {
			for _, b := range c.bindings {
				if key.Matches(msg, b.Binding) {
					return fmt.Sprintf("%s (%s) acts in the %s pane; tab moves there", msg, b.Help().Desc, other)
				}
			}
		}
	}
	return fmt.Sprintf("%s does nothing in the %s pane (? lists its keys)", msg, p)
}

// Reasons a key cannot act now.

func noUndo(m Model) string {
	if len(m.undo) == 0 {
		return "nothing to undo"
	}
	return ""
}

func noRedo(m Model) string {
	if len(m.redo) == 0 {
		return "nothing to redo"
	}
	return ""
}

func noEvaluator(m Model) string {
	if m.opts.Evaluator == nil {
		return "no evaluator: start resnas with a checkpoint and validation data"
	}
	return ""
}

func noThroughput(m Model) string {
	if m.opts.Throughput == nil {
		return "no throughput meter configured"
	}
	if m.measuring != "" {
		return "already measuring throughput"
	}
	return ""
}

func noPresets(m Model) string {
	if len(m.presets) == 0 {
		return "no named preset fits space " + m.opts.Space.Name
	}
	return ""
}

func noPoints(m Model) string {
	if m.plot.Len() == 0 {
		if m.plot.xThroughput {
			return "no architecture has a measured throughput yet (t measures)"
		}
		return "no architecture evaluated yet"
	}
	return ""
}

func noSelection(m Model) string {
	if why := noPoints(m); why != "" {
		return why
	}
	if _, ok := m.plot.Selected(); !ok {
		return "select a point first (←/→ or ↑/↓)"
	}
	return ""
}

func cannotStart(m Model) string {
	switch {
	case m.opts.Searcher == nil:
		return "no searcher: start resnas with a checkpoint and validation data"
	case m.search.active():
		return "a search is already " + m.search.state.String()
	}
	return ""
}

func notRunning(m Model) string {
	if m.opts.Searcher == nil {
		return "no searcher: start resnas with a checkpoint and validation data"
	}
	if !m.search.active() || m.search.state == searchStarting || m.search.state == searchStopping {
		return "no search is running (s starts one)"
	}
	return ""
}

package tui

import (
	"fmt"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// One table per owner drives dispatch, the footer and the full help (style.md §4, after
// W&B leet keybindings.go and lazygit's Binding with GetDisabledReason): a key that cannot
// act now says why in the status line and drops out of help. Each pane owns its table and
// runs it in its own Update (editorKeys in editor.go, plotKeys in plot.go, searchKeys in
// searchpane.go); the prompt's is in prompt.go; the root owns the global table below and
// the keys of its modal states.

// binding pairs a key with its handler in owner T: a pane, the prompt or the root Model.
type binding[T any] struct {
	key.Binding
	run    func(*T) tea.Cmd
	off    func(T) string // why the key cannot act now; "" or nil when it can
	footer bool           // listed in the one-line help
}

// category is a titled group of bindings, one column of the full help.
type category[T any] struct {
	name     string
	bindings []binding[T]
}

func bind[T any](keys []string, help, desc string, run func(*T) tea.Cmd) binding[T] {
	return binding[T]{Binding: key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc)), run: run}
}

func (b binding[T]) when(off func(T) string) binding[T] { b.off = off; return b }
func (b binding[T]) inFooter() binding[T]               { b.footer = true; return b }

// reason is why b cannot act in owner, or "".
func (b binding[T]) reason(owner T) string {
	if b.off == nil {
		return ""
	}
	return b.off(owner)
}

// dispatch runs the first binding of cats that matches msg. found reports whether one
// matched; why is set, and nothing runs, when it cannot act now.
func dispatch[T any](cats []category[T], owner *T, msg tea.KeyMsg) (found bool, why string, cmd tea.Cmd) {
	for _, c := range cats {
		for _, b := range c.bindings {
			if !key.Matches(msg, b.Binding) {
				continue
			}
			if why := b.reason(*owner); why != "" {
				return true, why, nil
			}
			return true, "", b.run(owner)
		}
	}
	return false, "", nil
}

// keyGroup is a category as help shows it: its bindings, each with why it cannot act now.
// It lets the root lay out the tables of owners of different types side by side.
type keyGroup struct {
	name string
	keys []keyState
}

type keyState struct {
	key.Binding
	why    string // "" when the key can act
	footer bool
}

// groupsOf evaluates cats against their owner.
func groupsOf[T any](cats []category[T], owner T) []keyGroup {
	gs := make([]keyGroup, 0, len(cats))
	for _, c := range cats {
		g := keyGroup{name: c.name}
		for _, b := range c.bindings {
			g.keys = append(g.keys, keyState{Binding: b.Binding, why: b.reason(owner), footer: b.footer})
		}
		gs = append(gs, g)
	}
	return gs
}

// bindsKey reports whether some key of gs, able to act or not, matches msg.
func bindsKey(gs []keyGroup, msg tea.KeyMsg) (keyState, bool) {
	for _, g := range gs {
		for _, k := range g.keys {
			if key.Matches(msg, k.Binding) {
				return k, true
			}
		}
	}
	return keyState{}, false
}

// globalKeys answer in every pane, after the pane's own.
func globalKeys() []category[Model] {
	return []category[Model]{{name: "General", bindings: []binding[Model]{
		bind([]string{"tab"}, "tab", "next pane", (*Model).focusNext),
		bind([]string{"shift+tab"}, "S-tab", "previous pane", (*Model).focusPrev),
		bind([]string{"?"}, "?", "toggle help", (*Model).toggleHelp).inFooter(),
		bind([]string{"u"}, "u", "undo", (*Model).undoArch).when(noUndo),
		bind([]string{"ctrl+r"}, "ctrl+r", "redo", (*Model).redoArch).when(noRedo),
		bind([]string{"y"}, "y", "yank network_def", (*Model).yank),
		bind([]string{"P"}, "P", "paste network_def", func(m *Model) tea.Cmd { return m.openPrompt(promptPaste) }),
		bind([]string{"B"}, "B", "toggle BN recalibration", (*Model).toggleBN).when(noEvaluator),
		bind([]string{"t"}, "t", "measure throughput", (*Model).measure).when(noThroughput),
		bind([]string{"e"}, "e", "export (arch, plot, CSV)", func(m *Model) tea.Cmd { return m.openPrompt(promptExport) }),
		bind([]string{"esc"}, "esc", "back", (*Model).back),
		bind([]string{"q", "ctrl+c"}, "q", "quit", (*Model).requestQuit).inFooter(),
	}}}
}

// startSearchKeys lets s start a search from the editor and the plot too: the search
// begins from what they show, and the Search pane steers it. The root owns it, since the
// search pane holds the state that says whether s can act.
func startSearchKeys() category[Model] {
	return category[Model]{name: "Search", bindings: []binding[Model]{
		bind([]string{"s"}, "s", "start search", func(m *Model) tea.Cmd { return m.openPrompt(promptStart) }).
			when(func(m Model) string { return m.search.cannotStart() }),
	}}
}

// rootKeys are the root's tables that answer while pane p has focus, after p's own.
func rootKeys(p pane) []category[Model] {
	if p == paneSearch {
		return globalKeys()
	}
	return append([]category[Model]{startSearchKeys()}, globalKeys()...)
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

// paneGroups is pane p's own key table.
func (m Model) paneGroups(p pane) []keyGroup {
	switch p {
	case paneEditor:
		return m.editor.Keys()
	case panePlot:
		return m.plot.Keys()
	}
	return m.search.Keys()
}

// keyGroups are the tables that answer while pane p has focus, in dispatch order: the
// pane's own, then the root's.
func (m Model) keyGroups(p pane) []keyGroup {
	return append(m.paneGroups(p), groupsOf(rootKeys(p), m)...)
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
		if k, ok := bindsKey(m.keyGroups(other), msg); ok {
			return fmt.Sprintf("%s (%s) acts in the %s pane; tab moves there", msg, k.Help().Desc, other)
		}
	}
	return fmt.Sprintf("%s does nothing in the %s pane (? lists its keys)", msg, p)
}

// Reasons a root key cannot act now.

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

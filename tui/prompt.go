package tui

import (
	"errors"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/resnas/resnas/profiler"
)

// A one-line question in the footer. While it is open it gets every key but its own
// bindings (promptKeys: enter submits, esc cancels, ctrl+c quits), so single-letter keys
// type instead of acting (leet isAwaitingUserInput). The title bar lists those bindings
// while it is open, since ? types too.

type promptKind int

const (
	promptNone promptKind = iota
	promptPaste
	promptStart
	promptBudget
	promptExport
)

// A prompt's complaints about its text go to the status line right below it, since a long
// network_def fills the prompt's own line.
type prompt struct {
	kind  promptKind
	input textinput.Model
}

func (p prompt) open() bool { return p.kind != promptNone }

// newPrompt opens a prompt of kind k with a label and a prefilled value.
func newPrompt(k promptKind, label, value string, width int) prompt {
	in := textinput.New()
	in.Prompt = label + " "
	in.SetValue(value)
	in.CursorEnd()
	in.Cursor.SetMode(cursor.CursorStatic) // no blinking: frames stay deterministic
	in.Focus()
	p := prompt{kind: k, input: in}
	p.SetWidth(width)
	return p
}

// SetWidth fits the input to a footer of width columns.
func (p *prompt) SetWidth(width int) {
	p.input.Width = max(10, width-len([]rune(p.input.Prompt))-2)
}

// promptKeys answer while a prompt is open; every other key goes to its input. Acting on
// the text needs the root's state (the space, the budget, the exporter), so the root owns
// the handlers.
func promptKeys() []category[Model] {
	return []category[Model]{{name: "Prompt", bindings: []binding[Model]{
		bind([]string{"enter"}, "enter", "submit", (*Model).submitPrompt).inFooter(),
		bind([]string{"esc"}, "esc", "cancel", func(m *Model) tea.Cmd { m.prompt = prompt{}; return nil }).inFooter(),
		bind([]string{"ctrl+c"}, "ctrl+c", "quit", func(m *Model) tea.Cmd { m.prompt = prompt{}; return m.requestQuit() }).inFooter(),
	}}}
}

// Update passes msg to the input.
func (p prompt) Update(msg tea.Msg) (prompt, tea.Cmd) {
	var cmd tea.Cmd
	p.input, cmd = p.input.Update(msg)
	return p, cmd
}

func (p prompt) View(w int) string { return padRight(p.input.View(), w) }

// parseBudget reads "<max MACs> [generations]", e.g. "8.5M 20", "50% 20" or "850M": a count,
// or a percentage of largest, the space's largest sub-network.
func parseBudget(s string, defaultGens int, largest int64) (Budget, string) {
	example := "e.g. " + siCount(largest/2) + " 20 or 50% 20"
	fields := strings.Fields(strings.ReplaceAll(s, ",", " "))
	if len(fields) == 0 || len(fields) > 2 {
		return Budget{}, "write a MACs budget and optionally generations, " + example
	}
	macs, err := profiler.ParseMACs(fields[0], largest)
	var be *profiler.BudgetError
	if errors.As(err, &be) {
		return Budget{}, strconv.Quote(be.Input) + " " + be.Reason + ": write " + example
	} else if err != nil {
		return Budget{}, err.Error()
	}
	b := Budget{MaxMACs: macs, Generations: defaultGens}
	if len(fields) == 2 {
		g, err := strconv.Atoi(fields[1])
		if err != nil || g < 1 {
			return Budget{}, "generations: " + strconv.Quote(fields[1]) + " is not a positive whole number"
		}
		b.Generations = g
	}
	return b, ""
}

package tui

import (
	"strings"
	"testing"
)

// s starts a search from every pane, and help lists it wherever it works.
func TestStartSearchFromEveryPane(t *testing.T) {
	opts := testOptions()
	opts.Searcher = newFakeSearcher(8)
	for _, p := range []pane{paneEditor, panePlot, paneSearch} {
		m := sized(t, opts, 120, 40)
		m.focusTo(p)
		m = keys(t, m, "s")
		if !m.prompt.open() || !strings.Contains(m.View(), "start search") {
			t.Errorf("%v pane: s did not ask for a search budget", p)
		}
		m = keys(t, m, "esc", "?")
		if !strings.Contains(m.View(), "start search") {
			t.Errorf("%v pane: help does not list s:\n%s", p, m.View())
		}
	}
}

// Without a searcher, s says why in every pane rather than doing nothing.
func TestStartSearchWithoutSearcherSaysWhy(t *testing.T) {
	for _, p := range []pane{paneEditor, panePlot, paneSearch} {
		m := sized(t, testOptions(), 120, 40)
		m.focusTo(p)
		m = keys(t, m, "s")
		if m.prompt.open() || !strings.Contains(m.status.msg, "no searcher") {
			t.Errorf("%v pane: s without a searcher says %q", p, m.status.msg)
		}
	}
}

// Starting from the editor brings the search into the right column.
func TestStartFromEditorShowsTheSearch(t *testing.T) {
	opts := testOptions()
	opts.Searcher = newFakeSearcher(8)
	m := sized(t, opts, 120, 24) // one right-hand pane at a time
	m = keys(t, m, "s")
	m, start := step(t, m, keyMsg("enter"))
	m, _ = step(t, m, start()) // the search waits for events: its wait is not run
	if m.focus != paneEditor || !strings.Contains(m.View(), "running · gen 1/") {
		t.Errorf("the search started from the editor is not shown:\n%s", m.View())
	}
}

// A letter the focused pane does not bind says where it acts, or that it does nothing.
func TestUnboundKeySaysWhere(t *testing.T) {
	m := sized(t, testOptions(), 120, 40)
	m = keys(t, m, "x")
	if got := m.status.msg; !strings.Contains(got, "x (stop) acts in the Search pane") {
		t.Errorf("x in the editor says %q", got)
	}
	m = keys(t, m, "Z")
	if got := m.status.msg; !strings.Contains(got, "Z does nothing in the Architecture pane") {
		t.Errorf("Z in the editor says %q", got)
	}
}

// Full help lists every key that can act, in every pane, with a searcher wired.
func TestHelpListsEveryWorkingKeyInEveryPane(t *testing.T) {
	opts := testOptions()
	opts.Searcher = newFakeSearcher(8)
	for _, p := range []pane{paneEditor, panePlot, paneSearch} {
		m := sized(t, opts, 160, 50)
		m.focusTo(p)
		m = keys(t, m, "?")
		view := m.View()
		own := m.paneGroups(p)
		if len(own) == 0 {
			t.Fatalf("%v pane: no key table of its own", p)
		}
		// The pane's own groups come first, then the global group.
		if gs := m.keyGroups(p); gs[0].name != own[0].name || gs[len(gs)-1].name != "General" {
			t.Errorf("%v pane: help groups start with %q and end with %q", p, gs[0].name, gs[len(gs)-1].name)
		}
		for _, g := range m.keyGroups(p) {
			for _, k := range g.keys {
				shown := strings.Contains(view, k.Help().Key+"  ") && strings.Contains(view, k.Help().Desc)
				if on := k.why == ""; on != shown {
					t.Errorf("%v pane: help shows %q %q: %v, but the key can act: %v", p, k.Help().Key, k.Help().Desc, shown, on)
				}
			}
		}
	}
}

// While a prompt is open, ? and tab type into it, so the title bar lists the prompt's own
// keys instead, and each does what it says.
func TestPromptListsItsKeys(t *testing.T) {
	opts := testOptions()
	opts.Searcher = newFakeSearcher(8)
	m := keys(t, sized(t, opts, 120, 40), "P")
	title := m.titleView()
	for _, g := range groupsOf(promptKeys(), m) {
		for _, k := range g.keys {
			shown := strings.Contains(title, k.Help().Key+": "+k.Help().Desc)
			if on := k.why == ""; on != shown {
				t.Errorf("title %q shows %q %q: %v, but the key can act: %v", title, k.Help().Key, k.Help().Desc, shown, on)
			}
		}
	}
	if strings.Contains(title, "?: help") {
		t.Errorf("the title offers ? while it types: %q", title)
	}
	if m = keys(t, m, "?", "tab", "esc"); m.prompt.open() || m.showHelp || m.focus != paneEditor {
		t.Errorf("? and tab did not type, or esc did not cancel: open %v, help %v, focus %v", m.prompt.open(), m.showHelp, m.focus)
	}
	if m = keys(t, m, "?"); !strings.Contains(m.titleView(), "?: help") {
		t.Errorf("with the prompt closed the title is %q", m.titleView())
	}
}

// Keys reach only the focused pane; search events reach the search pane whatever has focus.
func TestPanesTakeOnlyTheirMessages(t *testing.T) {
	m := sized(t, testOptions(), 120, 40)
	e, cmd := m.plot.Update(keyMsg("v"))
	if cmd != nil || e.xThroughput || len(e.take()) != 0 {
		t.Error("a plot without focus acted on a key")
	}
	s, _ := m.search.Update(searchBatchMsg{run: m.search.run, events: []SearchEvent{{Kind: SearchGeneration, Generation: 2, Done: 7}}})
	if s.done != 7 {
		t.Errorf("the search pane without focus dropped a search event: done %d", s.done)
	}
}

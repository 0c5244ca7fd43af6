package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/lipgloss"
)

// Help is rendered from the same tables that dispatch keys (keys.go and each pane's), so it
// cannot drift from what the keys do. Keys that cannot act now are left out, as bubbles
// help does with disabled bindings.

// enabled returns the bindings of gs that can act now.
func enabled(gs []keyGroup, footerOnly bool) [][]key.Binding {
	var groups [][]key.Binding
	for _, kg := range gs {
		var g []key.Binding
		for _, k := range kg.keys {
			if (footerOnly && !k.footer) || k.why != "" {
				continue
			}
			g = append(g, k.Binding)
		}
		groups = append(groups, g)
	}
	return groups
}

// footerView is the one-line help of the focused pane.
func (m Model) footerView() string {
	h := help.New()
	h.Width = m.width
	var flat []key.Binding
	for _, g := range enabled(m.keyGroups(m.focus), true) {
		flat = append(flat, g...)
	}
	return padRight(h.ShortHelpView(flat), m.width)
}

// helpView is the full help: one titled column per category, the focused pane's first,
// then the global group.
func (m Model) helpView(w, h int) string {
	cats := m.keyGroups(m.focus)
	groups := enabled(cats, false)
	var cols []string
	for i, c := range cats {
		if len(groups[i]) == 0 {
			continue
		}
		keyW := 0
		for _, b := range groups[i] {
			keyW = max(keyW, lipgloss.Width(b.Help().Key))
		}
		lines := []string{m.st.title.Render(c.name)}
		for _, b := range groups[i] {
			k := b.Help().Key
			lines = append(lines, m.st.key.Render(k)+strings.Repeat(" ", keyW-lipgloss.Width(k)+2)+b.Help().Desc)
		}
		cols = append(cols, strings.Join(lines, "\n"))
	}
	// Lay the columns out left to right, wrapping to a new band when the width runs out.
	var bands []string
	var row []string
	rowW := 0
	for _, c := range cols {
		cw := lipgloss.Width(c) + 2
		if rowW > 0 && rowW+cw > w-2 {
			bands = append(bands, lipgloss.JoinHorizontal(lipgloss.Top, row...))
			row, rowW = nil, 0
		}
		row = append(row, lipgloss.NewStyle().PaddingRight(2).Render(c))
		rowW += cw
	}
	if len(row) > 0 {
		bands = append(bands, lipgloss.JoinHorizontal(lipgloss.Top, row...))
	}
	body := strings.Join(bands, "\n\n")
	note := m.st.dim.Render("Keys that cannot act now are hidden; pressing one says why.")
	return box("Help · "+m.focus.String(), body+"\n\n"+note, w, h, true)
}

package tui

import (
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// styles holds every lipgloss style the explorer uses. Colour only ever repeats what a rune,
// a bracket or a border shape already says: lipgloss drops colour under NO_COLOR (termenv's
// EnvColorProfile) and on dumb terminals, and the screen must read the same.
type styles struct {
	title    lipgloss.Style
	dim      lipgloss.Style
	selected lipgloss.Style // the field under the cursor, also shown in [brackets]
	err      lipgloss.Style
	ok       lipgloss.Style
	key      lipgloss.Style
	front    lipgloss.Style // Pareto-front markers
	current  lipgloss.Style // the current-architecture marker
	cursor   lipgloss.Style // the plot's selection marker
	cloud    lipgloss.Style // braille dots of evaluated architectures
	median   lipgloss.Style
}

func newStyles() styles {
	return styles{
		title:    lipgloss.NewStyle().Bold(true),
		dim:      lipgloss.NewStyle().Faint(true),
		selected: lipgloss.NewStyle().Reverse(true),
		err:      lipgloss.NewStyle().Foreground(lipgloss.Color("9")),
		ok:       lipgloss.NewStyle().Foreground(lipgloss.Color("10")),
		key:      lipgloss.NewStyle().Bold(true),
		front:    lipgloss.NewStyle().Foreground(lipgloss.Color("11")),
		current:  lipgloss.NewStyle().Foreground(lipgloss.Color("14")).Bold(true),
		cursor:   lipgloss.NewStyle().Foreground(lipgloss.Color("13")).Bold(true),
		cloud:    lipgloss.NewStyle().Foreground(lipgloss.Color("8")),
		median:   lipgloss.NewStyle().Foreground(lipgloss.Color("12")),
	}
}

// borderRunes are the corners (top-left, top-right, bottom-left, bottom-right), the
// horizontal and the vertical edge. A focused pane gets a heavy border, so focus shows
// without colour.
func borderRunes(focused bool) [6]string {
	if focused {
		return [6]string{"┏", "┓", "┗", "┛", "━", "┃"}
	}
	return [6]string{"╭", "╮", "╰", "╯", "─", "│"}
}

// box draws content in a w×h frame with the title set into the top edge. Lines are cut or
// padded to the inner width and the content to the inner height, so boxes tile exactly.
func box(title, content string, w, h int, focused bool) string {
	if w < 4 || h < 2 {
		return ""
	}
	b := borderRunes(focused)
	inner := w - 2
	var sb strings.Builder
	top := b[4] + " " + title + " "
	if focused {
		top = b[4] + "▶ " + title + " "
	}
	top = ansi.Truncate(top, inner, "")
	sb.WriteString(b[0] + top + strings.Repeat(b[4], max(0, inner-lipgloss.Width(top))) + b[1] + "\n")
	lines := fitLines(content, inner, h-2)
	for _, l := range lines {
		sb.WriteString(b[5] + l + b[5] + "\n")
	}
	sb.WriteString(b[2] + strings.Repeat(b[4], inner) + b[3])
	return sb.String()
}

// fitLines splits s into exactly h lines of display width exactly w.
func fitLines(s string, w, h int) []string {
	var lines []string
	if s != "" {
		lines = strings.Split(s, "\n")
	}
	if len(lines) > h {
		lines = lines[:h]
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	for i, l := range lines {
		lines[i] = padRight(l, w)
	}
	return lines
}

// padRight cuts or pads one line to display width w.
func padRight(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if lipgloss.Width(s) > w {
		s = ansi.Truncate(s, w, "…")
	}
	return s + strings.Repeat(" ", max(0, w-lipgloss.Width(s)))
}

// spread puts left and right on one line of width w, right-aligned, cutting left first.
func spread(left, right string, w int) string {
	rw := lipgloss.Width(right)
	if rw >= w {
		return padRight(right, w)
	}
	return padRight(left, w-rw-1) + " " + right
}

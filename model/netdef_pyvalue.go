package model

import (
	"fmt"
	"strconv"
	"strings"
)

// pyValue is a parsed Python literal of the subset network_defs use: an integer (True/False
// read as 1/0, as Python does) or a tuple/list of values.
type pyValue struct {
	isInt bool
	n     int
	items []pyValue
	list  bool // written with [ ] (json.dumps of a tuple gives lists; literal_eval accepts both)
	pos   int  // byte offset in the input, for error positions
}

// maxNesting bounds recursion: a network_def nests three deep, so anything much deeper is
// garbage, and unbounded depth would let hostile input exhaust the stack.
const maxNesting = 16

// String prints v as Python's repr would (one-element tuples keep their trailing comma).
func (v pyValue) String() string {
	var b strings.Builder
	v.write(&b)
	return b.String()
}

func (v pyValue) write(b *strings.Builder) {
	if v.isInt {
		b.WriteString(strconv.Itoa(v.n))
		return
	}
	open, close := "(", ")"
	if v.list {
		open, close = "[", "]"
	}
	b.WriteString(open)
	for i, it := range v.items {
		if i > 0 {
			b.WriteString(", ")
		}
		it.write(b)
	}
	if len(v.items) == 1 && !v.list {
		b.WriteString(",")
	}
	b.WriteString(close)
}

// pyParser reads the Python literal subset: integers, True/False, tuples and lists, with
// whitespace, newlines, trailing commas and # comments allowed anywhere Python allows them.
type pyParser struct {
	src string
	pos int
}

// syntaxError names the position as line:col (1-based) so a multi-line paste can be fixed.
func (p *pyParser) syntaxError(at int, format string, args ...any) error {
	line, col := 1, 1
	for i := 0; i < at && i < len(p.src); i++ {
		if p.src[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	where := fmt.Sprintf("col %d", col)
	if strings.Contains(p.src, "\n") {
		where = fmt.Sprintf("line %d col %d", line, col)
	}
	return &ArchError{Where: "network_def", Entry: -1, Msg: where + ": " + fmt.Sprintf(format, args...)}
}

func (p *pyParser) skipSpace() {
	for p.pos < len(p.src) {
		switch c := p.src[p.pos]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			p.pos++
		case c == '\\' && p.pos+1 < len(p.src) && (p.src[p.pos+1] == '\n' || p.src[p.pos+1] == '\r'):
			p.pos += 2 // a shell or Python line continuation pasted along with the def
		case c == '#':
			for p.pos < len(p.src) && p.src[p.pos] != '\n' {
				p.pos++
			}
		default:
			return
		}
	}
}

// near describes what is at position at, for "got ..." in error messages.
func (p *pyParser) near(at int) string {
	if at >= len(p.src) {
		return "end of input"
	}
	end := min(at+12, len(p.src))
	if i := strings.IndexAny(p.src[at:end], "\n\r"); i >= 0 {
		end = at + i
	}
	if end == at {
		end = at + 1
	}
	return strconv.Quote(p.src[at:end])
}

func (p *pyParser) value(depth int) (pyValue, error) {
	p.skipSpace()
	start := p.pos
	if p.pos >= len(p.src) {
		return pyValue{}, p.syntaxError(start, "want a number or '(', got end of input")
	}
	c := p.src[p.pos]
	switch {
	case c == '(' || c == '[':
		if depth >= maxNesting {
			return pyValue{}, p.syntaxError(start, "nested deeper than %d levels", maxNesting)
		}
		return p.sequence(depth)
	case c == '-' || c == '+' || (c >= '0' && c <= '9'):
		return p.integer()
	case strings.HasPrefix(p.src[p.pos:], "True"):
		p.pos += 4
		return pyValue{isInt: true, n: 1, pos: start}, nil
	case strings.HasPrefix(p.src[p.pos:], "False"):
		p.pos += 5
		return pyValue{isInt: true, n: 0, pos: start}, nil
	}
	return pyValue{}, p.syntaxError(start, "want a number or '(', got %s", p.near(start))
}

func (p *pyParser) integer() (pyValue, error) {
	start := p.pos
	if c := p.src[p.pos]; c == '-' || c == '+' {
		p.pos++
		p.skipSpace() // Python accepts "- 3"
	}
	digits := p.pos
	for p.pos < len(p.src) && (p.src[p.pos] >= '0' && p.src[p.pos] <= '9' || p.src[p.pos] == '_') {
		p.pos++
	}
	text := strings.ReplaceAll(p.src[digits:p.pos], "_", "")
	if text == "" {
		return pyValue{}, p.syntaxError(start, "want digits, got %s", p.near(p.pos))
	}
	if p.pos < len(p.src) {
		if c := p.src[p.pos]; c == '.' || c == 'e' || c == 'E' || c == 'x' || c == 'j' {
			return pyValue{}, p.syntaxError(start, "want a whole decimal number, got %s", p.near(start))
		}
	}
	n, err := strconv.ParseInt(text, 10, 32)
	if err != nil {
		return pyValue{}, p.syntaxError(start, "number %s out of range", text)
	}
	if p.src[start] == '-' {
		n = -n
	}
	return pyValue{isInt: true, n: int(n), pos: start}, nil
}

// sequence parses (…) or […]. As in Python, "(x)" is just x, while "(x,)" and "[x]" are
// one-element sequences.
func (p *pyParser) sequence(depth int) (pyValue, error) {
	start := p.pos
	list := p.src[p.pos] == '['
	closer := byte(')')
	if list {
		closer = ']'
	}
	p.pos++
	v := pyValue{list: list, pos: start}
	sawComma := false
	for {
		p.skipSpace()
		if p.pos < len(p.src) && p.src[p.pos] == closer {
			p.pos++
			break
		}
		item, err := p.value(depth + 1)
		if err != nil {
			return pyValue{}, err
		}
		v.items = append(v.items, item)
		p.skipSpace()
		if p.pos < len(p.src) && p.src[p.pos] == ',' {
			p.pos++
			sawComma = true
			continue
		}
		if p.pos < len(p.src) && p.src[p.pos] == closer {
			p.pos++
			break
		}
		return pyValue{}, p.syntaxError(p.pos, "want ',' or '%c' after an element, got %s (opened at col %d)",
			closer, p.near(p.pos), p.column(start))
	}
	if !list && len(v.items) == 1 && !sawComma {
		return v.items[0], nil // parentheses around one value only group it
	}
	return v, nil
}

func (p *pyParser) column(at int) int {
	return at - strings.LastIndexByte(p.src[:at], '\n')
}

// parsePyLiteral parses a whole input; anything after the value is an error.
func parsePyLiteral(src string) (pyValue, error) {
	p := &pyParser{src: src}
	v, err := p.value(0)
	if err != nil {
		return pyValue{}, err
	}
	p.skipSpace()
	if p.pos < len(p.src) {
		return pyValue{}, p.syntaxError(p.pos, "unexpected %s after the network_def", p.near(p.pos))
	}
	return v, nil
}

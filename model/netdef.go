package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// ArchError is a problem with one network_def entry. Entry lets an editor point at the
// offending block; Error gives the one-line message.
type ArchError struct {
	Where string // "entry 3 (blocks.2)" when parsing, "blocks.2", "stem", "head", or "network_def"
	Entry int    // network_def index: 0 is the stem, i+1 is blocks.i, the last is the head; -1 for the whole def
	Field string // offending field ("width", "heads", "head_dim", "mlp", "exists", "in", "out", "classes", "mid", "type"), "" for the shape
	Msg   string
}

func (e *ArchError) Error() string { return e.Where + ": " + e.Msg }

// entryName names network_def entry i of n entries by its state_dict module.
func entryName(i, n int) string {
	switch {
	case i == 0:
		return "stem"
	case i == n-1:
		return "head"
	default:
		return "blocks." + strconv.Itoa(i-1)
	}
}

// Entry shapes as the reference writes them, for "wants …" messages.
const (
	shapeStem      = "(0, C), (4, C) or (5, C, mid)"
	shapeBlock     = "(1, (C, H, D), (C, hidden), exists)"
	shapeReduction = "(3, C_in, C_out)"
	shapeHead      = "(2, C, classes)"
)

// ParseArch parses a network_def as the reference scripts and summary.txt write it, e.g.
// "((4, 176), (1, (176, 3, 32), (176, 704), 1), (3, 176, 352), …, (2, 704, 1000))".
// Whitespace, newlines, comments, trailing commas, lists instead of tuples, True/False for
// exists and one pair of surrounding quotes (as pasted from a shell command) are accepted.
// It checks the shape of every entry, not the consistency of widths: call Validate for that.
func ParseArch(s string) (Arch, error) {
	s = stripQuotes(s)
	v, err := parsePyLiteral(s)
	if err != nil {
		return Arch{}, err
	}
	return archFromValue(v)
}

// stripQuotes blanks one pair of matching outer quotes. It blanks rather than cuts, so error
// columns still count from the start of what the user pasted.
func stripQuotes(s string) string {
	start := len(s) - len(strings.TrimLeft(s, " \t\r\n"))
	end := len(strings.TrimRight(s, " \t\r\n")) - 1
	if end-start >= 1 && (s[start] == '\'' || s[start] == '"') && s[end] == s[start] {
		return s[:start] + " " + s[start+1:end] + " " + s[end+1:]
	}
	return s
}

// ParseArchJSON parses the JSON form of Arch (its struct tags). A type-4 stem without "mid"
// gets the reference's 24. Like ParseArch it does not check consistency: call Validate.
func ParseArchJSON(data []byte) (Arch, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var a Arch
	if err := dec.Decode(&a); err != nil {
		return Arch{}, fmt.Errorf("network_def JSON: %w", err)
	}
	if dec.More() {
		return Arch{}, fmt.Errorf("network_def JSON: unexpected data after the object")
	}
	if a.Stem.Type == TypeConvStem && a.Stem.Mid == 0 {
		a.Stem.Mid = DefaultStemMid
	}
	return a, nil
}

// ParseArchAny accepts either form: JSON when the text starts with '{', the tuple otherwise.
func ParseArchAny(s string) (Arch, error) {
	if t := strings.TrimSpace(s); strings.HasPrefix(t, "{") {
		return ParseArchJSON([]byte(t))
	}
	return ParseArch(s)
}

// archFromValue checks the shape of every entry and converts them.
func archFromValue(v pyValue) (Arch, error) {
	if v.isInt || len(v.items) < 2 {
		return Arch{}, &ArchError{Where: "network_def", Entry: -1,
			Msg: fmt.Sprintf("want a tuple of entries (stem, blocks…, head), got %s", v)}
	}
	n := len(v.items)
	var a Arch
	a.Layers = make([]Layer, 0, n-2)
	for i, e := range v.items {
		fail := func(field, format string, args ...any) error {
			return &ArchError{Where: fmt.Sprintf("entry %d (%s)", i, entryName(i, n)), Entry: i,
				Field: field, Msg: fmt.Sprintf(format, args...)}
		}
		if e.isInt || len(e.items) == 0 || !e.items[0].isInt {
			return Arch{}, fail("", "want an entry (type, …), got %s", e)
		}
		typ := e.items[0].n
		isStem := typ == TypeLinearStem || typ == TypeConvStem || typ == TypeConvStemMid
		switch {
		case i == 0 && !isStem:
			return Arch{}, fail("type", "the first entry must be the stem %s, got %s", shapeStem, e)
		case i > 0 && isStem:
			return Arch{}, fail("type", "a stem %s must be the first entry, got %s", shapeStem, e)
		case i == n-1 && typ != TypeHead:
			return Arch{}, fail("type", "the last entry must be the head %s, got %s", shapeHead, e)
		case i < n-1 && typ == TypeHead:
			return Arch{}, fail("type", "the head %s must be the last entry, got %s", shapeHead, e)
		}
		switch typ {
		case TypeLinearStem, TypeConvStem:
			c, ok := ints(e, 2)
			if !ok {
				want := "(0, C)"
				if typ == TypeConvStem {
					want = "(4, C); write (5, C, mid) to choose the mid channels"
				}
				return Arch{}, fail("", "stem wants %s, got %s", want, e)
			}
			a.Stem = Stem{Type: typ, Width: c[1]}
			if typ == TypeConvStem {
				a.Stem.Mid = DefaultStemMid
			}
		case TypeConvStemMid:
			c, ok := ints(e, 3)
			if !ok {
				return Arch{}, fail("", "stem wants (5, C, mid), got %s", e)
			}
			a.Stem = Stem{Type: typ, Width: c[1], Mid: c[2]}
		case TypeBlock:
			l, err := blockFromValue(e)
			if err != nil {
				return Arch{}, fail(err.field, "%s", err.msg)
			}
			a.Layers = append(a.Layers, l)
		case TypeReduction:
			c, ok := ints(e, 3)
			if !ok {
				return Arch{}, fail("", "spatial reduction wants %s, got %s", shapeReduction, e)
			}
			a.Layers = append(a.Layers, Layer{Type: TypeReduction, In: c[1], Out: c[2]})
		case TypeHead:
			c, ok := ints(e, 3)
			if !ok {
				return Arch{}, fail("", "head wants %s, got %s", shapeHead, e)
			}
			a.Head = Head{Dim: c[1], Classes: c[2]}
		default:
			return Arch{}, fail("type", "unknown entry type %d in %s (want 1 transformer block or 3 spatial reduction)", typ, e)
		}
	}
	return a, nil
}

type fieldError struct{ field, msg string }

// blockFromValue reads (1, (C, H, D), (C, hidden), exists).
func blockFromValue(e pyValue) (Layer, *fieldError) {
	bad := &fieldError{msg: fmt.Sprintf("transformer block wants %s, got %s", shapeBlock, e)}
	if len(e.items) != 4 || !e.items[3].isInt {
		return Layer{}, bad
	}
	attn, ok1 := ints(e.items[1], 3)
	mlp, ok2 := ints(e.items[2], 2)
	if !ok1 || !ok2 {
		return Layer{}, bad
	}
	if attn[0] != mlp[0] {
		return Layer{}, &fieldError{"dim", fmt.Sprintf("attention width C=%d and MLP width C=%d differ in %s; both are the block's embed width", attn[0], mlp[0], e)}
	}
	exists := e.items[3].n
	if exists != 0 && exists != 1 {
		return Layer{}, &fieldError{"exists", fmt.Sprintf("exists must be 0 or 1, got %d in %s", exists, e)}
	}
	return Layer{Type: TypeBlock, Dim: attn[0], Heads: attn[1], HeadDim: attn[2], MLP: mlp[1], Exists: exists == 1}, nil
}

// ints returns the n integers of tuple v, or false if v is not an n-tuple of integers.
func ints(v pyValue, n int) ([]int, bool) {
	if v.isInt || len(v.items) != n {
		return nil, false
	}
	out := make([]int, n)
	for i, it := range v.items {
		if !it.isInt {
			return nil, false
		}
		out[i] = it.n
	}
	return out, true
}

// String prints the canonical reference form, byte-identical to the reference scripts:
// "((4, 176), (1, (176, 3, 32), (176, 704), 1), …, (3, 176, 352), …, (2, 704, 1000))".
// A type-4 stem prints as (4, C) whatever its Mid; Validate requires Mid to be 24 there.
func (a Arch) String() string {
	b := make([]byte, 0, 32+36*len(a.Layers))
	b = append(b, '(', '(')
	b = strconv.AppendInt(b, int64(a.Stem.Type), 10)
	b = append(b, ", "...)
	b = strconv.AppendInt(b, int64(a.Stem.Width), 10)
	if a.Stem.Type == TypeConvStemMid || (a.Stem.Type != TypeConvStem && a.Stem.Mid != 0) {
		b = append(b, ", "...)
		b = strconv.AppendInt(b, int64(a.Stem.Mid), 10)
	}
	b = append(b, ')')
	for _, l := range a.Layers {
		b = append(b, ", "...)
		b = appendLayer(b, l)
	}
	b = append(b, ", (2, "...)
	b = strconv.AppendInt(b, int64(a.Head.Dim), 10)
	b = append(b, ", "...)
	b = strconv.AppendInt(b, int64(a.Head.Classes), 10)
	b = append(b, "))"...)
	return string(b)
}

func appendLayer(b []byte, l Layer) []byte {
	num := func(b []byte, n int) []byte { return strconv.AppendInt(b, int64(n), 10) }
	switch l.Type {
	case TypeReduction:
		b = append(b, "(3, "...)
		b = num(b, l.In)
		b = append(b, ", "...)
		b = num(b, l.Out)
		return append(b, ')')
	case TypeBlock:
		b = append(b, "(1, ("...)
		b = num(b, l.Dim)
		b = append(b, ", "...)
		b = num(b, l.Heads)
		b = append(b, ", "...)
		b = num(b, l.HeadDim)
		b = append(b, "), ("...)
		b = num(b, l.Dim)
		b = append(b, ", "...)
		b = num(b, l.MLP)
		b = append(b, "), "...)
		if l.Exists {
			b = append(b, '1')
		} else {
			b = append(b, '0')
		}
		return append(b, ')')
	default: // not a valid network_def; print the type so the problem is visible
		b = append(b, '(')
		b = num(b, l.Type)
		return append(b, ",)"...)
	}
}

// LayerString prints one blocks.{i} entry in the reference form, e.g. "(3, 176, 352)".
func (l Layer) String() string { return string(appendLayer(nil, l)) }

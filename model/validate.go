package model

import (
	"fmt"
	"strconv"
)

// MaxDim bounds every size in a network_def. The reference's largest is 3840; the bound keeps
// MAC and parameter counts far from int64 overflow for any def that validates.
const MaxDim = 1 << 16

// Validate checks the reference's consistency asserts (nets/vit_sr_supernet.py): a known stem
// first, transformer blocks whose width is the current embed width, spatial reductions whose
// C_in is the current width and C_out ≥ C_in, a head on the final width, and positive sizes.
// Skipped blocks (exists=0) are checked too, as the reference does. The error is an
// *ArchError naming the entry (stem, blocks.i, head) and the field.
func (a Arch) Validate() error {
	n := len(a.Layers) + 2
	fail := func(entry int, field, format string, args ...any) error {
		return &ArchError{Where: entryName(entry, n), Entry: entry, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	size := func(entry int, field, what string, v int) error {
		if v <= 0 || v > MaxDim {
			return fail(entry, field, "%s %d, want 1..%d", what, v, MaxDim)
		}
		return nil
	}

	s := a.Stem
	switch s.Type {
	case TypeLinearStem:
		if s.Mid != 0 {
			return fail(0, "mid", "linear stem (0, C) has no mid channels, got mid %d", s.Mid)
		}
	case TypeConvStem:
		if s.Mid != DefaultStemMid {
			return fail(0, "mid", "stem type 4 has %d mid channels, got %d (write (5, C, %d) for another mid)", DefaultStemMid, s.Mid, s.Mid)
		}
	case TypeConvStemMid:
		if err := size(0, "mid", "mid channels", s.Mid); err != nil {
			return err
		}
	default:
		return fail(0, "type", "unknown stem type %d, want 0 (linear), 4 (conv) or 5 (conv with mid)", s.Type)
	}
	if err := size(0, "width", "width", s.Width); err != nil {
		return err
	}

	cur := s.Width
	for i, l := range a.Layers {
		e := i + 1
		switch l.Type {
		case TypeBlock:
			if l.In != 0 || l.Out != 0 {
				return fail(e, "in", "transformer block has spatial reduction fields in=%d out=%d", l.In, l.Out)
			}
			if l.Dim != cur {
				return fail(e, "dim", "width %d, want %d, the current embed width (%s); widths within a stage must agree",
					l.Dim, cur, widthSource(a, i))
			}
			if err := size(e, "heads", "heads", l.Heads); err != nil {
				return err
			}
			if err := size(e, "head_dim", "head dim", l.HeadDim); err != nil {
				return err
			}
			if l.Heads*l.HeadDim > MaxDim {
				return fail(e, "heads", "attention width %d×%d exceeds %d", l.Heads, l.HeadDim, MaxDim)
			}
			if err := size(e, "mlp", "MLP hidden", l.MLP); err != nil {
				return err
			}
		case TypeReduction:
			if l.Dim != 0 || l.Heads != 0 || l.HeadDim != 0 || l.MLP != 0 || l.Exists {
				return fail(e, "type", "spatial reduction has transformer block fields set")
			}
			if l.In != cur {
				return fail(e, "in", "C_in %d, want %d, the current embed width (%s)", l.In, cur, widthSource(a, i))
			}
			if err := size(e, "out", "C_out", l.Out); err != nil {
				return err
			}
			if l.Out < l.In {
				return fail(e, "out", "C_out %d < C_in %d; a spatial reduction cannot narrow (its skip path zero-pads)", l.Out, l.In)
			}
			cur = l.Out
		default:
			return fail(e, "type", "unknown entry type %d, want 1 (transformer block) or 3 (spatial reduction)", l.Type)
		}
	}

	if a.Head.Dim != cur {
		return fail(n-1, "dim", "width %d, want %d, the final embed width (%s)", a.Head.Dim, cur, widthSource(a, len(a.Layers)))
	}
	return size(n-1, "classes", "classes", a.Head.Classes)
}

// widthSource names the entry that set the embed width seen by layer i.
func widthSource(a Arch, i int) string {
	for j := min(i, len(a.Layers)) - 1; j >= 0; j-- {
		if a.Layers[j].Type == TypeReduction {
			return "set by blocks." + strconv.Itoa(j)
		}
	}
	return "set by the stem"
}

// ValidateFor checks a and that it can run on in: the stem must tile the image exactly and
// every spatial reduction needs an even token grid.
func (a Arch) ValidateFor(in Input) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if in.Size <= 0 || in.Channels <= 0 || in.Patch <= 0 || in.Size > MaxDim || in.Channels > MaxDim {
		return fmt.Errorf("input %dpx %dch patch %d: image size, channels and patch must be in 1..%d", in.Size, in.Channels, in.Patch, MaxDim)
	}
	if in.Size%in.Patch != 0 {
		return fmt.Errorf("input %dpx: not a multiple of the patch size %d", in.Size, in.Patch)
	}
	if a.Stem.Type != TypeLinearStem && in.Patch%2 != 0 {
		return fmt.Errorf("input patch %d: the conv stem halves the image, then projects with patch/2, so the patch must be even", in.Patch)
	}
	g := in.Grid()
	for i, l := range a.Layers {
		if l.Type != TypeReduction {
			continue
		}
		if g%2 != 0 {
			return &ArchError{Where: "blocks." + strconv.Itoa(i), Entry: i + 1, Field: "type",
				Msg: fmt.Sprintf("spatial reduction needs an even token grid, got %d×%d at %dpx (use an input size that is %d×2^k)", g, g, in.Size, in.Patch)}
		}
		g /= 2
	}
	return nil
}

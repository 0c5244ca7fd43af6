package checkpoints

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"unicode/utf8"
)

// This file is a small unpickler for the data.pkl of a torch.save zip. It builds plain Go
// values and never runs anything: every GLOBAL goes through pickleHooks.global, which
// refuses names outside the allow-list, and every call (REDUCE, NEWOBJ, INST, OBJ) goes
// through pickleHooks.call, which only knows the allow-listed globals. gopickle's
// Unpickler is not used because v0.2.0 panics on crafted input (an empty LONG1, an odd
// DICT/SETITEMS, a bytes key in an OrderedDict), allocates a lying length field before
// reading it, and resolves collections.OrderedDict and copy_reg._reconstructor itself
// without consulting FindClass. Lengths here are checked against the bytes left before
// anything is allocated, so memory stays within a small multiple of the input.

// pyGlobal is an allow-listed module attribute, such as collections.OrderedDict.
type pyGlobal struct{ Module, Name string }

func (g pyGlobal) String() string { return g.Module + "." + g.Name }

type pyTuple []any

type pyList struct{ items []any }

type pySet struct{ items []any }

// pyDict is a dict or an OrderedDict in insertion order. A later SETITEM of an equal
// hashable key replaces the value, as in Python.
type pyDict struct {
	keys, vals []any
	index      map[any]int
	ordered    bool
}

func newPyDict(ordered bool) *pyDict { return &pyDict{ordered: ordered} }

func (d *pyDict) set(k, v any) {
	if hk, ok := hashKey(k); ok {
		if d.index == nil {
			d.index = make(map[any]int)
		}
		if i, ok := d.index[hk]; ok {
			d.vals[i] = v
			return
		}
		d.index[hk] = len(d.keys)
	}
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
}

func (d *pyDict) get(key string) (any, bool) {
	i, ok := d.index[key]
	if !ok {
		return nil, false
	}
	return d.vals[i], true
}

func (d *pyDict) len() int { return len(d.keys) }

// hashKey returns k as a Go map key when it is one of the scalar types a dict key can be
// here; other keys (tuples, big ints) are kept but never deduplicated.
func hashKey(k any) (any, bool) {
	switch k.(type) {
	case nil, bool, int64, float64, string, pyGlobal:
		return k, true
	}
	return nil, false
}

// pyObject is an instance of an allow-listed class (argparse.Namespace) with its BUILD state.
type pyObject struct {
	class pyGlobal
	state any
}

// pickleHooks decide what globals mean. global must refuse any name it does not know.
type pickleHooks struct {
	global         func(module, name string) (any, error)
	call           func(fn any, args pyTuple) (any, error)
	persistentLoad func(pid any) (any, error)
}

// refusedGlobalError reports a GLOBAL outside the allow-list.
type refusedGlobalError struct{ Module, Name string }

func (e *refusedGlobalError) Error() string {
	return fmt.Sprintf("pickle refers to %s, which resnas does not load (not a PyTorch checkpoint?)",
		printable(e.Module+"."+e.Name))
}

// short caps file-provided text for a %q in an error message.
func short(s string) string {
	const max = 80
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

// printable keeps file-provided text on one line and short.
func printable(s string) string {
	const max = 80
	if len(s) > max {
		s = s[:max] + "…"
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f || r == utf8.RuneError {
			return strconv.Quote(s)
		}
	}
	return s
}

type unpickler struct {
	data  []byte
	pos   int
	op    int // offset of the opcode being run, for errors
	stack []any
	marks []int
	memo  map[int]any
	hooks pickleHooks
}

// errStop ends the run loop; it never escapes unpickle.
var errStop = errors.New("STOP")

// unpickle decodes one pickle from data.
func unpickle(data []byte, hooks pickleHooks) (any, error) {
	u := &unpickler{data: data, memo: make(map[int]any), hooks: hooks}
	for {
		if u.pos >= len(u.data) {
			return nil, fmt.Errorf("pickle ends at byte %d without STOP (truncated?)", len(u.data))
		}
		u.op = u.pos
		code := u.data[u.pos]
		u.pos++
		if err := u.step(code); err == errStop {
			if len(u.stack) != 1 || len(u.marks) != 0 {
				return nil, u.fail("STOP with %d values and %d marks on the stack", len(u.stack), len(u.marks))
			}
			return u.stack[0], nil
		} else if err != nil {
			return nil, err
		}
	}
}

func (u *unpickler) fail(format string, args ...any) error {
	return fmt.Errorf("pickle byte %d: %s", u.op, fmt.Sprintf(format, args...))
}

func (u *unpickler) need(n int, what string) ([]byte, error) {
	if n < 0 || n > len(u.data)-u.pos {
		return nil, u.fail("%s needs %d bytes, %d left (truncated?)", what, n, len(u.data)-u.pos)
	}
	b := u.data[u.pos : u.pos+n]
	u.pos += n
	return b, nil
}

func (u *unpickler) line(what string) ([]byte, error) {
	i := bytes.IndexByte(u.data[u.pos:], '\n')
	if i < 0 {
		return nil, u.fail("%s has no end of line (truncated?)", what)
	}
	b := u.data[u.pos : u.pos+i]
	u.pos += i + 1
	return b, nil
}

func (u *unpickler) uint(n int, what string) (uint64, error) {
	b, err := u.need(n, what)
	if err != nil {
		return 0, err
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, nil
}

// counted reads a length field of n bytes, then that many bytes.
func (u *unpickler) counted(n int, what string) ([]byte, error) {
	l, err := u.uint(n, what)
	if err != nil {
		return nil, err
	}
	if n == 4 && what == "BINSTRING" && int32(l) < 0 {
		return nil, u.fail("BINSTRING has a negative length")
	}
	if l > uint64(len(u.data)-u.pos) {
		return nil, u.fail("%s of %d bytes, %d left (truncated?)", what, l, len(u.data)-u.pos)
	}
	return u.need(int(l), what)
}

func (u *unpickler) push(v any) { u.stack = append(u.stack, v) }

func (u *unpickler) pop() (any, error) {
	floor := 0
	if len(u.marks) > 0 {
		floor = u.marks[len(u.marks)-1]
	}
	if len(u.stack) <= floor {
		return nil, u.fail("stack underflow")
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

func (u *unpickler) top() (any, error) {
	floor := 0
	if len(u.marks) > 0 {
		floor = u.marks[len(u.marks)-1]
	}
	if len(u.stack) <= floor {
		return nil, u.fail("stack underflow")
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark removes and returns the values pushed since the last MARK.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, u.fail("no MARK on the stack")
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	items := append([]any(nil), u.stack[m:]...)
	u.stack = u.stack[:m]
	return items, nil
}

func (u *unpickler) memoIndex(i uint64) (int, error) {
	if i > math.MaxInt32 {
		return 0, u.fail("memo index %d out of range", i)
	}
	return int(i), nil
}

// memoArg reads the memo index of a GET or PUT opcode: a decimal line (GET, PUT), one byte
// (BINGET, BINPUT) or four (LONG_BINGET, LONG_BINPUT).
func (u *unpickler) memoArg(op byte) (int, error) {
	name := "PUT"
	if op == 'g' || op == 'h' || op == 'j' {
		name = "GET"
	}
	switch op {
	case 'h', 'q':
		name = "BIN" + name
	case 'j', 'r':
		name = "LONG_BIN" + name
	}
	switch op {
	case 'g', 'p':
		b, err := u.line(name)
		if err != nil {
			return 0, err
		}
		i, err := strconv.ParseUint(string(b), 10, 32)
		if err != nil {
			return 0, u.fail("%s index %s is not a number", name, printable(string(b)))
		}
		return int(i), nil
	case 'h', 'q':
		i, err := u.uint(1, name)
		return int(i), err
	}
	v, err := u.uint(4, name)
	if err != nil {
		return 0, err
	}
	return u.memoIndex(v)
}

func (u *unpickler) get(i int) error {
	v, ok := u.memo[i]
	if !ok {
		return u.fail("memo entry %d was never stored", i)
	}
	u.push(v)
	return nil
}

func (u *unpickler) put(i int) error {
	v, err := u.top()
	if err != nil {
		return err
	}
	u.memo[i] = v
	return nil
}

func (u *unpickler) global(module, name string) error {
	g, err := u.hooks.global(module, name)
	if err != nil {
		return err
	}
	u.push(g)
	return nil
}

func (u *unpickler) call(fn any, args pyTuple) error {
	v, err := u.hooks.call(fn, args)
	if err != nil {
		var refused *refusedGlobalError
		if errors.As(err, &refused) {
			return err
		}
		return u.fail("%v", err)
	}
	u.push(v)
	return nil
}

func (u *unpickler) setItems(d any, items []any) error {
	dict, ok := d.(*pyDict)
	if !ok {
		return u.fail("SETITEMS on a %s, not a dict", typeName(d))
	}
	if len(items)%2 != 0 {
		return u.fail("SETITEMS with an odd number of values")
	}
	for i := 0; i < len(items); i += 2 {
		dict.set(items[i], items[i+1])
	}
	return nil
}

func (u *unpickler) appendItems(l any, items []any) error {
	switch l := l.(type) {
	case *pyList:
		l.items = append(l.items, items...)
	case *pySet:
		l.items = append(l.items, items...)
	default:
		return u.fail("APPEND on a %s, not a list", typeName(l))
	}
	return nil
}

// step runs one opcode. Opcode names and semantics follow CPython's pickletools.
func (u *unpickler) step(code byte) error {
	switch code {
	case '(': // MARK
		u.marks = append(u.marks, len(u.stack))
	case '.': // STOP
		return errStop
	case '0': // POP
		if len(u.marks) > 0 && len(u.stack) == u.marks[len(u.marks)-1] {
			_, err := u.popMark()
			return err
		}
		_, err := u.pop()
		return err
	case '1': // POP_MARK
		_, err := u.popMark()
		return err
	case '2': // DUP
		v, err := u.top()
		if err != nil {
			return err
		}
		u.push(v)
	case 'N': // NONE
		u.push(nil)
	case '\x88': // NEWTRUE
		u.push(true)
	case '\x89': // NEWFALSE
		u.push(false)
	case 'I': // INT
		b, err := u.line("INT")
		if err != nil {
			return err
		}
		switch string(b) {
		case "00":
			u.push(false)
			return nil
		case "01":
			u.push(true)
			return nil
		}
		return u.pushDecimal(b, "INT")
	case 'L': // LONG
		b, err := u.line("LONG")
		if err != nil {
			return err
		}
		return u.pushDecimal(bytes.TrimSuffix(b, []byte("L")), "LONG")
	case 'J': // BININT
		v, err := u.uint(4, "BININT")
		if err != nil {
			return err
		}
		u.push(int64(int32(uint32(v))))
	case 'K': // BININT1
		v, err := u.uint(1, "BININT1")
		if err != nil {
			return err
		}
		u.push(int64(v))
	case 'M': // BININT2
		v, err := u.uint(2, "BININT2")
		if err != nil {
			return err
		}
		u.push(int64(v))
	case '\x8a': // LONG1
		b, err := u.counted(1, "LONG1")
		if err != nil {
			return err
		}
		u.push(decodeLong(b))
	case '\x8b': // LONG4
		b, err := u.counted(4, "LONG4")
		if err != nil {
			return err
		}
		u.push(decodeLong(b))
	case 'F': // FLOAT
		b, err := u.line("FLOAT")
		if err != nil {
			return err
		}
		f, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return u.fail("FLOAT %s is not a number", printable(string(b)))
		}
		u.push(f)
	case 'G': // BINFLOAT
		v, err := u.need(8, "BINFLOAT")
		if err != nil {
			return err
		}
		u.push(math.Float64frombits(binary.BigEndian.Uint64(v)))
	case 'S': // STRING
		b, err := u.line("STRING")
		if err != nil {
			return err
		}
		if len(b) < 2 || b[0] != b[len(b)-1] || (b[0] != '\'' && b[0] != '"') {
			return u.fail("STRING argument is not quoted")
		}
		u.push(string(b[1 : len(b)-1]))
	case 'V': // UNICODE (raw-unicode-escape)
		b, err := u.line("UNICODE")
		if err != nil {
			return err
		}
		u.push(rawUnicodeEscape(b))
	case 'T': // BINSTRING
		b, err := u.counted(4, "BINSTRING")
		if err != nil {
			return err
		}
		u.push(string(b))
	case 'U': // SHORT_BINSTRING
		b, err := u.counted(1, "SHORT_BINSTRING")
		if err != nil {
			return err
		}
		u.push(string(b))
	case 'X': // BINUNICODE
		b, err := u.counted(4, "BINUNICODE")
		if err != nil {
			return err
		}
		u.push(string(b))
	case '\x8c': // SHORT_BINUNICODE
		b, err := u.counted(1, "SHORT_BINUNICODE")
		if err != nil {
			return err
		}
		u.push(string(b))
	case '\x8d': // BINUNICODE8
		b, err := u.counted(8, "BINUNICODE8")
		if err != nil {
			return err
		}
		u.push(string(b))
	case 'B': // BINBYTES
		b, err := u.counted(4, "BINBYTES")
		if err != nil {
			return err
		}
		u.push(append([]byte(nil), b...))
	case 'C': // SHORT_BINBYTES
		b, err := u.counted(1, "SHORT_BINBYTES")
		if err != nil {
			return err
		}
		u.push(append([]byte(nil), b...))
	case '\x8e', '\x96': // BINBYTES8, BYTEARRAY8
		b, err := u.counted(8, "BINBYTES8")
		if err != nil {
			return err
		}
		u.push(append([]byte(nil), b...))
	case ')': // EMPTY_TUPLE
		u.push(pyTuple{})
	case 't': // TUPLE
		items, err := u.popMark()
		if err != nil {
			return err
		}
		u.push(pyTuple(items))
	case '\x85', '\x86', '\x87': // TUPLE1, TUPLE2, TUPLE3
		n := int(code-'\x85') + 1
		t := make(pyTuple, n)
		for i := n - 1; i >= 0; i-- {
			v, err := u.pop()
			if err != nil {
				return err
			}
			t[i] = v
		}
		u.push(t)
	case ']': // EMPTY_LIST
		u.push(&pyList{})
	case 'l': // LIST
		items, err := u.popMark()
		if err != nil {
			return err
		}
		u.push(&pyList{items: items})
	case 'a': // APPEND
		v, err := u.pop()
		if err != nil {
			return err
		}
		l, err := u.top()
		if err != nil {
			return err
		}
		return u.appendItems(l, []any{v})
	case 'e': // APPENDS
		items, err := u.popMark()
		if err != nil {
			return err
		}
		l, err := u.top()
		if err != nil {
			return err
		}
		return u.appendItems(l, items)
	case '}': // EMPTY_DICT
		u.push(newPyDict(false))
	case 'd': // DICT
		items, err := u.popMark()
		if err != nil {
			return err
		}
		d := newPyDict(false)
		if err := u.setItems(d, items); err != nil {
			return err
		}
		u.push(d)
	case 's': // SETITEM
		v, err := u.pop()
		if err != nil {
			return err
		}
		k, err := u.pop()
		if err != nil {
			return err
		}
		d, err := u.top()
		if err != nil {
			return err
		}
		return u.setItems(d, []any{k, v})
	case 'u': // SETITEMS
		items, err := u.popMark()
		if err != nil {
			return err
		}
		d, err := u.top()
		if err != nil {
			return err
		}
		return u.setItems(d, items)
	case '\x8f': // EMPTY_SET
		u.push(&pySet{})
	case '\x90': // ADDITEMS
		items, err := u.popMark()
		if err != nil {
			return err
		}
		s, err := u.top()
		if err != nil {
			return err
		}
		set, ok := s.(*pySet)
		if !ok {
			return u.fail("ADDITEMS on a %s, not a set", typeName(s))
		}
		set.items = append(set.items, items...)
	case '\x91': // FROZENSET
		items, err := u.popMark()
		if err != nil {
			return err
		}
		u.push(&pySet{items: items})
	case 'g', 'h', 'j': // GET, BINGET, LONG_BINGET
		i, err := u.memoArg(code)
		if err != nil {
			return err
		}
		return u.get(i)
	case 'p', 'q', 'r': // PUT, BINPUT, LONG_BINPUT
		i, err := u.memoArg(code)
		if err != nil {
			return err
		}
		return u.put(i)
	case '\x94': // MEMOIZE
		return u.put(len(u.memo))
	case 'c': // GLOBAL
		module, err := u.line("GLOBAL")
		if err != nil {
			return err
		}
		name, err := u.line("GLOBAL")
		if err != nil {
			return err
		}
		return u.global(string(module), string(name))
	case '\x93': // STACK_GLOBAL
		name, err := u.pop()
		if err != nil {
			return err
		}
		module, err := u.pop()
		if err != nil {
			return err
		}
		ms, ok1 := module.(string)
		ns, ok2 := name.(string)
		if !ok1 || !ok2 {
			return u.fail("STACK_GLOBAL needs two strings")
		}
		return u.global(ms, ns)
	case 'R': // REDUCE
		args, err := u.pop()
		if err != nil {
			return err
		}
		fn, err := u.pop()
		if err != nil {
			return err
		}
		t, ok := args.(pyTuple)
		if !ok {
			return u.fail("REDUCE arguments are a %s, not a tuple", typeName(args))
		}
		return u.call(fn, t)
	case '\x81': // NEWOBJ
		args, err := u.pop()
		if err != nil {
			return err
		}
		cls, err := u.pop()
		if err != nil {
			return err
		}
		t, ok := args.(pyTuple)
		if !ok {
			return u.fail("NEWOBJ arguments are a %s, not a tuple", typeName(args))
		}
		return u.call(cls, t)
	case '\x92': // NEWOBJ_EX
		kwargs, err := u.pop()
		if err != nil {
			return err
		}
		args, err := u.pop()
		if err != nil {
			return err
		}
		cls, err := u.pop()
		if err != nil {
			return err
		}
		t, ok := args.(pyTuple)
		if !ok {
			return u.fail("NEWOBJ_EX arguments are a %s, not a tuple", typeName(args))
		}
		if d, ok := kwargs.(*pyDict); !ok || d.len() != 0 {
			return u.fail("NEWOBJ_EX with keyword arguments")
		}
		return u.call(cls, t)
	case 'i': // INST
		module, err := u.line("INST")
		if err != nil {
			return err
		}
		name, err := u.line("INST")
		if err != nil {
			return err
		}
		cls, err := u.hooks.global(string(module), string(name))
		if err != nil {
			return err
		}
		args, err := u.popMark()
		if err != nil {
			return err
		}
		return u.call(cls, pyTuple(args))
	case 'o': // OBJ
		items, err := u.popMark()
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return u.fail("OBJ without a class")
		}
		return u.call(items[0], pyTuple(items[1:]))
	case 'b': // BUILD
		state, err := u.pop()
		if err != nil {
			return err
		}
		inst, err := u.top()
		if err != nil {
			return err
		}
		switch inst := inst.(type) {
		case *pyDict:
			// An OrderedDict's state is its __dict__ (state_dict's _metadata); unused here.
		case *pyObject:
			inst.state = state
		default:
			return u.fail("BUILD on a %s", typeName(inst))
		}
	case 'P': // PERSID
		b, err := u.line("PERSID")
		if err != nil {
			return err
		}
		return u.persistent(string(b))
	case 'Q': // BINPERSID
		pid, err := u.pop()
		if err != nil {
			return err
		}
		return u.persistent(pid)
	case '\x80': // PROTO
		v, err := u.uint(1, "PROTO")
		if err != nil {
			return err
		}
		if v > 5 {
			return u.fail("pickle protocol %d is newer than 5", v)
		}
	case '\x95': // FRAME: the whole pickle is in memory, so frames need no handling
		n, err := u.uint(8, "FRAME")
		if err != nil {
			return err
		}
		if n > uint64(len(u.data)-u.pos) {
			return u.fail("FRAME of %d bytes, %d left (truncated?)", n, len(u.data)-u.pos)
		}
	case '\x98': // READONLY_BUFFER
		if _, err := u.top(); err != nil {
			return err
		}
	case '\x82', '\x83', '\x84':
		return u.fail("pickle uses the copyreg extension registry, which resnas does not load")
	case '\x97':
		return u.fail("pickle uses out-of-band buffers, which resnas does not load")
	default:
		return u.fail("unknown opcode 0x%02x (not a pickle?)", code)
	}
	return nil
}

func (u *unpickler) persistent(pid any) error {
	v, err := u.hooks.persistentLoad(pid)
	if err != nil {
		return u.fail("%v", err)
	}
	u.push(v)
	return nil
}

func (u *unpickler) pushDecimal(b []byte, what string) error {
	s := string(b)
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		u.push(v)
		return nil
	}
	if len(s) > 4096 {
		return u.fail("%s of %d digits", what, len(s))
	}
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return u.fail("%s %s is not a number", what, printable(s))
	}
	u.push(v)
	return nil
}

// decodeLong decodes a little-endian two's-complement integer (LONG1/LONG4).
func decodeLong(b []byte) any {
	if len(b) == 0 {
		return int64(0)
	}
	if len(b) <= 8 {
		var v uint64
		for i := len(b) - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[i])
		}
		if shift := 64 - 8*uint(len(b)); shift > 0 {
			return int64(v<<shift) >> shift // sign-extend
		}
		return int64(v)
	}
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	v := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return v
}

// rawUnicodeEscape decodes Python's raw-unicode-escape: only \uXXXX and \UXXXXXXXX are escapes.
func rawUnicodeEscape(b []byte) string {
	var out []rune
	for i := 0; i < len(b); {
		if b[i] == '\\' && i+1 < len(b) && (b[i+1] == 'u' || b[i+1] == 'U') {
			n := 4
			if b[i+1] == 'U' {
				n = 8
			}
			if i+2+n <= len(b) {
				if v, err := strconv.ParseUint(string(b[i+2:i+2+n]), 16, 32); err == nil && v <= utf8.MaxRune {
					out = append(out, rune(v))
					i += 2 + n
					continue
				}
			}
		}
		out = append(out, rune(b[i])) // latin-1
		i++
	}
	return string(out)
}

// typeName names a decoded value's Python type for error messages.
func typeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case pyTuple:
		return "tuple"
	case *pyList:
		return "list"
	case *pySet:
		return "set"
	case *pyDict:
		if v.ordered {
			return "OrderedDict"
		}
		return "dict"
	case *pyObject:
		return v.class.String()
	case pyGlobal:
		return v.String()
	case *pyStorage:
		return "storage"
	case *pyTensor:
		return "tensor"
	}
	return fmt.Sprintf("%T", v)
}

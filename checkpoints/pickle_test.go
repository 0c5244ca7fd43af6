package checkpoints

import (
	"encoding/hex"
	"math/big"
	"reflect"
	"strings"
	"testing"
)

// Python 3.11's pickle.dumps of
// {"a": [1, 2.5, "x", None, True, False], "b": (1, 2), "big": 2**70, "neg": -5,
//
//	"negbig": -2**70, "i32": -70000, "k": 65535, "u": "é\n\\u"}
//
// at protocols 0 to 5: text opcodes, binary ones, framing and memoization.
var pythonPickles = []string{
	"286470300a56610a70310a286c70320a49310a6146322e350a6156780a70330a614e614930310a614930300a617356620a70340a2849310a49320a7470350a73566269670a70360a4c313138303539313632303731373431313330333432344c0a73566e65670a70370a492d350a73566e65676269670a70380a4c2d313138303539313632303731373431313330333432344c0a73566933320a70390a492d37303030300a73566b0a7031300a4936353533350a7356750a7031310a56e95c75303030615c7530303563750a7031320a732e",
	"7d71002858010000006171015d7102284b0147400400000000000058010000007871034e4930310a4930300a655801000000627104284b014b02747105580300000062696771064c313138303539313632303731373431313330333432344c0a58030000006e656771074afbffffff58060000006e656762696771084c2d313138303539313632303731373431313330333432344c0a580300000069333271094a90eefeff58010000006b710a4dffff580100000075710b5805000000c3a90a5c75710c752e",
	"80027d71002858010000006171015d7102284b0147400400000000000058010000007871034e88896558010000006271044b014b02867105580300000062696771068a0900000000000000004058030000006e656771074afbffffff58060000006e656762696771088a090000000000000000c0580300000069333271094a90eefeff58010000006b710a4dffff580100000075710b5805000000c3a90a5c75710c752e",
	"80037d71002858010000006171015d7102284b0147400400000000000058010000007871034e88896558010000006271044b014b02867105580300000062696771068a0900000000000000004058030000006e656771074afbffffff58060000006e656762696771088a090000000000000000c0580300000069333271094a90eefeff58010000006b710a4dffff580100000075710b5805000000c3a90a5c75710c752e",
	"80049577000000000000007d94288c0161945d94284b014740040000000000008c0178944e8889658c0162944b014b0286948c03626967948a090000000000000000408c036e6567944afbffffff8c066e6567626967948a090000000000000000c08c03693332944a90eefeff8c016b944dffff8c0175948c05c3a90a5c7594752e",
	"80059577000000000000007d94288c0161945d94284b014740040000000000008c0178944e8889658c0162944b014b0286948c03626967948a090000000000000000408c036e6567944afbffffff8c066e6567626967948a090000000000000000c08c03693332944a90eefeff8c016b944dffff8c0175948c05c3a90a5c7594752e",
}

func TestUnpicklesEveryProtocol(t *testing.T) {
	want := map[string]any{
		"a": []any{1, 2.5, "x", nil, true, false}, "b": []any{1, 2},
		"big": "1180591620717411303424", "neg": -5, "negbig": "-1180591620717411303424",
		"i32": -70000, "k": 65535, "u": "é\n\\u",
	}
	for proto, h := range pythonPickles {
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatal(err)
		}
		v, err := unpickle(b, torchHooks())
		if err != nil {
			t.Errorf("protocol %d: %v", proto, err)
			continue
		}
		budget := 1000
		if got := plain(v, 0, &budget); !reflect.DeepEqual(got, want) {
			t.Errorf("protocol %d: got %#v, want %#v", proto, got, want)
		}
	}
}

func TestDecodeLong(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want any
	}{
		{"", int64(0)}, {"ff", int64(-1)}, {"7f", int64(127)}, {"0080", int64(-32768)}, {"8000", int64(128)},
		{"ffffffffffffff7f", int64(1<<63 - 1)}, {"0000000000000080", int64(-1 << 63)},
		{"000000000000000001", new(big.Int).Lsh(big.NewInt(1), 64)},
		{"ffffffffffffffffff", big.NewInt(-1)},
	} {
		b, _ := hex.DecodeString(tc.in)
		got := decodeLong(b)
		if g, ok := got.(*big.Int); ok {
			if w, ok := tc.want.(*big.Int); !ok || g.Cmp(w) != 0 {
				t.Errorf("decodeLong(%s) = %v, want %v", tc.in, got, tc.want)
			}
		} else if got != tc.want {
			t.Errorf("decodeLong(%s) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestUnpicklerOpcodes(t *testing.T) {
	for _, tc := range []struct {
		name, pkl string
		want      any
	}{
		{"DUP POP", "\x80\x02K\x01K\x022\x30\x86.", []any{1, 2}},
		{"POP_MARK", "K\x07(K\x01K\x021.", 7},
		{"sets", "\x80\x04\x8f(K\x01K\x02\x90(K\x03\x91\x86.", []any{[]any{1, 2}, []any{3}}},
		{"SHORT_BINSTRING BINSTRING", "U\x02hiT\x02\x00\x00\x00yo\x86.", []any{"hi", "yo"}},
		{"bytes", "C\x02hiB\x01\x00\x00\x00!\x86.", []any{"hi", "!"}},
		{"LIST DICT", "(K\x01l(U\x01kK\x02d\x86.", []any{[]any{1}, map[string]any{"k": 2}}},
		{"GET PUT", "K\x05p7\n0g7\n.", 5},
		{"FLOAT STRING", "(F-0.25\nS'a b'\nt.", []any{-0.25, "a b"}},
		{"READONLY_BUFFER", "C\x01z\x98.", "z"},
		{"dict key replaced", "}(U\x01kK\x01U\x01kK\x02u.", map[string]any{"k": 2}},
		{"namespace", "\x80\x02cargparse\nNamespace\n)\x81}U\x01aK\x01sb.", map[string]any{"a": 1}},
		{"OrderedDict of pairs", "ccollections\nOrderedDict\n](](U\x01aK\x01e](U\x01bK\x02ee\x85R.", map[string]any{"a": 1, "b": 2}},
	} {
		v, err := unpickle([]byte(tc.pkl), torchHooks())
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		budget := 100
		if got := plain(v, 0, &budget); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %#v, want %#v", tc.name, got, tc.want)
		}
	}
}

// TestUnpicklerRejectsMalformed covers inputs on which gopickle v0.2.0 panics or misbehaves.
func TestUnpicklerRejectsMalformed(t *testing.T) {
	for _, tc := range []struct{ name, pkl, want string }{
		{"odd SETITEMS", "}(U\x01ku.", "odd number"},
		{"odd DICT", "(U\x01kd.", "odd number"},
		{"SETITEM on a list", "]U\x01kK\x01s.", "not a dict"},
		{"APPEND on a dict", "}K\x01a.", "not a list"},
		{"underflow", "t.", "no MARK"},
		{"pop across MARK", "K\x01(\x85.", "underflow"},
		{"empty stack at STOP", ".", "STOP with 0 values"},
		{"extra values at STOP", "K\x01K\x02.", "STOP with 2 values"},
		{"unknown opcode", "\xff.", "unknown opcode 0xff"},
		{"missing memo", "h\x09.", "never stored"},
		{"REDUCE of a string", "U\x01f)R.", "not a class or function"},
		{"REDUCE with a list", "ccollections\nOrderedDict\n]R.", "not a tuple"},
		{"calling a storage type", "ctorch\nFloatStorage\n)R.", "only names a type"},
		{"BUILD on an int", "K\x01}b.", "BUILD on a int"},
		{"persistent id", "U\x03abcQ.", "persistent id"},
		{"storage class", "(U\x07storagecargparse\nNamespace\nU\x010U\x03cpuK\x01tQ.", "not a torch storage"},
		{"storage key with a slash", "(U\x07storagectorch\nFloatStorage\nU\x05../x0U\x03cpuK\x01tQ.", "plain name"},
		{"rebuild of a string", "ctorch._utils\n_rebuild_tensor_v2\n(U\x01sK\x00)))tR.", "tensor storage is a str"},
		{"protocol 6", "\x80\x06N.", "protocol 6"},
		{"extension registry", "\x82\x01.", "extension registry"},
		{"out-of-band buffer", "\x97.", "out-of-band"},
		{"NEWOBJ_EX kwargs", "cargparse\nNamespace\n)}(U\x01aK\x01u\x92.", "keyword arguments"},
		{"STACK_GLOBAL of ints", "K\x01K\x02\x93.", "two strings"},
		{"bad INT", "Ix\n.", "not a number"},
		{"negative BINSTRING", "T\xff\xff\xff\xff.", "negative length"},
		{"huge LONG", "L" + strings.Repeat("9", 5000) + "\n.", "digits"},
	} {
		_, err := unpickle([]byte(tc.pkl), torchHooks())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func TestPlainIsBounded(t *testing.T) {
	// l = [x, x] nested 40 times shares references: expanding it naively is 2⁴⁰ work.
	var b strings.Builder
	b.WriteString("\x80\x02N")
	for range 40 {
		b.WriteString("2\x86") // DUP, TUPLE2
	}
	b.WriteString(".")
	v, err := unpickle([]byte(b.String()), torchHooks())
	if err != nil {
		t.Fatal(err)
	}
	budget := 1 << 16
	plain(v, 0, &budget)
	if budget >= 0 {
		t.Errorf("budget %d left: the walk was not cut short", budget)
	}
	// A list containing itself.
	v, err = unpickle([]byte("\x80\x02]q\x00h\x00a."), torchHooks())
	if err != nil {
		t.Fatal(err)
	}
	budget = 1 << 16
	plain(v, 0, &budget)
}

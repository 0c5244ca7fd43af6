package evolution

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestPyFloatMatchesPythonRepr(t *testing.T) {
	for x, want := range map[float64]string{
		79.652: "79.652", 80: "80.0", 0: "0.0", 100: "100.0", 1.0 / 3: "0.3333333333333333",
		1e-05: "1e-05", 0.0001: "0.0001", 1e16: "1e+16", 123456789012345.6: "123456789012345.6", -2.5: "-2.5",
	} {
		if got := pyFloat(x); got != want {
			t.Errorf("pyFloat(%v) = %q, want %q", x, got, want)
		}
	}
}

func exampleRecords() []Record {
	return []Record{
		{Index: 0, Generation: 0, NetworkDef: "((4, 24), (3, 24, 48), (2, 48, 10))", Top1: 71.5, Top5: 90, Images: 1000, MACs: 10, Params: 3, Origin: OriginRandom},
		{Index: 1, Generation: 0, NetworkDef: "((4, 32), (3, 32, 48), (2, 48, 10))", Top1: 80, Top5: 95.25, Images: 1000, MACs: 12, Params: 4, Throughput: 1234.5, Origin: OriginRandom},
		{Index: 2, Generation: 1, NetworkDef: "((4, 20), (3, 20, 48), (2, 48, 10))", Top1: 79, Images: 1000, MACs: 8, Params: 2, Origin: OriginMutation, Parents: []int{1}},
		{Index: 3, Generation: 1, NetworkDef: "((4, 28), (3, 28, 48), (2, 48, 10))", Top1: 80, Images: 1000, MACs: 11, Params: 3, Origin: OriginCrossover, Parents: []int{1, 0}},
		{Index: 4, Generation: 2, NetworkDef: "((4, 32), (3, 32, 56), (2, 56, 10))", Top1: 81.25, Images: 1000, MACs: 13, Params: 5, Origin: OriginInject},
	}
}

func TestSummaryIsTheReferenceFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "summary.txt")
	if err := WriteSummary(path, exampleRecords()); err != nil {
		t.Fatal(err)
	}
	want := "Iter, Acc, Network_def\n" +
		"0, 80.0, ((4, 32), (3, 32, 48), (2, 48, 10))\n" +
		"1, 80.0, ((4, 32), (3, 32, 48), (2, 48, 10))\n" + // a tie keeps the earlier best
		"2, 81.25, ((4, 32), (3, 32, 56), (2, 56, 10))\n"
	if got := readFile(t, path); got != want {
		t.Errorf("summary.txt:\n%s\nwant\n%s", got, want)
	}
}

func TestCSVRoundTrips(t *testing.T) {
	path := filepath.Join(t.TempDir(), "search.csv")
	recs := exampleRecords()
	if err := WriteCSV(path, recs); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rows[0], ","); !strings.HasPrefix(got, "index,generation,network_def,top1,macs,params,") {
		t.Errorf("header %q", got)
	}
	if len(rows) != len(recs)+1 {
		t.Fatalf("%d rows", len(rows))
	}
	for i, r := range recs {
		row := rows[i+1]
		if row[2] != r.NetworkDef || row[3] != formatFloat(r.Top1) || row[9] != string(r.Origin) {
			t.Errorf("row %d = %q", i, row)
		}
	}
	if rows[2][8] != "1234.5" || rows[1][8] != "" || rows[4][10] != "1;0" {
		t.Errorf("throughput/parents columns: %q %q %q", rows[2][8], rows[1][8], rows[4][10])
	}
	if !strings.Contains(readFile(t, path), `,"((4, 24), (3, 24, 48), (2, 48, 10))",`) {
		t.Error("network_def is not quoted")
	}
}

func TestJSONLRoundTrips(t *testing.T) {
	path := filepath.Join(t.TempDir(), "search.jsonl")
	recs := exampleRecords()
	if err := WriteJSONL(path, recs); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(readFile(t, path)), "\n")
	for i, l := range lines {
		var r Record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if r.NetworkDef != recs[i].NetworkDef || r.Top1 != recs[i].Top1 || len(r.Parents) != len(recs[i].Parents) {
			t.Errorf("line %d: %+v", i, r)
		}
	}
}

func TestAtomicWriteLeavesNoTemporaries(t *testing.T) {
	dir := t.TempDir()
	if err := WriteExports(dir, exampleRecords()); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("files %v, want the four exports only", names)
	}
}

func TestFrontOf(t *testing.T) {
	front := FrontOf(exampleRecords())
	var got []int
	for _, r := range front {
		got = append(got, r.Index)
	}
	// 1 beats 0; 2 is the cheapest; 3 is cheaper than 1, which alone has a throughput; 4 is
	// the most accurate.
	if want := []int{1, 2, 3, 4}; !slices.Equal(got, want) {
		t.Errorf("front %v, want %v", got, want)
	}
}

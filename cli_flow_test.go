package main

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/resnas/resnas/checkpoints"
	"github.com/resnas/resnas/data"
	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/supernet"
)

// tinyWorld makes a 120-image Fashion-MNIST-like IDX source, its train (sub-train/sub-val)
// and test shards, and a random-weight checkpoint of the fmnist space, all in a temp dir.
type tinyWorld struct {
	src, train, test, ckpt string
}

func newTinyWorld(t *testing.T) tinyWorld { return newWorld(t, 120) }

// newWorld is newTinyWorld with n images.
func newWorld(t *testing.T, n int) tinyWorld {
	t.Helper()
	dir := t.TempDir()
	w := tinyWorld{src: filepath.Join(dir, "idx"), train: filepath.Join(dir, "train"), test: filepath.Join(dir, "test"), ckpt: filepath.Join(dir, "random.safetensors")}
	os.MkdirAll(w.src, 0o755)
	rng := rand.New(rand.NewPCG(3, 4))
	img := make([]byte, 16+n*28*28)
	binary.BigEndian.PutUint32(img[0:], 0x803)
	binary.BigEndian.PutUint32(img[4:], uint32(n))
	binary.BigEndian.PutUint32(img[8:], 28)
	binary.BigEndian.PutUint32(img[12:], 28)
	lab := make([]byte, 8+n)
	binary.BigEndian.PutUint32(lab[0:], 0x801)
	binary.BigEndian.PutUint32(lab[4:], uint32(n))
	for i := 0; i < n; i++ {
		c := i % 10
		lab[8+i] = byte(c)
		for p := 0; p < 28*28; p++ {
			// Class-dependent bright band plus noise, so a trained net can learn something.
			v := rng.IntN(60)
			if (p/28)/3 == c {
				v += 180
			}
			img[16+i*28*28+p] = byte(v)
		}
	}
	for _, s := range []string{"train", "t10k"} {
		os.WriteFile(filepath.Join(w.src, s+"-images-idx3-ubyte"), img, 0o644)
		os.WriteFile(filepath.Join(w.src, s+"-labels-idx1-ubyte"), lab, 0o644)
	}
	if code, _, errs := runCmd(t, "shards", "build", "--from", w.src, "--out", w.train, "--split", "train", "--holdout-per-class", "4"); code != 0 {
		t.Fatalf("shards build train: %s", errs)
	}
	if code, _, errs := runCmd(t, "shards", "build", "--from", w.src, "--out", w.test, "--split", "test"); code != 0 {
		t.Fatalf("shards build test: %s", errs)
	}
	sp, _ := supernet.Lookup("fmnist")
	wts := model.Weights{}
	for _, p := range model.ParamShapes(sp.Max(), sp.Input) {
		tn := model.Tensor{Shape: p.Shape, Data: make([]float32, 0)}
		tn.Data = make([]float32, tn.Numel())
		for i := range tn.Data {
			tn.Data[i] = float32(rng.NormFloat64() * 0.2)
			if strings.HasSuffix(p.Key, "running_var") {
				tn.Data[i] = 1
			}
		}
		wts[p.Key] = tn
	}
	m, err := data.ReadManifest(filepath.Join(w.train, "sub-val"))
	if err != nil {
		t.Fatal(err)
	}
	meta := checkpoints.Meta{Arch: sp.Max().String(), Space: sp.Name, Input: sp.Input, Classes: 10, Mean: m.Mean, Std: m.Std}
	if err := checkpoints.Save(w.ckpt, wts, meta, checkpoints.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	return w
}

// TestSearchDeterministicCSV: two runs with the same seed and options write identical CSVs,
// and rerunning on a finished journal evaluates nothing new.
func TestSearchDeterministicCSV(t *testing.T) {
	w := newTinyWorld(t)
	dir := t.TempDir()
	args := func(journal, csv string) []string {
		return []string{"search", "--checkpoint", w.ckpt, "--data", filepath.Join(w.train, "sub-val"), "--max-macs", "50%",
			"--population", "6", "--generations", "2", "--parents", "3", "--mutations", "3", "--crossovers", "3",
			"--seed", "11", "--journal", journal, "--export", csv, "--json"}
	}
	var csvs []string
	for i := 0; i < 2; i++ {
		j, c := filepath.Join(dir, "j"+string(rune('a'+i))+".jsonl"), filepath.Join(dir, "h"+string(rune('a'+i))+".csv")
		code, out, errs := runCmd(t, args(j, c)...)
		if code != 0 {
			t.Fatalf("search: exit %d: %s", code, errs)
		}
		var res struct{ Evaluations int }
		if err := json.Unmarshal([]byte(out), &res); err != nil || res.Evaluations != 12 {
			t.Fatalf("search JSON %q: %v", out, err)
		}
		b, _ := os.ReadFile(c)
		csvs = append(csvs, string(b))
	}
	if csvs[0] != csvs[1] {
		t.Fatalf("same seed, different CSVs:\n%s\n---\n%s", csvs[0], csvs[1])
	}
	if !strings.HasPrefix(csvs[0], "index,generation,network_def,top1,macs,params") {
		t.Fatalf("CSV header: %q", strings.SplitN(csvs[0], "\n", 2)[0])
	}
	// Resume a finished search: everything replays from the journal.
	code, _, errs := runCmd(t, args(filepath.Join(dir, "ja.jsonl"), filepath.Join(dir, "again.csv"))...)
	if code != 0 || !strings.Contains(errs, "12 evaluations replayed") {
		t.Fatalf("resume of a finished journal: exit %d: %s", code, errs)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "again.csv")); string(b) != csvs[0] {
		t.Fatal("replayed CSV differs")
	}
}

// TestSearchRefusesForeignJournal: a journal written against another checkpoint is refused,
// naming both hashes.
func TestSearchRefusesForeignJournal(t *testing.T) {
	w := newTinyWorld(t)
	j := filepath.Join(t.TempDir(), "j.jsonl")
	base := []string{"search", "--data", filepath.Join(w.train, "sub-val"), "--population", "4", "--generations", "1", "--journal", j}
	if code, _, errs := runCmd(t, append(base, "--checkpoint", w.ckpt)...); code != 0 {
		t.Fatalf("search: %s", errs)
	}
	other := filepath.Join(t.TempDir(), "other.safetensors")
	ck, _ := checkpoints.Load(w.ckpt, checkpoints.Options{})
	ck.Weights["cls_head.bias"].Data[0] += 1
	checkpoints.Save(other, ck.Weights, ck.Meta, checkpoints.SaveOptions{})
	code, out, errs := runCmd(t, append(base, "--checkpoint", other)...)
	wantOneLineError(t, code, out, errs, ck.SHA256[:12])
}

// TestTrainEvalExport trains one short epoch from the CLI, then evaluates and exports a
// sub-network of the result; the export's network_def and weights must load back.
func TestTrainEvalExport(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a network")
	}
	w := newTinyWorld(t)
	out := filepath.Join(t.TempDir(), "sn.safetensors")
	code, sum, errs := runCmd(t, "train", "--data", w.train, "--epochs", "1", "--batch", "32", "--examples-per-arch", "16", "--out", out, "--seed", "1",
		"--val-images", "7", "--json")
	if code != 0 {
		t.Fatalf("train: %s", errs)
	}
	// --val-images scores the first 7 sub-val images: the figures are sevenths.
	var s struct {
		SubvalImages       int     `json:"subval_images"`
		SubvalTop1Largest  float64 `json:"subval_top1_largest"`
		SubvalTop1Smallest float64 `json:"subval_top1_smallest"`
	}
	if err := json.Unmarshal([]byte(sum), &s); err != nil || s.SubvalImages != 7 {
		t.Fatalf("train summary %s (%v): want subval_images 7", sum, err)
	}
	for _, v := range []float64{s.SubvalTop1Largest, s.SubvalTop1Smallest} {
		if k := v * 7; math.Abs(k-math.Round(k)) > 1e-9 {
			t.Errorf("sub-val top-1 %v is not a count of 7 images (summary %s)", v, sum)
		}
	}
	if !strings.Contains(errs, "sub-val top-1 (7 images)") {
		t.Errorf("epoch line does not say how many sub-val images it scored:\n%s", errs)
	}
	code, res, errs := runCmd(t, "eval", "--checkpoint", out, "--arch", "min", "--data", w.test, "--json")
	if code != 0 {
		t.Fatalf("eval: %s", errs)
	}
	var r struct {
		Top1   float64
		Images int
	}
	json.Unmarshal([]byte(res), &r)
	if r.Images != 120 || r.Top1 < 0 || r.Top1 > 1 {
		t.Fatalf("eval result %s", res)
	}
	exp := filepath.Join(t.TempDir(), "export")
	if code, _, errs := runCmd(t, "export", "--checkpoint", out, "--arch", "min", "--out", exp, "--data", w.test); code != 0 {
		t.Fatalf("export: %s", errs)
	}
	def, _ := os.ReadFile(filepath.Join(exp, "network_def.txt"))
	code, _, errs = runCmd(t, "eval", "--checkpoint", filepath.Join(exp, "subnet.safetensors"), "--arch", strings.TrimSpace(string(def)), "--data", w.test, "--json")
	if code != 0 {
		t.Fatalf("eval of the exported sub-network: %s", errs)
	}
}

// TestBadData: damaged or mismatched shards give one line naming the problem.
func TestBadData(t *testing.T) {
	w := newTinyWorld(t)
	// A flipped byte in a copy of the test shards.
	flipped := filepath.Join(t.TempDir(), "flipped")
	os.MkdirAll(flipped, 0o755)
	ents, _ := os.ReadDir(w.test)
	var shard string
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(w.test, e.Name()))
		if strings.HasSuffix(e.Name(), ".bin") {
			b[len(b)-1] ^= 0x40
			shard = e.Name()
		}
		os.WriteFile(filepath.Join(flipped, e.Name()), b, 0o644)
	}
	empty := t.TempDir()
	for _, c := range []struct {
		name      string
		args      []string
		fragments []string
	}{
		{"flipped byte", []string{"eval", "--checkpoint", w.ckpt, "--arch", "max", "--data", flipped}, []string{shard, "sha256"}},
		{"missing manifest", []string{"eval", "--checkpoint", w.ckpt, "--arch", "max", "--data", empty}, []string{"manifest.json"}},
		{"wrong image size for the checkpoint", []string{"eval", "--checkpoint", devDir + "supernet.pth.tar", "--arch", "max", "--data", w.test}, []string{"32×32", "112×112"}},
		{"train data of another geometry", []string{"train", "--space", "dev-small", "--data", w.train, "--epochs", "1", "--out", filepath.Join(t.TempDir(), "x.safetensors")}, []string{"dev-small"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runCmd(t, c.args...)
			wantOneLineError(t, code, out, errs, c.fragments...)
			t.Logf("%s", strings.TrimSpace(errs))
		})
	}
}

// TestConvertThenPredict converts the reference supernet to resnas safetensors; the result
// records its space, geometry and source hash, and predicts the same golden logits.
func TestConvertThenPredict(t *testing.T) {
	out := filepath.Join(t.TempDir(), "dev.safetensors")
	if code, _, errs := runCmd(t, "convert", devDir+"supernet.pth.tar", out, "--json"); code != 0 {
		t.Fatalf("convert: %s", errs)
	}
	ck, err := checkpoints.Load(out, checkpoints.Options{})
	if err != nil {
		t.Fatal(err)
	}
	src, _ := checkpoints.Load(devDir+"supernet.pth.tar", checkpoints.Options{})
	m := ck.Meta
	if m.Space != "dev-small" || m.Input.Size != 112 || m.Input.Patch != 14 || m.Classes != 10 || m.Provenance.SHA256 != src.SHA256 {
		t.Fatalf("metadata %+v", m)
	}
	c := goldenCases(t)[1]
	code, stdout, errs := runCmd(t, "predict", "--checkpoint", out, "--arch", c.NetworkDef, "--input", devDir+"input.f32", "--shape", "4,3,112,112")
	if code != 0 {
		t.Fatalf("predict: %s", errs)
	}
	var first []float64
	json.Unmarshal([]byte(strings.SplitN(stdout, "\n", 2)[0]), &first)
	for j, v := range first {
		if d := v - c.Logits[0][j]; d > 1e-4 || d < -1e-4 {
			t.Fatalf("logit %d: %v, want %v", j, v, c.Logits[0][j])
		}
	}
}

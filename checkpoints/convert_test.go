package checkpoints

import (
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/resnas/resnas/model"
)

func TestConvertReferenceSupernet(t *testing.T) {
	pth, err := Load(supernetFixture, Options{})
	if err != nil {
		t.Fatal(err)
	}
	out := tempPath(t, "supernet.safetensors")
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	// The space and image size come from the run's args, channels, patch and classes from the
	// weights; only what the file cannot say is given.
	err = Convert(supernetFixture, out, ConvertOptions{Meta: Meta{
		Arch:       devSmallSupernet,
		Provenance: Provenance{Command: "resnas convert supernet.pth.tar supernet.safetensors", Created: created},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ck, err := Load(out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ck.Weights, pth.Weights) {
		t.Error("converted weights differ from the .pth")
	}
	m := ck.Meta
	if m.Arch != devSmallSupernet || m.Space != "dev-small" || m.Input != devSmallInput || m.Classes != 10 {
		t.Errorf("meta arch %q space %q input %+v classes %d", m.Arch, m.Space, m.Input, m.Classes)
	}
	p := m.Provenance
	if p.Source != supernetFixture || p.SHA256 != pth.SHA256 || !p.Created.Equal(created) || p.Command == "" {
		t.Errorf("provenance %+v", p)
	}

	// Re-converting to float16 keeps the provenance of the original .pth.
	out16 := tempPath(t, "supernet16.safetensors")
	if err := Convert(out, out16, ConvertOptions{Save: SaveOptions{Float16: true}}); err != nil {
		t.Fatal(err)
	}
	ck16, err := Load(out16, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ck16.Meta.Provenance.Source != supernetFixture || ck16.Meta.Arch != devSmallSupernet {
		t.Errorf("float16 copy lost its metadata: %+v", ck16.Meta)
	}
}

func TestConvertInfersGeometry(t *testing.T) {
	out := tempPath(t, "subnet0.safetensors")
	if err := Convert(subnetFixture, out, ConvertOptions{}); err != nil { // its args say nothing of size
		t.Fatal(err)
	}
	ck, err := Load(out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ck.Meta.Input != devSmallInput || ck.Meta.Classes != 10 || ck.Meta.Space != "" {
		t.Errorf("inferred input %+v classes %d space %q, want %+v, 10, none", ck.Meta.Input, ck.Meta.Classes, ck.Meta.Space, devSmallInput)
	}
}

func TestConvertFillsFromArgs(t *testing.T) {
	in := tempPath(t, "train.pth")
	if err := os.WriteFile(in, trainingCheckpoint(t, true), 0o644); err != nil {
		t.Fatal(err)
	}
	out := tempPath(t, "train.safetensors")
	if err := Convert(in, out, ConvertOptions{Load: Options{Prefer: SourceModel}}); err != nil {
		t.Fatal(err)
	}
	ck, err := Load(out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ck.Meta.Arch != "((4, 8), (1, (8, 1, 8), (8, 16), 1), (2, 8, 10))" || ck.Meta.Provenance.Seed == nil ||
		*ck.Meta.Provenance.Seed != 0 || ck.Meta.Provenance.Created.IsZero() {
		t.Errorf("meta from args: %+v", ck.Meta)
	}
	if ck.Meta.Input != (model.Input{}) {
		t.Errorf("geometry %+v from weights that have no stem", ck.Meta.Input)
	}
	if ck.Weights["w"].Data[0] != 1 {
		t.Errorf("Prefer model ignored: w[0] = %v", ck.Weights["w"].Data[0])
	}
}

func TestConvertBadInputWritesNothing(t *testing.T) {
	in := tempPath(t, "bad.pth")
	if err := os.WriteFile(in, []byte("not a checkpoint at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := tempPath(t, "out.safetensors")
	checkOneLineError(t, Convert(in, out, ConvertOptions{}), in)
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("output exists after a failed conversion: %v", err)
	}
	err := Convert(supernetFixture, out, ConvertOptions{Meta: Meta{Arch: "(4, 32)"}})
	checkOneLineError(t, err, out)
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("output exists after a failed conversion: %v", err)
	}
}

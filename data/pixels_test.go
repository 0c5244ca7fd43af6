package data

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// pythonWithTorchvision is the interpreter the parity test uses: /usr/bin/python3 (where the
// distribution's python3-torchvision and python3-pil go), else the python3 on PATH.
func pythonWithTorchvision() string {
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	if p, err := exec.LookPath("python3"); err == nil {
		return p
	}
	return ""
}

// TestPixelsMatchTorchvision decodes and preprocesses JPEGs and PNGs that PIL wrote (many
// sizes and aspect ratios, up- and down-scaling, baseline and progressive, 4:2:0/4:2:2/4:4:4,
// grey, CMYK, palette, alpha, a PNG named .JPEG) and compares them with torchvision's eval
// transform on PIL's decoding: Resize(int(256/224·S), bicubic) + CenterCrop(S).
// PNGs must match exactly (the resize is PIL's, bit for bit); JPEGs within 1 grey level on
// at least 99.9% of pixels (image/jpeg's IDCT is not libjpeg-turbo's islow).
func TestPixelsMatchTorchvision(t *testing.T) {
	if testing.Short() {
		t.Skip("writes ~250 images with PIL (-short)")
	}
	py := pythonWithTorchvision()
	if py == "" {
		t.Skip("no python3: the torchvision parity test needs python3-torchvision and python3-pil")
	}
	dir := t.TempDir()
	cmd := exec.Command(py, filepath.Join("testdata", "pil_reference.py"), dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 3 {
			t.Skipf("%s lacks torchvision or PIL (apt-get install python3-torchvision python3-pil): %s", py, strings.TrimSpace(stderr.String()))
		}
		t.Fatalf("pil_reference.py: %v\n%s", err, stderr.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var index [][]any
	if err := json.Unmarshal(b, &index); err != nil {
		t.Fatal(err)
	}
	type tally struct {
		pixels, within1, exact int
		worst                  int
		worstAt                string
	}
	kinds := map[string]*tally{}
	for _, e := range index {
		kind, name, size := e[0].(string), e[1].(string), int(e[2].(float64))
		want, err := os.ReadFile(filepath.Join(dir, "ref", kind, name+".rgb"))
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(filepath.Join(dir, "img", kind, name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := decodeImage(f)
		f.Close()
		if err != nil {
			t.Errorf("%s/%s: %v", kind, name, err)
			continue
		}
		got := make([]byte, 3*size*size)
		preprocess(img, size, 3, got)
		k := kinds[kind]
		if k == nil {
			k = &tally{}
			kinds[kind] = k
		}
		plane := size * size
		for i := range plane {
			for c := range 3 {
				d := int(got[c*plane+i]) - int(want[3*i+c])
				d = max(d, -d)
				k.pixels++
				if d <= 1 {
					k.within1++
				}
				if d == 0 {
					k.exact++
				}
				if d > k.worst {
					k.worst, k.worstAt = d, name
				}
			}
		}
	}
	names := make([]string, 0, len(kinds))
	for n := range kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		k := kinds[n]
		share := float64(k.within1) / float64(k.pixels)
		t.Logf("%-15s worst |diff| %3d (%s)  ≤1: %.5f%%  exact: %.4f%%  (%d values)", n, k.worst, k.worstAt, 100*share, 100*float64(k.exact)/float64(k.pixels), k.pixels)
		exact := strings.HasPrefix(n, "png") || n == "gray_png"
		switch {
		case exact && k.exact != k.pixels:
			t.Errorf("%s: %d of %d values differ from torchvision (worst %d in %s), want none: the resize is PIL's exactly", n, k.pixels-k.exact, k.pixels, k.worst, k.worstAt)
		case share < 0.999:
			t.Errorf("%s: %.4f%% of values within 1 of torchvision, want ≥ 99.9%%", n, 100*share)
		}
	}
}

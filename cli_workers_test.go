package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/resnas/resnas/checkpoints"
)

// lines collects a child's stderr while it runs.
type lines struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *lines) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.buf.String() }

// startLogged starts cmd with its stderr (and stdout) collected in the returned lines.
func startLogged(t *testing.T, cmd *exec.Cmd) *lines {
	t.Helper()
	l := &lines{}
	r, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = nil
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			l.mu.Lock()
			l.buf.WriteString(sc.Text() + "\n")
			l.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return l
}

func evaluations(journal string) int {
	b, _ := os.ReadFile(journal)
	return strings.Count(string(b), `"network_def"`)
}

// TestSearchWorkersSameCSV: a search over two local worker processes writes the CSV of the
// in-process search with the same seed; again with one worker SIGKILLed mid-search (its
// candidate is redelivered to the other); again with the driver SIGKILLed and rerun.
func TestSearchWorkersSameCSV(t *testing.T) {
	if testing.Short() {
		t.Skip("runs four searches in child processes")
	}
	w := newWorld(t, 300)
	dir := t.TempDir()
	search := func(journal, csv string, extra ...string) []string {
		return append([]string{"search", "--checkpoint", w.ckpt, "--data", filepath.Join(w.train, "sub-val"), "--max-macs", "60%",
			"--population", "12", "--generations", "3", "--parents", "4", "--mutations", "4", "--crossovers", "4",
			"--seed", "3", "--journal", journal, "--export", csv}, extra...)
	}
	wantCSV := filepath.Join(dir, "inproc.csv")
	if code, _, errs := runCmd(t, search(filepath.Join(dir, "inproc.jsonl"), wantCSV)...); code != 0 {
		t.Fatalf("in-process search: %s", errs)
	}
	want, _ := os.ReadFile(wantCSV)
	same := func(what, csv string) {
		t.Helper()
		got, _ := os.ReadFile(csv)
		if string(got) != string(want) {
			t.Fatalf("%s: CSV differs from the in-process one:\n%s\n---\n%s", what, got, want)
		}
	}

	// Two workers, nothing killed.
	j, c := filepath.Join(dir, "w2.jsonl"), filepath.Join(dir, "w2.csv")
	out, err := child(t, search(j, c, "--workers", "2")...).CombinedOutput()
	if err != nil {
		t.Fatalf("--workers 2: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "search: broker nats://127.0.0.1:") {
		t.Fatalf("the embedded broker does not say it listens on loopback:\n%s", out)
	}
	same("--workers 2", c)

	// One worker SIGKILLed once a few evaluations are journaled.
	j, c = filepath.Join(dir, "wk.jsonl"), filepath.Join(dir, "wk.csv")
	cmd := child(t, search(j, c, "--workers", "2")...)
	log := startLogged(t, cmd)
	pidRE := regexp.MustCompile(`started worker local-2 \(pid (\d+)\)`)
	waitFor(t, "a few evaluations", func() bool { return evaluations(j) >= 6 && pidRE.MatchString(log.String()) })
	pid, _ := strconv.Atoi(pidRE.FindStringSubmatch(log.String())[1])
	syscall.Kill(pid, syscall.SIGKILL)
	atKill := evaluations(j)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("search with a killed worker: %v\n%s", err, log)
	}
	const total = 12 + 2*(4+4)
	if atKill < total && (!strings.Contains(log.String(), "worker local-2 (pid") || !strings.Contains(log.String(), "signal: killed")) {
		t.Fatalf("the driver did not report the worker killed after %d of %d evaluations:\n%s", atKill, total, log)
	}
	t.Logf("worker kill:\n%s", log)
	same("one worker SIGKILLed", c)

	// The driver SIGKILLed, then the same command again.
	j, c = filepath.Join(dir, "dk.jsonl"), filepath.Join(dir, "dk.csv")
	cmd = child(t, search(j, c, "--workers", "2")...)
	log = startLogged(t, cmd)
	waitFor(t, "a few evaluations", func() bool { return evaluations(j) >= 10 })
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	out, err = child(t, search(j, c, "--workers", "2")...).CombinedOutput()
	if err != nil {
		t.Fatalf("rerun after the driver was killed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "replayed from the journal") {
		t.Fatalf("the rerun did not resume the journal:\n%s", out)
	}
	t.Logf("driver rerun:\n%s", out)
	same("driver SIGKILLed and rerun", c)
	rows := strings.Count(strings.TrimSpace(string(want)), "\n")
	if n := evaluations(j); n != rows {
		t.Fatalf("journal holds %d evaluations for %d CSV rows", n, rows)
	}
}

// TestWorkerRefusals: a worker serving another checkpoint refuses the driver's jobs, and the
// driver names it; a worker with a wrong token is refused by the broker.
func TestWorkerRefusals(t *testing.T) {
	w := newTinyWorld(t)
	dir := t.TempDir()
	ck, err := checkpoints.Load(w.ckpt, checkpoints.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for k, tn := range ck.Weights {
		if strings.HasSuffix(k, "weight") {
			tn.Data[0] += 1
			break
		}
	}
	foreign := filepath.Join(dir, "foreign.safetensors")
	if err := checkpoints.Save(foreign, ck.Weights, ck.Meta, checkpoints.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	driver := child(t, "search", "--checkpoint", w.ckpt, "--data", filepath.Join(w.train, "sub-val"), "--max-macs", "60%",
		"--population", "4", "--generations", "1", "--seed", "3", "--journal", filepath.Join(dir, "j.jsonl"),
		"--listen", "127.0.0.1:0", "--token", "sesame")
	log := startLogged(t, driver)
	urlRE := regexp.MustCompile(`broker (nats://127\.0\.0\.1:\d+)`)
	waitFor(t, "the broker's address", func() bool { return urlRE.MatchString(log.String()) })
	url := urlRE.FindStringSubmatch(log.String())[1]

	out, err := child(t, "worker", "--broker", url, "--token", "wrong", "--name", "intruder").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "refused the token") {
		t.Fatalf("worker with a wrong token: %v\n%s", err, out)
	}
	alien := child(t, "worker", "--broker", url, "--token", "sesame", "--name", "alien", "--checkpoint", foreign)
	startLogged(t, alien)
	waitFor(t, "the refusal", func() bool { return strings.Contains(log.String(), "search: worker alien refused: ") })
	if !strings.Contains(log.String(), "foreign.safetensors") {
		t.Fatalf("the refusal does not say why:\n%s", log)
	}
}

// TestListenNeedsToken: remote workers are never let in without a token.
func TestListenNeedsToken(t *testing.T) {
	w := newTinyWorld(t)
	code, _, errs := runCmd(t, "search", "--checkpoint", w.ckpt, "--data", filepath.Join(w.train, "sub-val"),
		"--journal", filepath.Join(t.TempDir(), "j.jsonl"), "--listen", "0.0.0.0:0")
	if code != exitBadUsage || !strings.Contains(errs, "--listen needs --token") {
		t.Fatalf("exit %d: %s", code, errs)
	}
}

// TestRemoteWorkerFetchesFiles: a worker with no copy of the checkpoint or the shards gets
// them from the driver through the broker's object store, and the search ends as in-process.
func TestRemoteWorkerFetchesFiles(t *testing.T) {
	w := newTinyWorld(t)
	dir := t.TempDir()
	args := func(journal, csv string, extra ...string) []string {
		return append([]string{"search", "--checkpoint", w.ckpt, "--data", filepath.Join(w.train, "sub-val"), "--max-macs", "60%",
			"--population", "5", "--generations", "1", "--seed", "4", "--journal", journal, "--export", csv}, extra...)
	}
	if code, _, errs := runCmd(t, args(filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "a.csv"))...); code != 0 {
		t.Fatal(errs)
	}
	driver := child(t, args(filepath.Join(dir, "b.jsonl"), filepath.Join(dir, "b.csv"), "--listen", "127.0.0.1:0", "--token", "sesame")...)
	log := startLogged(t, driver)
	urlRE := regexp.MustCompile(`broker (nats://127\.0\.0\.1:\d+)`)
	waitFor(t, "the broker's address", func() bool { return urlRE.MatchString(log.String()) })
	cache := filepath.Join(dir, "cache")
	worker := child(t, "worker", "--broker", urlRE.FindStringSubmatch(log.String())[1], "--name", "remote", "--cache", cache, "--threads", "1")
	worker.Env = append(worker.Env, "RESNAS_TOKEN=sesame")
	startLogged(t, worker)
	if err := driver.Wait(); err != nil {
		t.Fatalf("driver: %v\n%s", err, log)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "a.csv"))
	b, _ := os.ReadFile(filepath.Join(dir, "b.csv"))
	if string(a) != string(b) {
		t.Fatalf("remote worker's CSV differs:\n%s\n---\n%s", b, a)
	}
	ckpts, _ := filepath.Glob(filepath.Join(cache, "checkpoints", "*.safetensors"))
	shards, _ := filepath.Glob(filepath.Join(cache, "data", "*", "manifest.json"))
	if len(ckpts) != 1 || len(shards) != 1 {
		t.Fatalf("cache holds checkpoints %v and data %v, want one of each", ckpts, shards)
	}
}

func TestParseDevice(t *testing.T) {
	for _, c := range []struct {
		in, kind, gpu string
		ok            bool
	}{
		{"cpu", "cpu", "", true}, {"cuda", "cuda", "", true}, {"cuda:0", "cuda", "0", true}, {"cuda:12", "cuda", "12", true},
		{"cuda:", "", "", false}, {"cuda:x", "", "", false}, {"cuda:-1", "", "", false}, {"gpu", "", "", false}, {"", "", "", false},
	} {
		kind, gpu, ok := parseDevice(c.in)
		if kind != c.kind || gpu != c.gpu || ok != c.ok {
			t.Errorf("parseDevice(%q) = %q, %q, %v; want %q, %q, %v", c.in, kind, gpu, ok, c.kind, c.gpu, c.ok)
		}
	}
}

package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/resnas/resnas/checkpoints"
	sntrain "github.com/resnas/resnas/supernet/train"
)

// TestMain lets tests run the real command in a child process (the test binary re-executed
// with RESNAS_RUN_MAIN=1), so it can be killed with SIGKILL like a user's run.
func TestMain(m *testing.M) {
	if os.Getenv("RESNAS_RUN_MAIN") == "1" {
		os.Exit(run(context.Background(), os.Args[1:], env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}))
	}
	os.Exit(m.Run())
}

// child starts resnas with args in a subprocess.
func child(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "RESNAS_RUN_MAIN=1")
	return cmd
}

// waitFor polls until ok() or the deadline, failing the test on timeout.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestTrainSIGKILLResume kills a training run with SIGKILL after its first checkpoint, resumes
// it with --resume, and requires weights identical to an uninterrupted run with the same seed.
func TestTrainSIGKILLResume(t *testing.T) {
	if testing.Short() {
		t.Skip("trains three short runs")
	}
	w := newWorld(t, 600)
	dir := t.TempDir()
	train := func(out string, extra ...string) []string {
		return append([]string{"train", "--data", w.train, "--epochs", "3", "--batch", "16", "--examples-per-arch", "8", "--channel-warmup", "1", "--seed", "5", "--out", out}, extra...)
	}
	whole := filepath.Join(dir, "whole.safetensors")
	if out, err := child(t, train(whole)...).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}

	killed := filepath.Join(dir, "killed.safetensors")
	state := filepath.Join(dir, "killed.state", sntrain.StateFile)
	cmd := child(t, train(killed)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first epoch's state", func() bool { _, err := os.Stat(state); return err == nil })
	cmd.Process.Signal(syscall.SIGKILL)
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Skipf("the run finished before SIGKILL landed (%v); machine too fast for this test", err)
	}
	if _, err := os.Stat(killed); err == nil {
		t.Fatal("a killed run left its final output")
	}
	if out, err := child(t, train(killed, "--resume")...).CombinedOutput(); err != nil {
		t.Fatalf("resumed run: %v\n%s", err, out)
	}
	a, err := checkpoints.Load(whole, checkpoints.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := checkpoints.Load(killed, checkpoints.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for k, ta := range a.Weights {
		tb, ok := b.Weights[k]
		if !ok || len(ta.Data) != len(tb.Data) {
			t.Fatalf("%s missing or resized after resume", k)
		}
		for i := range ta.Data {
			if ta.Data[i] != tb.Data[i] {
				t.Fatalf("%s[%d]: resumed %v, uninterrupted %v", k, i, tb.Data[i], ta.Data[i])
			}
		}
	}
}

// TestSearchSIGKILLResume kills a search with SIGKILL mid-run and reruns the same command: the
// final CSV equals an uninterrupted run's and no candidate is evaluated twice.
func TestSearchSIGKILLResume(t *testing.T) {
	w := newWorld(t, 300)
	dir := t.TempDir()
	search := func(journal, csv string) []string {
		return []string{"search", "--checkpoint", w.ckpt, "--data", filepath.Join(w.train, "sub-val"), "--max-macs", "60%",
			"--population", "12", "--generations", "3", "--parents", "4", "--mutations", "4", "--crossovers", "4",
			"--seed", "3", "--journal", journal, "--export", csv}
	}
	wholeCSV := filepath.Join(dir, "whole.csv")
	if out, err := child(t, search(filepath.Join(dir, "whole.jsonl"), wholeCSV)...).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted search: %v\n%s", err, out)
	}
	journal, csv := filepath.Join(dir, "killed.jsonl"), filepath.Join(dir, "killed.csv")
	cmd := child(t, search(journal, csv)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill once about a third of the 28 evaluations are journaled.
	waitFor(t, "journaled evaluations", func() bool {
		b, _ := os.ReadFile(journal)
		return strings.Count(string(b), `"network_def"`) >= 10
	})
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	before, _ := os.ReadFile(journal)
	out, err := child(t, search(journal, csv)...).CombinedOutput()
	if err != nil {
		t.Fatalf("resumed search: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "replayed from the journal") {
		t.Fatalf("resume did not replay the journal:\n%s", out)
	}
	a, _ := os.ReadFile(wholeCSV)
	b, _ := os.ReadFile(csv)
	if string(a) != string(b) {
		t.Fatalf("resumed CSV differs from the uninterrupted one:\n%s\n---\n%s", a, b)
	}
	// Every network_def journaled before the kill appears exactly once in the final journal's
	// evaluations: nothing was evaluated twice.
	after, _ := os.ReadFile(journal)
	if !strings.HasPrefix(string(after), string(before[:strings.LastIndex(string(before), "\n")+1])) {
		t.Fatal("the resumed run rewrote the journal it replayed")
	}
	rows := strings.Count(strings.TrimSpace(string(b)), "\n") // CSV rows after the header
	if evals := strings.Count(string(after), `"network_def"`); evals != rows {
		t.Fatalf("journal holds %d evaluations for %d CSV rows: some candidate was evaluated twice", evals, rows)
	}
}

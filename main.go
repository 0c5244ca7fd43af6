// Command resnas explores ViT-ResNAS supernets: with no arguments it opens the explorer TUI on
// the shipped Fashion-MNIST supernet; subcommands script every step (see `resnas help`).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/resnas/resnas/workbench"
)

// Exit codes.
const (
	exitOK       = 0
	exitFailure  = 1 // the command ran and failed (bad file, interrupted, …)
	exitBadUsage = 2 // flags or arguments are wrong
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
	stop()
	os.Exit(code)
}

// env is what a command may touch of the outside world, so tests can run commands in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

type command struct {
	name, usage, summary string
	run                  func(ctx context.Context, args []string, e env) error
}

func commands() []command {
	return []command{
		{"tui", "resnas tui [--checkpoint FILE] [--data DIR] [--device cpu|cuda|auto] [--workers N|--devices cuda:0,…|--listen HOST:PORT --token T|--broker URL]", "open the explorer (the default with no arguments)", cmdTUI},
		{"predict", "resnas predict --checkpoint FILE --arch ARCH --input FILE.f32 --shape N,C,H,W [--json]", "print logits, one JSON array per image", cmdPredict},
		{"profile", "resnas profile --arch ARCH [--img 224] [--patch 14] [--checkpoint FILE] --json", "MACs and parameters in the reference convention", cmdProfile},
		{"eval", "resnas eval [--checkpoint FILE] --arch ARCH --data DIR [--limit N] [--recalibrate-bn N] --json", "top-1/top-5 of a sub-network on shards", cmdEval},
		{"bench", "resnas bench [--checkpoint FILE] --arch ARCH --batch N [--threads T] [--device cpu|cuda|auto] --json", "measure inference throughput", cmdBench},
		{"convert", "resnas convert IN OUT [--arch ARCH] [--space NAME] [--overwrite]", "convert a PyTorch checkpoint to resnas safetensors", cmdConvert},
		{"export", "resnas export [--checkpoint FILE] --arch ARCH --out DIR [--format safetensors|pytorch|both] [--overwrite]", "slice a sub-network: weights (safetensors and/or PyTorch) + network_def + metrics", cmdExport},
		{"shards", "resnas shards build --from SRC --out DIR [--split train|test] [--holdout-per-class N] [--files LIST]", "build validation/training shards", cmdShards},
		{"train", "resnas train --space NAME --data DIR --epochs N --out FILE [--seed S] [--resume|--restart] [--keep-state]", "train a supernet with multi-architecture sampling", cmdTrain},
		{"compare", "resnas compare [--checkpoint FILE] --arch A --arch B [--data DIR] [--limit N] [--json]", "compare two sub-networks on the same images (paired 95% interval, McNemar p)", cmdCompare},
		{"search", "resnas search [--checkpoint FILE] --data DIR --max-macs N --journal FILE [--strategy evolution|random] [--prescreen K] [--test DIR] [--export FILE.csv] [--workers N] [--devices cuda:0,…] [--listen HOST:PORT --token T] [--broker URL]", "evolutionary search under constraints", cmdSearch},
		{"predictor", "resnas predictor [--checkpoint FILE] [--data DIR] --journal J [--journal J…] [--train-first N] [--family ridge|gp|ridge+gp] [--json]", "train the accuracy predictor on search journals and report its held-out quality (Kendall τ, MAE, interval coverage)", cmdPredictor},
		{"worker", "resnas worker --broker nats://HOST:PORT [--token T] [--device cpu|cuda|cuda:N] [--threads T] [--name NAME] [--cache DIR]", "evaluate a distributed search's candidates for its driver", cmdWorker},
		{"spaces", "resnas spaces [--json]", "list the search spaces and their choices", cmdSpaces},
		{"version", "resnas version [--json]", "version and the compute backends found", cmdVersion},
	}
}

// usageError marks errors caused by the command line rather than by the work; the packages
// below main report theirs with the same type.
type usageError = workbench.UsageError

func usagef(format string, args ...any) error { return workbench.Usagef(format, args...) }

func run(ctx context.Context, args []string, e env) int {
	name := ""
	if len(args) > 0 {
		name = args[0]
	}
	if name == "help" || name == "-h" || name == "--help" || name == "-help" {
		printHelp(e.stdout)
		return exitOK
	}
	// The explorer is the default command, so `resnas --checkpoint F` means `resnas tui --checkpoint F`.
	if name == "" || strings.HasPrefix(name, "-") {
		args = append([]string{"tui"}, args...)
		name = "tui"
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		err := c.run(ctx, args[1:], e)
		switch {
		case err == nil:
			return exitOK
		case errors.Is(err, flag.ErrHelp):
			return exitOK
		case errors.As(err, new(usageError)):
			fmt.Fprintf(e.stderr, "resnas %s: %v\nusage: %s\n", name, err, c.usage)
			return exitBadUsage
		case errors.Is(err, context.Canceled):
			fmt.Fprintf(e.stderr, "resnas %s: interrupted\n", name)
			return exitFailure
		default:
			fmt.Fprintf(e.stderr, "resnas %s: %s\n", name, oneLine(err.Error()))
			return exitFailure
		}
	}
	fmt.Fprintf(e.stderr, "resnas: unknown command %q (run resnas help)\n", name)
	return exitBadUsage
}

// oneLine keeps an error message on one line, whatever the wrapped errors contain.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "resnas — explore ViT-ResNAS supernets: edit sub-networks, evaluate, search, plot.")
	fmt.Fprintln(w, "\nWith no arguments resnas opens the explorer on the shipped Fashion-MNIST supernet.\n\nCommands:")
	cs := commands()
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nFlags without a command go to tui: resnas --checkpoint F opens the explorer on F.")
	fmt.Fprintln(w, "Every command takes --help; scripting commands take --json.")
	fmt.Fprintln(w, "ARCH is a network_def tuple, a preset (vit-resnas-tiny, …), max, min, or a JSON file.")
}

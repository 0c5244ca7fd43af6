package evolution

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/resnas/resnas/model"
	"github.com/resnas/resnas/supernet"
)

// instant scores without running anything, so benchmarks time the search itself.
type instant struct{}

func (instant) Evaluate(_ context.Context, a model.Arch) (Fitness, error) {
	return Fitness{Top1: score(a)}, nil
}

// BenchmarkReferenceSearchTiny breeds the reference's whole search on sr_tiny_mh (3,350
// candidates in the ViT-ResNAS-Tiny window), i.e. everything but the evaluations.
func BenchmarkReferenceSearchTiny(b *testing.B) {
	sp, err := supernet.Lookup("sr_tiny_mh")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		s, err := New(Config{Space: sp, Evaluator: instant{}, Options: ReferenceOptions(1_794_400_000)})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReplayTiny resumes a finished reference search from its journal: the time a user
// waits before a resumed search goes on.
func BenchmarkReplayTiny(b *testing.B) {
	sp, err := supernet.Lookup("sr_tiny_mh")
	if err != nil {
		b.Fatal(err)
	}
	cfg := Config{Space: sp, Evaluator: instant{}, Options: ReferenceOptions(1_794_400_000),
		Journal: filepath.Join(b.TempDir(), "journal.jsonl")}
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		s, err := New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

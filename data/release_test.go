package data

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
)

// Batch hands a mapped shard's pages back when reading moves to another shard; the pages
// fault back in from the file, so a mapped set read in order, twice, gives what a set read
// into memory gives, and the shards are released as reading moves on.
func TestReleasedShardsReadTheSame(t *testing.T) {
	f := writeFakeIDX(t, []int{3, 3}, 40, false)
	out := filepath.Join(t.TempDir(), "test")
	if _, err := Build(context.Background(), BuildOptions{From: f.dir, Out: out, Split: SplitTest, ShardSize: 7}, nil); err != nil {
		t.Fatal(err)
	}
	mapped, inMemory := openOK(t, out, OpenOptions{}), openOK(t, out, OpenOptions{NoMmap: true})
	if len(mapped.Manifest.Shards) < 10 {
		t.Fatalf("%d shards, want many", len(mapped.Manifest.Shards))
	}
	n, pix := mapped.Len(), mapped.Manifest.ImageBytes()
	read := func(s *Set) ([]float32, []int) {
		x, labels := make([]float32, n*pix), make([]int, n)
		for start := 0; start < n; start += 5 {
			idx := []int{}
			for i := start; i < min(start+5, n); i++ {
				idx = append(idx, i)
			}
			s.Batch(idx, x[start*pix:], labels[start:])
		}
		return x, labels
	}
	wantX, wantL := read(inMemory)
	for pass := range 2 {
		x, l := read(mapped)
		if !slices.Equal(x, wantX) || !slices.Equal(l, wantL) {
			t.Fatalf("pass %d: a mapped set with released shards reads other values than one in memory", pass)
		}
	}
	if got, want := mapped.st.last.Load(), int64(len(mapped.Manifest.Shards)-1); got != want {
		t.Errorf("last shard read %d, want %d", got, want)
	}
	if mapped.st.mapped[0] == nil || inMemory.st.mapped[0] != nil {
		t.Errorf("mapped shards recorded: mmap %v, in memory %v", mapped.st.mapped[0] != nil, inMemory.st.mapped[0] != nil)
	}
}

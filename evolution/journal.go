package evolution

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/resnas/resnas/internal/atomicfile"

	"github.com/resnas/resnas/model"
)

// JournalVersion is the journal format this package writes and reads.
const JournalVersion = 1

// Journal line kinds.
const (
	lineHeader     = "header"
	lineEval       = "eval"
	lineThroughput = "throughput"
	lineAction     = "action"
)

// Header is the journal's first line: what the search ran on and with which settings.
type Header struct {
	Version    int               `json:"version"`
	Checkpoint string            `json:"checkpoint_sha256"`
	Space      string            `json:"space"`
	Data       string            `json:"data_manifest"`
	Seed       uint64            `json:"seed"`
	Options    Options           `json:"options"`
	Meta       map[string]string `json:"meta,omitempty"` // evaluator settings; Config.Scoring's must match on resume
	// PerImage is set by the resnas that keeps per-image results in eval lines (Record.Correct);
	// a journal without it was written before, and its evaluations cannot be compared pairwise.
	PerImage bool `json:"per_image,omitempty"`
}

type headerLine struct {
	Kind string `json:"kind"`
	Header
}

type evalLine struct {
	Kind string `json:"kind"`
	Record
}

type throughputLine struct {
	Kind       string  `json:"kind"`
	NetworkDef string  `json:"network_def"`
	Throughput float64 `json:"throughput"`
}

type actionLine struct {
	Kind string `json:"kind"`
	Action
}

// journalEntry is an eval or action line, in journal order.
type journalEntry struct {
	line   int // 1-based, for messages
	record *Record
	action *Action
}

// journalFile is a journal as read from disk.
type journalFile struct {
	path       string
	header     Header
	entries    []journalEntry
	throughput map[string]float64 // every measured throughput, by network_def
	validLen   int64              // bytes up to the end of the last complete line
	warnings   []string
}

// JournalContents is a journal's header and what it recorded, in order.
type JournalContents struct {
	Header   Header
	Records  []Record
	Actions  []Action
	Warnings []string // e.g. a truncated last line that was ignored
}

// ReadJournal reads a search journal, e.g. to export a search that is not running. A truncated
// last line (a search killed while writing) is ignored with a warning.
func ReadJournal(path string) (*JournalContents, error) {
	j, err := readJournal(path)
	if err != nil {
		return nil, err
	}
	if j == nil || j.validLen == 0 {
		return nil, fmt.Errorf("%s: empty journal: no search was started with it", path)
	}
	c := &JournalContents{Header: j.header, Warnings: j.warnings}
	for _, e := range j.entries {
		if e.record != nil {
			c.Records = append(c.Records, *e.record)
		} else {
			c.Actions = append(c.Actions, *e.action)
		}
	}
	return c, nil
}

// ReadJournalHeader reads only the header line of the journal at path, to tell whether a
// journal is of a given checkpoint and data without reading its records.
func ReadJournalHeader(path string) (Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return Header{}, err
	}
	defer f.Close()
	line, err := bufio.NewReaderSize(f, 64<<10).ReadSlice('\n')
	if err != nil {
		return Header{}, fmt.Errorf("%s: no complete first line: %w", path, err)
	}
	var h headerLine
	if err := json.Unmarshal(line, &h); err != nil {
		return Header{}, fmt.Errorf("%s: %w", path, err)
	}
	if h.Kind != lineHeader {
		return Header{}, fmt.Errorf("%s: not a resnas search journal", path)
	}
	return h.Header, nil
}

// readJournal parses path; it returns nil, nil when the file is missing, and a journal with
// validLen 0 when it holds no complete line (an empty file, or a torn header). Every line but the last must parse: damage earlier is an error, not a warning.
func readJournal(path string) (*journalFile, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	j := &journalFile{path: path, throughput: map[string]float64{}}
	var offset int64
	for n := 1; len(data) > 0; n++ {
		line, rest, complete := bytes.Cut(data, []byte{'\n'})
		last := len(rest) == 0
		if err := j.parseLine(line, n); err != nil {
			if last && torn(line, n) {
				j.warnings = append(j.warnings, fmt.Sprintf("%s:%d: ignored a truncated last line (%v); everything before it is kept", path, n, err))
				break
			}
			if last {
				return nil, fmt.Errorf("%s:%d: %w: not a resnas search journal line; name another journal file", path, n, err)
			}
			return nil, fmt.Errorf("%s:%d: %w: the journal is damaged before its last line; restore it or start a new journal", path, n, err)
		}
		if !complete {
			// A whole JSON value whose newline was lost: keep it, the writer adds the newline.
			offset += int64(len(line))
		} else {
			offset += int64(len(line)) + 1
		}
		j.validLen = offset
		data = rest
	}
	if n := j.withoutPerImage(); n > 0 && !j.header.PerImage {
		j.warnings = append(j.warnings, fmt.Sprintf("%s: %d evaluations have no per-image results (written by an older resnas): they are replayed as they are, but cannot be compared pairwise", path, n))
	}
	return j, nil
}

// withoutPerImage counts the evaluations recorded without per-image results.
func (j *journalFile) withoutPerImage() int {
	n := 0
	for _, e := range j.entries {
		if e.record != nil && e.record.Correct == "" {
			n++
		}
	}
	return n
}

// torn reports whether a last line that failed to parse looks like the start of a line the
// writer was killed in: invalid JSON, and for the first line the start of a header (anything
// else is not a journal and must not be overwritten).
func torn(line []byte, n int) bool {
	if json.Valid(line) {
		return false
	}
	if n > 1 {
		return true
	}
	const prefix = `{"kind":"header"`
	return bytes.HasPrefix(line, []byte(prefix)) || bytes.HasPrefix([]byte(prefix), line)
}

func (j *journalFile) parseLine(line []byte, n int) error {
	var kind struct {
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal(line, &kind); err != nil {
		return err
	}
	if n == 1 {
		if kind.Kind != lineHeader {
			return fmt.Errorf("first line is %q, want a header: not a resnas search journal", kind.Kind)
		}
		var h headerLine
		if err := json.Unmarshal(line, &h); err != nil {
			return err
		}
		if h.Version != JournalVersion {
			return fmt.Errorf("journal version %d, this resnas reads version %d", h.Version, JournalVersion)
		}
		j.header = h.Header
		return nil
	}
	switch kind.Kind {
	case lineEval:
		var e evalLine
		if err := json.Unmarshal(line, &e); err != nil {
			return err
		}
		a, err := model.ParseArch(e.NetworkDef)
		if err != nil {
			return fmt.Errorf("network_def: %w", err)
		}
		e.Arch = a
		j.entries = append(j.entries, journalEntry{line: n, record: &e.Record})
		if e.Throughput > 0 {
			j.throughput[e.NetworkDef] = e.Throughput
		}
	case lineThroughput:
		var t throughputLine
		if err := json.Unmarshal(line, &t); err != nil {
			return err
		}
		j.throughput[t.NetworkDef] = t.Throughput
	case lineAction:
		var a actionLine
		if err := json.Unmarshal(line, &a); err != nil {
			return err
		}
		if err := a.Action.parse(); err != nil {
			return err
		}
		j.entries = append(j.entries, journalEntry{line: n, action: &a.Action})
	default:
		return fmt.Errorf("unknown line kind %q", kind.Kind)
	}
	return nil
}

// parse checks that a journaled action carries what its kind needs.
func (a *Action) parse() error {
	switch a.Kind {
	case ActionInject:
		arch, err := model.ParseArch(a.NetworkDef)
		if err != nil {
			return fmt.Errorf("inject: network_def: %w", err)
		}
		a.arch = arch
	case ActionSetConstraints:
		if a.Constraints == nil {
			return errors.New("set_constraints without constraints")
		}
	case ActionSetMutationProb:
		if a.MutationProb == nil {
			return errors.New("set_mutation_prob without mutation_prob")
		}
	case ActionPause, ActionResume, ActionStop:
	default:
		return fmt.Errorf("unknown action %q", a.Kind)
	}
	return nil
}

// checkResume refuses a journal written for another checkpoint, space, data, options or
// scoring settings. A scoring key the journal did not record (a journal of an older version,
// or of a caller that records none) is not compared.
func (j *journalFile) checkResume(h Header, scoring map[string]string) error {
	was := j.header
	switch {
	case was.Checkpoint != h.Checkpoint:
		return fmt.Errorf("%s: journal written for checkpoint sha256 %s, this supernet is %s: resume with the checkpoint it was written for or start a new journal", j.path, was.Checkpoint, h.Checkpoint)
	case was.Space != h.Space:
		return fmt.Errorf("%s: journal written for space %s, this search is on space %s: resume with that space or start a new journal", j.path, was.Space, h.Space)
	case was.Data != h.Data:
		return fmt.Errorf("%s: journal written for data manifest %s, this search evaluates on %s: resume with that data or start a new journal", j.path, was.Data, h.Data)
	}
	if d := h.Options.diff(was.Options); d != "" {
		return fmt.Errorf("%s: %s: resume with the journal's settings or start a new journal", j.path, d)
	}
	for _, k := range slices.Sorted(maps.Keys(scoring)) {
		if v, ok := was.Meta[k]; ok && v != scoring[k] {
			return fmt.Errorf("%s: %s %s, the journal was written with %s: resume with the journal's settings or start a new journal", j.path, k, scoring[k], v)
		}
	}
	for _, e := range j.entries {
		if e.record != nil && e.record.Generation >= h.Options.Generations {
			return fmt.Errorf("%s:%d: the journal already holds %d generations, more than the %d asked for: ask for at least %d", j.path, e.line, e.record.Generation+1, h.Options.Generations, e.record.Generation+1)
		}
	}
	return nil
}

// journalWriter appends lines, each flushed to disk before the engine goes on, so the journal
// is the source of truth whatever happens to the process.
type journalWriter struct {
	f *os.File
}

// openJournal starts a new journal with header h, or reopens j for appending after cutting
// off a truncated last line. The file is locked first: a second search on the same journal
// would interleave lines and corrupt both.
func openJournal(path string, h Header, j *journalFile) (*journalWriter, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("journal %s is in use by another search (%v); wait for it to end or pass another --journal", path, err)
	}
	fail := func(err error) (*journalWriter, error) {
		f.Close()
		return nil, fmt.Errorf("journal: %w", err)
	}
	if j == nil || j.validLen == 0 {
		if err := f.Truncate(0); err != nil {
			return fail(err)
		}
		w := &journalWriter{f}
		if err := w.append(headerLine{Kind: lineHeader, Header: h}); err != nil {
			f.Close()
			return nil, err
		}
		atomicfile.SyncDir(filepath.Dir(path))
		return w, nil
	}
	if err := f.Truncate(j.validLen); err != nil {
		return fail(fmt.Errorf("cutting off the truncated last line: %w", err))
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		return fail(err)
	}
	// A last line that lost only its newline gets it back before anything is appended.
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, j.validLen-1); err != nil && err != io.EOF {
		return fail(err)
	}
	if last[0] != '\n' {
		if _, err := f.Write([]byte{'\n'}); err != nil {
			return fail(err)
		}
	}
	return &journalWriter{f}, nil
}

func (w *journalWriter) append(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	b = append(b, '\n')
	if _, err := w.f.Write(b); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

func (w *journalWriter) close() error { return w.f.Close() }

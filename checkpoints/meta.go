package checkpoints

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"strconv"
	"time"

	"github.com/resnas/resnas/model"
)

// FormatVersion is the version of the metadata layout Save writes. Load refuses newer ones.
const FormatVersion = 1

// formatName marks a safetensors file written by resnas.
const formatName = "resnas"

// Meta describes the weights in a resnas safetensors file. Every field may be zero
// (unknown); a foreign safetensors file loads with all of its metadata in Extra.
type Meta struct {
	// Arch is the network_def the weights are shaped for, in the reference form
	// (model.Arch.String); for a supernet, its largest architecture.
	Arch string
	// Space names the search space ("sr_tiny_mh", "dev-small"); SpaceJSON optionally holds
	// the whole supernet.Space, so a file of a custom space needs nothing else.
	Space      string
	SpaceJSON  json.RawMessage
	Input      model.Input // image size, channels and patch size the weights were trained at
	Classes    int
	Mean, Std  []float64 // per-channel normalisation of [0,1] pixels
	Provenance Provenance
	// Extra keeps __metadata__ entries this version does not know, so a round trip keeps them.
	Extra map[string]string
}

// Provenance records where weights came from.
type Provenance struct {
	Source   string             // file the weights were read from (the original .pth through conversions)
	SHA256   string             // hex sha256 of Source
	Command  string             // command line that produced the weights
	Seed     *int64             // random seed of that command, when it had one
	Created  time.Time          // when the file was written
	Accuracy map[string]float64 // named accuracies, e.g. "top1", "top5", "subval_top1" (percent)
}

// Keys of the safetensors __metadata__ (all values are strings, as the format requires).
const (
	keyFormat     = "format"
	keyVersion    = "format_version"
	keyArch       = "network_def"
	keySpace      = "space"
	keySpaceJSON  = "space_json"
	keyImageSize  = "image_size"
	keyChannels   = "in_channels"
	keyPatch      = "patch_size"
	keyClasses    = "classes"
	keyMean       = "mean"
	keyStd        = "std"
	keySource     = "source"
	keySourceHash = "source_sha256"
	keyCommand    = "command"
	keySeed       = "seed"
	keyCreated    = "created"
	keyAccuracy   = "accuracy"
)

// encode turns m into __metadata__ strings, checking what Load would refuse.
func (m Meta) encode() (map[string]string, error) {
	out := make(map[string]string)
	for k, v := range m.Extra {
		if !knownKey(k) {
			out[k] = v
		}
	}
	out[keyFormat] = formatName
	out[keyVersion] = strconv.Itoa(FormatVersion)
	if m.Arch != "" {
		a, err := model.ParseArch(m.Arch)
		if err != nil {
			return nil, fmt.Errorf("metadata network_def: %w", err)
		}
		out[keyArch] = a.String()
	}
	setString(out, keySpace, m.Space)
	if len(m.SpaceJSON) > 0 {
		if !json.Valid(m.SpaceJSON) {
			return nil, fmt.Errorf("metadata space JSON is not valid JSON")
		}
		out[keySpaceJSON] = string(m.SpaceJSON)
	}
	for _, f := range []struct {
		key string
		v   int
	}{{keyImageSize, m.Input.Size}, {keyChannels, m.Input.Channels}, {keyPatch, m.Input.Patch}, {keyClasses, m.Classes}} {
		if f.v < 0 {
			return nil, fmt.Errorf("metadata %s is %d, want a positive number or 0 for unknown", f.key, f.v)
		}
		if f.v > 0 {
			out[f.key] = strconv.Itoa(f.v)
		}
	}
	for _, f := range []struct {
		key string
		v   []float64
	}{{keyMean, m.Mean}, {keyStd, m.Std}} {
		if len(f.v) == 0 {
			continue
		}
		for _, x := range f.v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("metadata %s %v is not finite", f.key, f.v)
			}
		}
		b, _ := json.Marshal(f.v)
		out[f.key] = string(b)
	}
	p := m.Provenance
	setString(out, keySource, p.Source)
	setString(out, keySourceHash, p.SHA256)
	setString(out, keyCommand, p.Command)
	if p.Seed != nil {
		out[keySeed] = strconv.FormatInt(*p.Seed, 10)
	}
	if !p.Created.IsZero() {
		out[keyCreated] = p.Created.UTC().Format(time.RFC3339Nano)
	}
	if len(p.Accuracy) > 0 {
		for name, v := range p.Accuracy {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("metadata accuracy %s is %v, want a finite number", name, v)
			}
		}
		b, _ := json.Marshal(p.Accuracy)
		out[keyAccuracy] = string(b)
	}
	return out, nil
}

// knownKey reports whether key is one Meta's own fields write.
func knownKey(key string) bool {
	switch key {
	case keyFormat, keyVersion, keyArch, keySpace, keySpaceJSON, keyImageSize, keyChannels, keyPatch,
		keyClasses, keyMean, keyStd, keySource, keySourceHash, keyCommand, keySeed, keyCreated, keyAccuracy:
		return true
	}
	return false
}

func setString(m map[string]string, key, v string) {
	if v != "" {
		m[key] = v
	}
}

// decodeMeta reads __metadata__. A file without format=resnas is someone else's
// safetensors: its entries all go to Extra.
func decodeMeta(raw map[string]string) (Meta, error) {
	var m Meta
	if raw[keyFormat] != formatName {
		if len(raw) > 0 {
			m.Extra = maps.Clone(raw)
		}
		return m, nil
	}
	rest := maps.Clone(raw)
	take := func(key string) (string, bool) {
		v, ok := rest[key]
		delete(rest, key)
		return v, ok
	}
	take(keyFormat)
	if v, _ := take(keyVersion); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return m, fmt.Errorf("metadata %s %q is not a version number", keyVersion, short(v))
		}
		if n > FormatVersion {
			return m, fmt.Errorf("written by a newer resnas (format version %d, this one reads up to %d): upgrade resnas", n, FormatVersion)
		}
	}
	m.Arch, _ = take(keyArch)
	m.Space, _ = take(keySpace)
	if v, ok := take(keySpaceJSON); ok {
		if !json.Valid([]byte(v)) {
			return m, fmt.Errorf("metadata %s is not valid JSON", keySpaceJSON)
		}
		m.SpaceJSON = json.RawMessage(v)
	}
	for _, f := range []struct {
		key string
		dst *int
	}{{keyImageSize, &m.Input.Size}, {keyChannels, &m.Input.Channels}, {keyPatch, &m.Input.Patch}, {keyClasses, &m.Classes}} {
		if v, ok := take(f.key); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return m, fmt.Errorf("metadata %s %q is not a count", f.key, short(v))
			}
			*f.dst = n
		}
	}
	for _, f := range []struct {
		key string
		dst *[]float64
	}{{keyMean, &m.Mean}, {keyStd, &m.Std}} {
		if v, ok := take(f.key); ok {
			if err := json.Unmarshal([]byte(v), f.dst); err != nil {
				return m, fmt.Errorf("metadata %s %q is not a list of numbers", f.key, short(v))
			}
		}
	}
	p := &m.Provenance
	p.Source, _ = take(keySource)
	p.SHA256, _ = take(keySourceHash)
	p.Command, _ = take(keyCommand)
	if v, ok := take(keySeed); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return m, fmt.Errorf("metadata %s %q is not an integer", keySeed, short(v))
		}
		p.Seed = &n
	}
	if v, ok := take(keyCreated); ok {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return m, fmt.Errorf("metadata %s %q is not an RFC 3339 time", keyCreated, short(v))
		}
		p.Created = t
	}
	if v, ok := take(keyAccuracy); ok {
		if err := json.Unmarshal([]byte(v), &p.Accuracy); err != nil {
			return m, fmt.Errorf("metadata %s %q is not an object of numbers", keyAccuracy, short(v))
		}
	}
	if len(rest) > 0 {
		m.Extra = rest
	}
	return m, nil
}

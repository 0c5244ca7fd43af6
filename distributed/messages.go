// Package distributed spreads a search's candidate evaluations over worker processes through
// NATS JetStream: an embedded server (StartServer), the driver's side (Dispatcher, an
// evolution.AsyncEvaluator) and the worker loop (Worker). The evolution engine stays the
// only one that decides; workers only evaluate.
//
// Jobs go to a work-queue stream read by one durable pull consumer that every worker shares:
// a worker pulls one job, sends in-progress acks while it evaluates, publishes the result to
// a results stream and then acks. A worker that dies stops sending in-progress acks, and the
// job is redelivered after AckWait to another. Jobs and results are named by a digest of the
// checkpoint, the data, the scoring settings and the network, so a result published while
// the driver was down is found, not recomputed, when the driver comes back.
package distributed

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"time"
)

// ProtocolVersion is the version of the messages below. A worker refuses a job of another
// version; a change that old workers would misread must bump it.
const ProtocolVersion = 1

// Stream, consumer, subject and bucket names.
const (
	JobsStream      = "RESNAS_JOBS"
	ResultsStream   = "RESNAS_RESULTS"
	WorkersConsumer = "workers"
	jobSubject      = "resnas.job."
	resultSubject   = "resnas.result."
	refusedSubject  = "resnas.refused"
	statusSubject   = "resnas.worker"
	FilesBucket     = "resnas-files"
)

// AckWait is how long a job may go without an in-progress ack before JetStream gives it to
// another worker; workers send one every AckWait/3.
const AckWait = 3 * time.Second

// Spec is what every job of one search shares: which supernet and data, and the settings
// that change a score. A worker refuses a job whose Spec it cannot serve.
type Spec struct {
	Checkpoint string `json:"checkpoint"` // sha256 of the checkpoint file
	Data       string `json:"data"`       // digest of the evaluation data's manifest
	// CheckpointName and DataName are the driver's names for them, for messages only.
	CheckpointName string `json:"checkpoint_name,omitempty"`
	DataName       string `json:"data_name,omitempty"`
	Limit          int    `json:"limit"` // images per candidate; 0: all
	RecalibrateBN  bool   `json:"recalibrate_bn"`
	Prefer         string `json:"prefer,omitempty"` // which weights of a training checkpoint
	Space          string `json:"space,omitempty"`  // search space override
	Patch          int    `json:"patch,omitempty"`  // patch size of a PyTorch checkpoint
	// Scoring is the search's scoring settings as its journal records them; part of the
	// job's name, so two searches that score differently never share a result.
	Scoring map[string]string `json:"scoring,omitempty"`
}

// Job asks a worker to evaluate one network.
type Job struct {
	V          int    `json:"v"`
	ID         string `json:"id"`
	NetworkDef string `json:"network_def"`
	Spec       Spec   `json:"spec"`
}

// Result is a worker's answer to a job.
type Result struct {
	V       int     `json:"v"`
	ID      string  `json:"id"`
	Worker  string  `json:"worker"`
	Top1    float64 `json:"top1"` // percent
	Top5    float64 `json:"top5"`
	Images  int     `json:"images"`
	Correct string  `json:"correct,omitempty"` // stats.Bitset.Encode of Images bits
	Seconds float64 `json:"seconds"`
	Error   string  `json:"error,omitempty"` // the evaluation failed: the search fails with it
}

// Refusal says that a worker will not evaluate a job, and why.
type Refusal struct {
	V      int    `json:"v"`
	ID     string `json:"id"`
	Worker string `json:"worker"`
	Reason string `json:"reason"`
}

// Status is a worker's announcement and heartbeat.
type Status struct {
	V           int       `json:"v"`
	Worker      string    `json:"worker"`
	Device      string    `json:"device"`
	Threads     int       `json:"threads"`
	Version     string    `json:"version"` // resnas version
	Evaluations int       `json:"evaluations"`
	Current     string    `json:"current,omitempty"` // network under evaluation
	Time        time.Time `json:"time"`
	Exiting     bool      `json:"exiting,omitempty"`
}

// JobID names the evaluation of network key under spec: the same everywhere and after any
// restart.
func JobID(spec Spec, key string) string {
	h := sha256.New()
	fmt.Fprintf(h, "v%d\x00%s\x00%s\x00%d\x00%t\x00%s\x00%s\x00%d\x00", ProtocolVersion, spec.Checkpoint, spec.Data,
		spec.Limit, spec.RecalibrateBN, spec.Prefer, spec.Space, spec.Patch)
	for _, k := range slices.Sorted(maps.Keys(spec.Scoring)) {
		fmt.Fprintf(h, "%s=%s\x00", k, spec.Scoring[k])
	}
	h.Write([]byte(key))
	return hex.EncodeToString(h.Sum(nil)[:16])
}

package distributed

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ServerOptions configure the embedded broker.
type ServerOptions struct {
	// Listen is HOST:PORT to accept workers on. Empty: 127.0.0.1 on a free port, so that
	// nothing off this machine can reach it.
	Listen string
	Token  string // required of every client when set
	// StoreDir holds JetStream's files (queued jobs, results): beside the journal, so a
	// restarted driver finds what its workers did meanwhile.
	StoreDir string
}

// Server is a NATS server with JetStream running inside this process.
type Server struct {
	ns *server.Server
}

// StartServer starts the embedded broker and waits until it accepts connections.
func StartServer(o ServerOptions) (*Server, error) {
	host, port := "127.0.0.1", -1 // -1: a free port
	if o.Listen != "" {
		h, p, err := net.SplitHostPort(o.Listen)
		if err != nil {
			return nil, fmt.Errorf("--listen %s: %w (want HOST:PORT)", o.Listen, err)
		}
		if port, err = strconv.Atoi(p); err != nil || port < 0 || port > 65535 {
			return nil, fmt.Errorf("--listen %s: port %q is not a number from 0 to 65535", o.Listen, p)
		}
		if port == 0 {
			port = -1
		}
		host = h
		if host == "" {
			host = "0.0.0.0"
		}
	}
	opts := &server.Options{
		ServerName: "resnas", Host: host, Port: port, JetStream: true, StoreDir: o.StoreDir,
		NoSigs: true, NoLog: true, Authorization: o.Token, MaxPayload: 8 << 20,
		HTTPPort: 0, ProfPort: 0,
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("embedded broker: not ready to accept connections on %s:%d after 10 s", host, port)
	}
	return &Server{ns: ns}, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ns.Addr() }

// URL is the nats:// URL clients connect to.
func (s *Server) URL() string { return s.ns.ClientURL() }

// Shutdown stops the server; JetStream's files stay for the next run.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}

// Connect dials the broker at url with token; a refused token is reported as such.
func Connect(url, token, name string) (*nats.Conn, jetstream.JetStream, error) {
	opts := []nats.Option{nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond)}
	if token != "" {
		opts = append(opts, nats.Token(token))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		if errors.Is(err, nats.ErrAuthorization) {
			return nil, nil, fmt.Errorf("broker %s refused the token (%w): give the driver's --token", url, err)
		}
		return nil, nil, fmt.Errorf("broker %s: %w", url, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// setup creates the streams and the workers' consumer, or checks they are there.
func setup(ctx context.Context, js jetstream.JetStream) (jobs, results jetstream.Stream, err error) {
	jobs, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: JobsStream, Subjects: []string{jobSubject + ">"}, Retention: jetstream.WorkQueuePolicy,
		Storage: jetstream.FileStorage, Duplicates: time.Hour,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("jobs stream: %w", err)
	}
	results, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: ResultsStream, Subjects: []string{resultSubject + ">"}, Retention: jetstream.LimitsPolicy,
		Storage: jetstream.FileStorage, MaxMsgsPerSubject: 1, AllowDirect: true,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("results stream: %w", err)
	}
	if _, err = jobs.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable: WorkersConsumer, AckPolicy: jetstream.AckExplicitPolicy, AckWait: AckWait,
		MaxDeliver: -1, MaxAckPending: -1,
	}); err != nil {
		return nil, nil, fmt.Errorf("workers consumer: %w", err)
	}
	return jobs, results, nil
}

package distributed

import (
	"fmt"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// LocalWorker is one worker process the driver starts on its own machine.
type LocalWorker struct {
	Name string
	Args []string // after the executable
}

// Local is the driver's worker processes. They die with the driver (on Linux even when it
// is SIGKILLed), so a killed search leaves nothing behind.
type Local struct {
	mu      sync.Mutex
	cmds    []*exec.Cmd
	exited  sync.WaitGroup
	stopped bool
}

// StartLocal starts exe once per worker, their stderr going to stderr; onExit hears of a
// worker that ends before Stop.
func StartLocal(exe string, env []string, workers []LocalWorker, stderr io.Writer, onExit func(name string, pid int, err error)) (*Local, error) {
	l := &Local{}
	for _, w := range workers {
		cmd := exec.Command(exe, w.Args...)
		cmd.Env = env
		cmd.Stderr = stderr
		cmd.SysProcAttr = dieWithParent()
		if err := cmd.Start(); err != nil {
			l.Stop()
			return nil, fmt.Errorf("starting worker %s: %w", w.Name, err)
		}
		l.cmds = append(l.cmds, cmd)
		l.exited.Add(1)
		go func() {
			defer l.exited.Done()
			err := cmd.Wait()
			l.mu.Lock()
			stopped := l.stopped
			l.mu.Unlock()
			if !stopped && onExit != nil {
				onExit(w.Name, cmd.Process.Pid, err)
			}
		}()
	}
	return l, nil
}

// Pids are the workers' process ids, in start order.
func (l *Local) Pids() []int {
	var out []int
	for _, c := range l.cmds {
		out = append(out, c.Process.Pid)
	}
	return out
}

// Stop asks the workers to finish (SIGTERM), kills those still there after 5 s, and waits.
func (l *Local) Stop() {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
	for _, c := range l.cmds {
		c.Process.Signal(syscall.SIGTERM)
	}
	done := make(chan struct{})
	go func() { l.exited.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		for _, c := range l.cmds {
			c.Process.Kill()
		}
		<-done
	}
}

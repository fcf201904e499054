package gateway_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// layout is where the pipeline benchmark's processes run when the source
// is apart: the gateway, its database's backends, the load and the proxy
// on one half of the processors, the source on the other, as Via Oberta
// runs on machines of its own. A nil layout leaves every process free.
type layout struct{ gw, src, orig unix.CPUSet }

// sourceApart pins this process, and so every process it starts from now
// on, to the gateway's half; it skips b where that cannot be done.
func sourceApart(b testing.TB) *layout {
	l := &layout{}
	var ok bool
	if l.gw, l.src, ok = cpuSets(); !ok {
		b.Skip("the source apart needs two processors and their affinities")
	}
	unix.SchedGetaffinity(0, &l.orig)
	if err := pinProcess(0, l.gw); err != nil {
		b.Skip("cannot pin the benchmark: ", err)
	}
	return l
}

// source moves process pid to the source's half.
func (l *layout) source(pid int) error {
	if l == nil {
		return nil
	}
	return pinProcess(pid, l.src)
}

// backends keeps the PostgreSQL backends of the connections named app on
// the gateway's half: the database's work for the gateway is the
// gateway's cost. Run it again as the pool opens connections.
func (l *layout) backends(ctx context.Context, dbURL, app string) error {
	if l == nil {
		return nil
	}
	pids, err := backendPIDs(ctx, dbURL, app)
	if err != nil {
		return err
	}
	for _, pid := range pids {
		if err := unix.SchedSetaffinity(pid, &l.gw); err != nil && err != unix.ESRCH {
			return fmt.Errorf("backend %d: %w", pid, err)
		}
	}
	return nil
}

// restore gives this process every processor it had.
func (l *layout) restore() {
	if l != nil {
		pinProcess(0, l.orig)
	}
}

// cpuSets splits this machine's processors in two: the gateway's side
// (with the load and the proxy) and the source's. ok is false on a machine
// of one processor, or one that cannot set affinities.
func cpuSets() (gw, src unix.CPUSet, ok bool) {
	var all unix.CPUSet
	if err := unix.SchedGetaffinity(0, &all); err != nil {
		return gw, src, false
	}
	var cpus []int
	for c := 0; len(cpus) < all.Count(); c++ {
		if all.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	if len(cpus) < 2 {
		return gw, src, false
	}
	for i, c := range cpus {
		if i < len(cpus)/2 {
			gw.Set(c)
		} else {
			src.Set(c)
		}
	}
	return gw, src, true
}

// pinProcess keeps every thread of process pid (0: this one) on set. A
// thread started while the threads are listed may keep the old set, so
// the list is walked until a walk finds every thread already pinned; new
// threads start on their creator's set.
func pinProcess(pid int, set unix.CPUSet) error {
	dir := "/proc/self/task"
	if pid != 0 {
		dir = fmt.Sprintf("/proc/%d/task", pid)
	}
	for range 10 {
		tasks, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		moved := false
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			var cur unix.CPUSet
			if unix.SchedGetaffinity(tid, &cur) == nil && cur == set {
				continue
			}
			if err := unix.SchedSetaffinity(tid, &set); err != nil && err != unix.ESRCH {
				return fmt.Errorf("thread %d: %w", tid, err)
			}
			moved = true
		}
		if !moved {
			return nil
		}
	}
	return fmt.Errorf("process %d kept starting threads while being pinned", pid)
}

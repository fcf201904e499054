package main

import (
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/obert-gov/obert/gateway/ops"
)

// The garbage collector's settings gatewayd starts with.
//
// gatewayd's live heap is small (a few tens of MB) and every exchange
// allocates: envelopes, canonical forms, answers, pages. With Go's default
// GOGC=100 it collected after every few tens of MB allocated, and the
// collector took a tenth of its CPU. Unless the environment sets GOGC, it
// starts with defaultGCPercent: under BenchmarkPipeline, with the processors
// busy, 11-25 % less CPU an exchange for about 35 MB more resident memory
// (docs/performance.md).
//
// A larger target lets the heap grow further between collections, so,
// unless the environment sets GOMEMLIMIT, a process whose container has a
// memory limit (cgroup v2 memory.max, or v1 memory.limit_in_bytes) gets a
// soft limit of three quarters of it: near it the collector works harder
// rather than the process being killed. The rest is for what the Go
// runtime does not count (libcrypto's allocations, the kernel's buffers).
const defaultGCPercent = ops.GCPercent

// collector is what gatewayd sets: 0 leaves a setting as the runtime
// read it from the environment.
type collector struct {
	percent int
	limit   int64 // bytes
}

// collectorDefaults is what to set, given the environment and the
// container's memory limit (0: none).
func collectorDefaults(getenv func(string) string, containerLimit int64) collector {
	var c collector
	if getenv("GOGC") == "" {
		c.percent = defaultGCPercent
	}
	if getenv("GOMEMLIMIT") == "" && containerLimit > 0 {
		c.limit = containerLimit / 4 * 3
	}
	return c
}

// apply sets c in this process.
func (c collector) apply() {
	if c.percent != 0 {
		debug.SetGCPercent(c.percent)
	}
	if c.limit != 0 {
		debug.SetMemoryLimit(c.limit)
	}
}

// attrs describe c for the log.
func (c collector) attrs() []any {
	var a []any
	if c.percent != 0 {
		a = append(a, slog.Int("gc_percent", c.percent))
	}
	if c.limit != 0 {
		a = append(a, slog.Int64("memory_limit_mb", c.limit>>20))
	}
	return a
}

// containerMemoryLimit is the memory limit of this process's cgroup, in
// bytes, or 0 when there is none (or it cannot be read): cgroup v2's
// memory.max, else v1's memory.limit_in_bytes.
func containerMemoryLimit(read func(string) ([]byte, error)) int64 {
	for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := read(f)
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(b))
		if s == "max" {
			return 0
		}
		n, err := strconv.ParseInt(s, 10, 64)
		// v1 writes "no limit" as a number near 2^63.
		if err != nil || n <= 0 || n >= 1<<60 {
			return 0
		}
		return n
	}
	return 0
}

// startCollector applies the defaults in this process, once, before
// anything runs; run logs them.
func startCollector() collector {
	c := collectorDefaults(os.Getenv, containerMemoryLimit(os.ReadFile))
	c.apply()
	return c
}

package fleetbench

import (
	"runtime/metrics"
	"sync"
	"syscall"
	"time"
)

const totalMemory = "/memory/classes/total:bytes"

// PeakMemory samples the memory the Go runtime has mapped for the process
// (runtime/metrics /memory/classes/total:bytes) every interval until
// Stop, and keeps the highest value. The zero value is not usable: call
// StartPeakMemory.
type PeakMemory struct {
	stop chan struct{}
	wg   sync.WaitGroup
	peak uint64
}

// StartPeakMemory starts sampling; the caller must call Stop.
func StartPeakMemory(interval time.Duration) *PeakMemory {
	m := &PeakMemory{stop: make(chan struct{})}
	m.peak = goMemory()
	m.wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-t.C:
				m.peak = max(m.peak, goMemory())
			}
		}
	})
	return m
}

// Stop ends sampling and returns the peak in bytes.
func (m *PeakMemory) Stop() uint64 {
	close(m.stop)
	m.wg.Wait()
	return max(m.peak, goMemory())
}

// goMemory returns the bytes the Go runtime has mapped now.
func goMemory() uint64 {
	s := []metrics.Sample{{Name: totalMemory}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// MaxRSS returns the process's peak resident set size so far, in bytes
// (getrusage RUSAGE_SELF; Linux reports KiB).
func MaxRSS() uint64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return uint64(ru.Maxrss) * 1024
}

// CPU is user plus system CPU time: of this process (Self) and of its
// children that have been waited for (Children), getrusage's view.
type CPU struct {
	Self, Children time.Duration
}

// ReadCPU returns the CPU time used so far.
func ReadCPU() CPU {
	return CPU{Self: rusageCPU(syscall.RUSAGE_SELF), Children: rusageCPU(syscall.RUSAGE_CHILDREN)}
}

// Sub returns c - d.
func (c CPU) Sub(d CPU) CPU {
	return CPU{Self: c.Self - d.Self, Children: c.Children - d.Children}
}

func rusageCPU(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

package membudget

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"
)

// The files Limit reads; tests point them elsewhere.
var (
	cgroupV2Max = "/sys/fs/cgroup/memory.max"
	cgroupV1Max = "/sys/fs/cgroup/memory/memory.limit_in_bytes"
	procMeminfo = "/proc/meminfo"
)

// Limit returns the memory the process may use, in bytes, and where the figure came
// from: the smaller of the cgroup limit (v2 memory.max or v1 memory.limit_in_bytes;
// "max" or an absurdly large v1 value means none) and the machine's MemTotal.
func Limit() (int64, string, error) {
	total, err := memTotal(procMeminfo)
	if err != nil {
		return 0, "", err
	}
	limit, source := total, "MemTotal"
	for _, f := range []string{cgroupV2Max, cgroupV1Max} {
		if n, ok := cgroupLimit(f); ok && n < limit {
			limit, source = n, f
		}
	}
	return limit, source, nil
}

// cgroupLimit reads a cgroup memory limit file; ok is false when the file is missing,
// says "max" or does not hold a positive number.
func cgroupLimit(path string) (int64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// memTotal reads MemTotal (kB) from a meminfo file.
func memTotal(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil || kb <= 0 {
				return 0, errors.New("membudget: bad MemTotal in " + path)
			}
			return kb << 10, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("membudget: no MemTotal in " + path)
}

//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-cs/switchboard/internal/embedded"
)

// Issue 20, scenario 3: PostgreSQL restarted under load, and a streaming standby
// behind postgres.replica_dsn. Each scenario runs its own PostgreSQL servers (never
// the shared one): a private primary started from the local binaries by
// internal/embedded, and for the standby a pg_basebackup -R of it.

// faultPG is a private PostgreSQL server that a scenario stops and starts again on
// the same data directory and port.
type faultPG struct {
	t    *testing.T
	dir  string // data directory
	port int
	mu   sync.Mutex
	pg   *embedded.Postgres
}

// startFaultPG starts (initialising dir when empty) a server on port (0: a free one),
// stopped when the test ends, after the replicas (register it before the cluster).
func startFaultPG(t *testing.T, dir string, port int) *faultPG {
	t.Helper()
	p := &faultPG{t: t, dir: dir, port: port}
	p.start()
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		p.pg.Stop(ctx)
	})
	return p
}

// start starts the server again on its data directory and port.
func (p *faultPG) start() {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pg, err := embedded.StartPostgres(ctx, embedded.PostgresOptions{DataDir: p.dir, Port: p.port})
	if err != nil {
		p.t.Fatalf("start PostgreSQL on %s: %v", p.dir, err)
	}
	p.mu.Lock()
	p.pg, p.port = pg, pg.Port()
	p.mu.Unlock()
}

// stop shuts the server down: a fast shutdown (SIGINT: sessions are terminated,
// open transactions roll back, a checkpoint is written) or an immediate one (SIGQUIT
// to the postmaster: every process exits at once, the next start runs crash
// recovery). It returns once the server has exited.
func (p *faultPG) stop(immediate bool) {
	p.t.Helper()
	p.mu.Lock()
	pg := p.pg
	p.mu.Unlock()
	if immediate {
		raw, err := os.ReadFile(filepath.Join(p.dir, "postmaster.pid"))
		first, _, _ := strings.Cut(string(raw), "\n")
		pid, perr := strconv.Atoi(strings.TrimSpace(first))
		if err != nil || perr != nil {
			p.t.Fatalf("postmaster.pid of %s: %v %v", p.dir, err, perr)
		}
		if err := syscall.Kill(pid, syscall.SIGQUIT); err != nil {
			p.t.Fatalf("SIGQUIT to the postmaster %d: %v", pid, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := pg.Stop(ctx); err != nil {
		p.t.Logf("stop PostgreSQL: %v", err)
	}
}

func (p *faultPG) dsn(db string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pg.DSN(db)
}

// pgFaultBase is a directory the postgres OS user (the servers' owner when the tests
// run as root) can reach and write in.
func pgFaultBase(t *testing.T) string {
	base := t.TempDir()
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	return base
}

// checkReplicasAlive fails the test for every replica process that exited or is not
// ready (within 30 s): a store outage must never take a replica down.
func checkReplicasAlive(t *testing.T, c *faultCluster) {
	t.Helper()
	for _, r := range c.replicas {
		r.mu.Lock()
		exited := r.exited
		r.mu.Unlock()
		select {
		case <-exited:
			t.Errorf("replica %d exited (%v)", r.idx, r.exitErr)
			continue
		default:
		}
		if err := waitProcessReady(r.base(), exited, 30*time.Second); err != nil {
			t.Errorf("replica %d after the outage: %v", r.idx, err)
		}
	}
}

// TestFaultPGRestart: the replicas' private PostgreSQL is stopped under load, kept down
// 10 s and started again — with a fast shutdown, then (a scenario of its own) an
// immediate one. While it is down every request that needs it is answered 503 with
// Retry-After (web chat: an "unavailable" error frame with retry_after), never a 500 or
// a hang; the clients retry the same message ids. The replicas keep running and resume
// by themselves (pools reconnect, the event listeners listen again, the queue workers
// go on); nothing acknowledged is lost or stored twice. Recovery is counted from the
// moment PostgreSQL accepts connections again. The load runs 50 s
// (SWITCHBOARD_FAULT_SECONDS overrides it), the outage begins at a third of it.
func TestFaultPGRestart(t *testing.T) {
	needFaultTests(t)
	if os.Getenv("SWITCHBOARD_FAULT_SECONDS") == "" {
		// the outage and the restart take about 20 s of the load: 50 s leave
		// ~15 s of load after PostgreSQL is back, where recovery is seen
		t.Setenv("SWITCHBOARD_FAULT_SECONDS", "50")
	}
	for _, mode := range []struct {
		name      string
		immediate bool
	}{{"fast", false}, {"immediate", true}} {
		t.Run(mode.name, func(t *testing.T) {
			pg := startFaultPG(t, filepath.Join(pgFaultBase(t), "pg"), 0)
			if err := pg.pg.CreateDatabase(context.Background(), "switchboard"); err != nil {
				t.Fatal(err)
			}
			const down = 10 * time.Second
			var c *faultCluster
			rep := runFaultScenario(t, "PostgreSQL "+mode.name+" shutdown, down 10 s, restarted", faultOptions{DSN: pg.dsn("switchboard")},
				func(cl *faultCluster, l *faultLoad) string {
					c = cl
					n, m := l.awaitTarget(1, 2, 2)
					start := time.Now()
					pg.stop(mode.immediate)
					stopped := time.Since(start)
					time.Sleep(down)
					pg.start()
					l.faultAt.Store(time.Now().UnixNano()) // recovery counts from here
					return fmt.Sprintf("; %s shutdown took %.1f s, down %.1f s in all, with %d web-chat sockets open and %d turns in flight on replica 1",
						mode.name, stopped.Seconds(), time.Since(start).Seconds(), n, m)
				})
			for _, f := range rep.failures(false) {
				t.Error(f)
			}
			if rep.Stats.Unavailable == 0 {
				t.Error("no request was answered 503 while PostgreSQL was down: the outage hit nobody")
			}
			if rep.Stats.SlowestUnavailable > 25*time.Second {
				t.Errorf("a 503 took %v: longer than the request timeout", rep.Stats.SlowestUnavailable)
			}
			checkReplicasAlive(t, c)
		})
	}
}

// startStandby makes a streaming-replication standby of primary with pg_basebackup -R
// (a physical replication slot, WAL streamed during the copy) into dir and starts it on
// a port of its own. applyDelay (recovery_min_apply_delay) holds every commit back that
// long on the standby: a lag the store must handle.
func startStandby(t *testing.T, primary *faultPG, dir string, applyDelay time.Duration) *faultPG {
	t.Helper()
	bin, err := embedded.FindPostgres()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	creds := primary.pg.Credentials()
	cmd := exec.Command(filepath.Join(bin, "pg_basebackup"), "-h", "127.0.0.1", "-p", strconv.Itoa(primary.port),
		"-U", creds.Superuser.User, "-D", dir, "-R", "-X", "stream", "-C", "-S", "standby1", "-c", "fast")
	cmd.Env = append(os.Environ(), "PGPASSWORD="+creds.Superuser.Password)
	if os.Geteuid() == 0 { // PostgreSQL refuses root: the files belong to the postgres user
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatal(err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pg_basebackup: %v\n%s", err, out)
	}
	if applyDelay > 0 {
		f, err := os.OpenFile(filepath.Join(dir, "postgresql.auto.conf"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(f, "recovery_min_apply_delay = '%dms'\n", applyDelay.Milliseconds())
		f.Close()
	}
	// The standby has the primary's roles and passwords: the same credentials file.
	b, err := os.ReadFile(embedded.CredentialsFile(primary.dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(embedded.CredentialsFile(dir), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return startFaultPG(t, dir, 0)
}

// replicaReads sums switchboard_postgres_replica_reads_total over the replicas, by
// "target" or "target/reason".
func replicaReads(t *testing.T, c *faultCluster) map[string]float64 {
	out := map[string]float64{}
	client := faultHTTPClient(5 * time.Second)
	for _, r := range c.replicas {
		resp, err := client.Get(r.base() + "/metrics")
		if err != nil {
			t.Errorf("metrics of replica %d: %v", r.idx, err)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, line := range strings.Split(string(b), "\n") {
			labels, ok := strings.CutPrefix(line, "switchboard_postgres_replica_reads_total{")
			if !ok {
				continue
			}
			labels, value, _ := strings.Cut(labels, "} ")
			v, _ := strconv.ParseFloat(value, 64)
			var target, reason string
			for _, kv := range strings.Split(labels, ",") {
				k, val, _ := strings.Cut(kv, "=")
				val = strings.Trim(val, `"`)
				switch k {
				case "target":
					target = val
				case "reason":
					reason = val
				}
			}
			key := target
			if reason != "" {
				key += "/" + reason
			}
			out[key] += v
		}
	}
	return out
}

// xactCommits is the standby's count of committed transactions in the database.
func xactCommits(t *testing.T, dsn string) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("standby: %v", err)
	}
	defer conn.Close(ctx)
	conn.Exec(ctx, `SELECT pg_stat_clear_snapshot()`)
	var n int64
	if err := conn.QueryRow(ctx, `SELECT xact_commit FROM pg_stat_database WHERE datname = 'switchboard'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// readYourWrites is a customer who reads its conversation right after each message:
// every acknowledged message must be in the transcript GET returns at once, however far
// the standby lags. It counts reads and stale ones until ctx ends.
func readYourWrites(ctx context.Context, l *faultLoad, replica int) (reads, stale, failed int) {
	s := &faultSession{Subject: "ryw:0", Seqs: map[int64]int{}, byAuthor: map[string]int{}}
	l.mu.Lock()
	l.sessions = append(l.sessions, s)
	l.mu.Unlock()
	tok := l.token(s.Subject, "customer")
	client := faultHTTPClient(20 * time.Second)
	base := l.c.replicas[replica].base()
	for k := 0; sleepCtx(ctx, 200*time.Millisecond); k++ {
		mid := fmt.Sprintf("m-ryw-%d", k)
		body := fmt.Sprintf(`{"message_id":%q,"conversation_id":%q,"text":"How do I reset my password? [%s]"}`, mid, s.Conv, mid)
		out, status, _, err := l.post(context.Background(), client, base+"/v1/messages", tok, mid, "application/json", []byte(body))
		if err != nil || status != http.StatusOK {
			failed++
			continue
		}
		l.acked(s, mid, out.ConversationID, out.Escalated, out.Duplicate, out.Reply == "")
		var conv struct {
			Messages []struct {
				Text string `json:"text"`
			} `json:"messages"`
		}
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/conversations/"+out.ConversationID, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := client.Do(req)
		if err != nil {
			failed++
			continue
		}
		err = json.NewDecoder(resp.Body).Decode(&conv)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			failed++
			continue
		}
		reads++
		found := false
		for _, m := range conv.Messages {
			found = found || strings.Contains(m.Text, "["+mid+"]")
		}
		if !found {
			stale++
		}
	}
	return reads, stale, failed
}

// TestFaultPGStandby: the replicas read from a real streaming standby
// (postgres.replica_dsn) that applies every commit 1 s late. Under load: reads are
// served by the standby (its own statistics say so); a customer who reads its
// conversation right after writing sees its message every time, and so do agents their
// tickets (the store sends a principal's reads to the primary until the standby has
// replayed its writes); then the standby is stopped for 8 s: reads fall back to the
// primary with no failed request, and return to the standby once it is back. The
// invariant checker passes.
func TestFaultPGStandby(t *testing.T) {
	needFaultTests(t)
	base := pgFaultBase(t)
	primary := startFaultPG(t, filepath.Join(base, "primary"), 0)
	if err := primary.pg.CreateDatabase(context.Background(), "switchboard"); err != nil {
		t.Fatal(err)
	}
	const lag = time.Second
	standby := startStandby(t, primary, filepath.Join(base, "standby"), lag)
	standbyDSN := standby.dsn("switchboard")
	before := xactCommits(t, standbyDSN)
	var ryw struct{ reads, stale, failed int }
	var rywDone sync.WaitGroup
	var outage string
	var cl *faultCluster
	var beforeStop, duringStop map[string]float64
	rep := runFaultScenario(t, "streaming standby (1 s apply delay) for reads, stopped 8 s", faultOptions{
		DSN: primary.dsn("switchboard"), Env: []string{"SWITCHBOARD_PG_REPLICA_DSN=" + standbyDSN}},
		func(c *faultCluster, l *faultLoad) string {
			cl = c
			rywCtx, stopRYW := context.WithTimeout(context.Background(), faultDuration()/2)
			rywDone.Go(func() {
				defer stopRYW()
				ryw.reads, ryw.stale, ryw.failed = readYourWrites(rywCtx, l, 0)
			})
			// The standby goes away a while later, under the same load, and comes back.
			time.Sleep(3 * time.Second)
			beforeStop = replicaReads(t, c)
			l.faultAt.Store(time.Now().UnixNano())
			start := time.Now()
			standby.stop(false)
			time.Sleep(8 * time.Second)
			duringStop = replicaReads(t, c)
			standby.start()
			outage = fmt.Sprintf("standby down %.1f s", time.Since(start).Seconds())
			back := time.Now()
			for time.Since(back) < 20*time.Second && replicaReads(t, c)["replica"] <= duringStop["replica"] {
				time.Sleep(100 * time.Millisecond)
			}
			outage += fmt.Sprintf(", reads on it again %.1f s after it started", time.Since(back).Seconds())
			return ""
		})
	rywDone.Wait()
	after := replicaReads(t, cl)
	xacts := xactCommits(t, standbyDSN) - before
	t.Logf("reads that may use the standby (summed over the replicas): before it stopped %v; when it had been down 8 s %v; at the end %v", beforeStop, duringStop, after)
	t.Logf("the standby committed %d transactions in the database (the reads and the replicas' monitors' probes, 10/s each)", xacts)
	t.Logf("read-your-writes: %d reads right after a write, %d stale, %d failed; %s", ryw.reads, ryw.stale, ryw.failed, outage)
	for _, f := range rep.failures(false) {
		t.Error(f)
	}
	if rep.Stats.Unavailable > 0 {
		t.Errorf("%d requests answered 503: with the primary up, a standby outage must not fail a request", rep.Stats.Unavailable)
	}
	if beforeStop["replica"] < 20 {
		t.Errorf("%v reads served by the standby before it stopped: the reads did not go to it", beforeStop["replica"])
	}
	if beforeStop["primary/fresh"] == 0 {
		t.Error("no read was sent to the primary for read-your-writes: the 1 s lag was not seen")
	}
	if duringStop["primary/down"]+duringStop["primary/fallback"] <= beforeStop["primary/down"]+beforeStop["primary/fallback"] {
		t.Error("no read fell back to the primary while the standby was down")
	}
	if after["replica"] <= duringStop["replica"] {
		t.Error("no read went to the standby again after it came back")
	}
	if ryw.reads == 0 || ryw.stale > 0 || ryw.failed > 0 {
		t.Errorf("read-your-writes: %d reads, %d stale, %d failed; want every read fresh", ryw.reads, ryw.stale, ryw.failed)
	}
	checkReplicasAlive(t, cl)
}

package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/switchboard-cs/switchboard/gateway"
	"github.com/switchboard-cs/switchboard/gateway/channel"
	"github.com/switchboard-cs/switchboard/gateway/channels"
	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/internal/safe"
	"github.com/switchboard-cs/switchboard/internal/tracing"
	"github.com/switchboard-cs/switchboard/tickets"
	"github.com/switchboard-cs/switchboard/tickets/webhooks"
	"github.com/switchboard-cs/switchboard/web"
)

func serveCmd(f *rootFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the gateway (embedded PostgreSQL and Redis unless configured)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.load()
			if err != nil {
				return err
			}
			return serve(cmd.Context(), cfg)
		},
	}
}

func serve(ctx context.Context, cfg config.Config) error { return serveWith(ctx, cfg, nil) }

// serveInBackground runs serve until stop is called and returns its base
// URL once it listens (benchmarks and tests).
func serveInBackground(ctx context.Context, cfg config.Config) (base string, stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serveWith(ctx, cfg, func(a string) { addr <- a }) }()
	select {
	case a := <-addr:
		return "http://" + a, func() { cancel(); <-done }, nil
	case err := <-done:
		cancel()
		return "", nil, fmt.Errorf("serve: %w", err)
	}
}

// serveWith is serve; listening (may be nil) learns the bound address.
func serveWith(ctx context.Context, cfg config.Config, listening func(addr string)) error {
	log := cfg.Logger(os.Stderr)
	if err := requireSharedSecrets(cfg); err != nil {
		return err
	}
	tuneRuntime(cfg.Runtime, log, os.LookupEnv)
	stopTracing, err := startTracing(ctx, log)
	if err != nil {
		return err
	}
	defer stopTracing()
	a, err := openData(ctx, cfg, log, asServer)
	if err != nil {
		return err
	}
	defer a.close(ctx)
	if err := a.openTickets(ctx); err != nil {
		return err
	}
	// Agents whose presence lapsed (all of them after a restart on the in-process Redis)
	// are offline before anything is routed.
	if _, err := a.svc.SweepPresence(ctx); err != nil {
		return fmt.Errorf("agent presence: %w", err)
	}
	secret, err := jwtSecret(cfg)
	if err != nil {
		return fmt.Errorf("jwt secret: %w", err)
	}
	auth, err := gateway.NewAuth(secret, cfg.Auth.JWKSFile, cfg.Auth.Issuer, gateway.WithAudience(cfg.Auth.Audience))
	if err != nil {
		return err
	}
	live, err := openLiveBrain(ctx, cfg, log, a.registry, a.primary)
	if err != nil {
		return err
	}
	defer live.close()
	b := live.brain()
	modelReg, err := openModels(ctx, cfg, a.registry, log)
	if err != nil {
		return err
	}
	defer modelReg.Close()
	mediaMem, mediaSource, err := flow.MediaMemory(cfg.Limits.MediaMemoryBytes)
	if err != nil {
		return err
	}
	media := flow.NewMediaBudget(mediaMem, cfg.Limits.MediaWait, a.registry)
	log.Info("media memory budget", "bytes", mediaMem, "from", mediaSource)
	clf, whyNoVision := openVision(cfg, modelReg, media)
	if whyNoVision != nil {
		log.Warn("vision stage off; photos pass through unlabelled", "reason", whyNoVision)
	}
	var classifier flow.ImageClassifier
	if clf != nil {
		classifier = clf
	}
	speech, err := openSpeech(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer speech.Close()
	if speech.svc != nil {
		if err := a.registry.Register(speech.svc); err != nil {
			return fmt.Errorf("speech metrics: %w", err)
		}
	}
	ch, err := openChannels(cfg)
	if err != nil {
		return err
	}
	a.registry.MustRegister(newPoolCollector(map[string]*pgxpool.Pool{"primary": a.primary, "replica": a.replica}))
	registerReplicaReads(a.registry, a.store)
	integ, err := openIntegrations(cfg, a.primary, a.store, a.registry, log)
	if err != nil {
		return err
	}
	deps := flow.Deps{Redactor: a.redactor, Inbox: a.store, OpenTickets: a.store, Desk: a.svc, Ratings: a.svc, Understander: b.understand, Answerer: b.answer,
		Orders:     integ.orders,
		Video:      videoStage(classifier, speech.svc, log),
		Escalation: escalationPolicy(cfg),
		Vision:     classifier, Fetchers: ch.fetchers, MaxMediaBytes: max(cfg.Vision.MaxBytes, cfg.Speech.MaxBytes),
		Speech: flow.Speech{Service: speech.svc, InlineMax: cfg.Speech.InlineMax}, ConversationIdle: cfg.Channels.ConversationIdle,
		Media: media}
	ingress, process := deps.Pipelines(pipeline.NewMetrics(a.registry), log)
	panics := safe.New(a.registry, log)
	a.store.GuardPanics(panics)
	a.store.HoldOriginals(cfg.Queue.OriginalReadGrace, cfg.Queue.OriginalRetention)
	worker := &flow.Worker{Store: a.store, Process: process, Outbound: ch.outbound, Log: log,
		Lease: cfg.Queue.Lease, Grace: cfg.Queue.ShutdownGrace,
		Retry:   tickets.RetryPolicy{For: cfg.Queue.RetryFor, MaxAttempts: cfg.Queue.MaxAttempts, MaxAbandoned: cfg.Queue.MaxAbandoned},
		Metrics: flow.NewQueueMetrics(a.registry), Panics: panics, Redactor: piiRedactor{a.redactor}}
	worker.Metrics.Expect("turns", append([]string{"rest"}, channelNames(ch.all)...)...)
	worker.Metrics.Expect("outbox", slices.Sorted(maps.Keys(ch.outbound))...)
	required := []gateway.Checker{
		{Name: "postgres", Check: a.store.Ping},
		{Name: "redis", Check: func(ctx context.Context) error { return a.rdb.Ping(ctx).Err() }},
	}
	probe := newDependencyProbe(a.registry, required...)
	probe.probe(ctx, 2*time.Second)
	srv := gateway.New(gateway.Options{Tickets: a.svc, Store: a.store, Auth: auth, Log: log, Registerer: a.registry, Gatherer: a.registry,
		Assist:       live.assistant(a.store),
		Webhooks:     webhooks.NewDeliveryLog(a.primary, time.Now),
		QualityRules: qualityRulesEditor{insp: a.inspector, svc: a.svc},
		Ingress:      ingress, Process: process, Wake: worker.Wake,
		Channels: ch.all,
		Limits: gateway.RateLimits{Redis: a.rdb, Prefix: cfg.Redis.KeyPrefix + ":rl",
			PerIPPerMinute: cfg.Limits.PerIPPerMinute, PerCustomerPerMinute: cfg.Limits.PerCustomerPerMinute,
			ConcurrentPerIP: cfg.Limits.ConcurrentPerIP, WebSocketsPerIP: cfg.Limits.WebSocketsPerIP, WebSocketsPerUser: cfg.Limits.WebSocketsPerUser,
			WebSocketsTotal: cfg.Limits.WebSocketsTotal, SpeechStreamsPerIP: cfg.Speech.StreamsPerIP, LoginPerIPPerMinute: cfg.Limits.LoginPerIPPerMinute,
			LoginPerUserPerMinute: cfg.Limits.LoginPerUserPerMinute, LoginConcurrency: cfg.Limits.LoginConcurrency},
		MaxAudioBytes: cfg.Speech.MaxBytes, Media: media, MaxAttachmentBytes: cfg.Agents.MaxAttachmentBytes,
		MaxBodyBytes: cfg.HTTP.MaxBodyBytes, TrustedProxies: cfg.HTTP.TrustedProxies, AtRiskFraction: cfg.SLA.AtRiskFraction, TLS: hsts(cfg.HTTP),
		Models: notifyingModels{Registry: modelReg, db: a.primary, log: log}, Vision: classifier, MaxImageBytes: cfg.Vision.MaxBytes, Speech: speech.svc,
		TokenTTL: cfg.Auth.TokenTTL, AnonymousChat: cfg.Auth.AnonymousChat, Suggest: b.answer, AllowedOrigins: cfg.HTTP.AllowedOrigins,
		UI: web.Handler(), KB: live, KBIngest: live.jobs, KBDocuments: live.jobs, Escalation: &deps.Escalation, Audit: a.audit,
		Live: a.liveChecks(), AdminSeparate: cfg.HTTP.AdminAddr != "", RequestTimeout: cfg.HTTP.RequestTimeout,
		Ready: []gateway.Checker{
			// Without Redis turns are still answered (rate limits fail open, tickets wait
			// in PostgreSQL for the routing to come back): not a reason to take every
			// replica out of a load balancer at once. switchboard_dependency_up says so.
			required[0], {Name: "redis", Check: required[1].Check, Optional: true},
			{Name: "postgres_replica", Check: a.store.PingReplica, Optional: true}, // reads fall back to the primary
			{Name: "vision", Check: visionReady(clf, whyNoVision, modelReg), Optional: true},
			{Name: "speech", Check: speech.ready, Optional: true},
		}})

	bg, stopBG := context.WithCancel(ctx)
	var wg sync.WaitGroup
	ready := make(chan struct{})
	watcher := &tickets.SLAWatcher{Store: a.store, Router: a.router, Metrics: a.metrics, Log: log,
		AtRiskFraction: cfg.SLA.AtRiskFraction, Now: time.Now, Panics: panics}
	// Every background loop is restarted after a panic (logged, counted in
	// switchboard_panics_total{where}) until serve stops.
	loop := func(where string, run func()) {
		panics.Expect(where)
		wg.Go(func() { safe.Restart(bg, panics, where, 5*time.Second, run) })
	}
	var readyOnce sync.Once
	loop("events", func() { a.svc.RunEvents(bg, func() { readyOnce.Do(func() { close(ready) }) }) })
	loop("replica_monitor", func() { a.store.RunReplicaMonitor(bg, 100*time.Millisecond, log) })
	loop("sla_watch", func() { watcher.Run(bg, cfg.SLA.CheckInterval) })
	loop("presence_sweeper", func() { a.svc.RunPresenceSweeper(bg, cfg.Agents.PresenceTTL/4) })
	loop("reconciler", func() { a.svc.RunReconciler(bg, cfg.Routing.ReconcileInterval) })
	loop("archiver", func() { a.store.RunArchiver(bg, log, cfg.Archive.After, cfg.Archive.Interval) })
	loop("audit_anchor", func() { a.audit.Run(bg, cfg.Audit.AnchorInterval) })
	loop("retention", func() { a.retention(bg, log).Run(bg, cfg.Retention.Interval) })
	loop("key_ring_watch", func() { watchKeyRing(bg, a.ring, 30*time.Second, log) })
	// A model change on any server (REST or CLI) is announced on models_changed: every
	// server refreshes at once; the poll catches what an announcement missed.
	modelsChanged := make(chan struct{}, 1)
	wakeModels := func() {
		select {
		case modelsChanged <- struct{}{}:
		default:
		}
	}
	loop("model_watch", func() { modelReg.Watch(bg, cfg.Models.WatchInterval, modelsChanged) })
	loop("models_changed", func() { listenNotify(bg, a.primary, log, modelsChangedChannel, wakeModels) })
	loop("kb_reload", func() { live.run(bg, cfg.KB.ReloadInterval) })
	for range cfg.Queue.Workers {
		loop("worker", func() { worker.Run(bg) })
	}
	loop("worker_maintenance", func() { worker.RunMaintenance(bg, 10*time.Second) })
	loop("dependency_probe", func() { probe.run(bg, 10*time.Second) })
	if integ.customers != nil {
		crm := tickets.NewCRMEnricher(a.store, integ.customers, log, a.registry)
		loop("crm_lookup", func() { crm.Run(bg) })
	}
	if integ.hooks != nil {
		loop("webhooks", func() {
			if err := integ.hooks.Run(bg); err != nil && bg.Err() == nil {
				log.Error("webhooks", "err", err)
			}
		})
	}
	defer func() { stopBG(); wg.Wait() }()
	select {
	case <-ready:
	case <-ctx.Done():
		return ctx.Err()
	}

	capHeap(mediaMem, log, os.LookupEnv)
	lns, err := listen(cfg.HTTP, srv)
	if err != nil {
		return err
	}
	addr, adminAddr := lns.addrs()
	a.recordListening(addr, adminAddr)
	log.Info("switchboard is serving", "addr", addr, "admin_addr", adminAddr, "tls", cfg.HTTP.TLSEnabled(),
		"console", "/ui/console/", "supervisor", "/ui/supervisor/", "chat_demo", "/ui/chat.html")
	if n, err := a.store.CountStaffAccounts(ctx); err == nil && n == 0 {
		log.Warn("no staff can sign in to the console yet: create a sign-in with `switchboard users set NAME --role supervisor` (password on stdin); it is safe while the server runs")
	}
	if listening != nil {
		listening(addr)
	}
	errc := lns.serve()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.HTTP.ShutdownTimeout)
	defer cancel()
	return lns.shutdown(sctx)
}

// startTracing turns OpenTelemetry tracing on when the OTEL_* variables ask for it
// (internal/tracing); stop flushes the spans still buffered, after the server stopped.
func startTracing(ctx context.Context, log *slog.Logger) (stop func(), err error) {
	traces, shutdown, err := tracing.Start(ctx, log)
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	if traces.Enabled {
		log.Info("tracing on: spans are exported over OTLP", "protocol", traces.Protocol)
	}
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := shutdown(sctx); err != nil {
			log.Warn("tracing: spans not flushed", "err", err)
		}
	}, nil
}

// channelSet holds the configured channel plugins.
type channelSet struct {
	all      []channel.Channel
	outbound map[string]flow.Sender       // those that deliver replies
	fetchers map[string]flow.MediaFetcher // those whose platform sends media by reference
}

// openChannels opens the channels whose settings turn them on (gateway/channels).
func openChannels(cfg config.Config) (channelSet, error) {
	settings := map[string]channel.Settings{}
	for name, s := range cfg.Channels.Settings() {
		settings[name] = s
	}
	all, err := channels.Open(settings, &http.Client{Timeout: 15 * time.Second, Transport: tracing.Transport(nil)})
	if err != nil {
		return channelSet{}, err
	}
	set := channelSet{all: all, outbound: map[string]flow.Sender{}, fetchers: map[string]flow.MediaFetcher{}}
	for _, ch := range all {
		if s, ok := ch.(channel.Sender); ok {
			set.outbound[ch.Name()] = s
		}
		if f, ok := ch.(channel.MediaFetcher); ok {
			set.fetchers[ch.Name()] = f
		}
	}
	return set, nil
}

// channelNames are the names of chs.
func channelNames(chs []channel.Channel) []string {
	out := make([]string, 0, len(chs))
	for _, c := range chs {
		out = append(out, c.Name())
	}
	return out
}

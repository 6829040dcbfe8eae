package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-cs/switchboard/gateway"
	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/nlp/pii"
	"github.com/switchboard-cs/switchboard/tickets"
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
	a, err := openData(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.close(ctx)
	if err := a.openTickets(ctx); err != nil {
		return err
	}
	secret, err := jwtSecret(cfg)
	if err != nil {
		return fmt.Errorf("jwt secret: %w", err)
	}
	auth, err := gateway.NewAuth(secret, cfg.Auth.JWKSFile, cfg.Auth.Issuer)
	if err != nil {
		return err
	}
	b, err := openBrain(ctx, cfg)
	if err != nil {
		return err
	}
	modelReg, err := openModels(ctx, cfg, a.registry, log)
	if err != nil {
		return err
	}
	defer modelReg.Close()
	clf, whyNoVision := openVision(cfg, modelReg)
	if whyNoVision != nil {
		log.Warn("vision stage off; photos pass through unlabelled", "reason", whyNoVision)
	}
	var classifier gateway.ImageClassifier
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
	ch, err := channels(cfg)
	if err != nil {
		return err
	}
	deps := gateway.PipelineDeps{Redactor: pii.NewRedactor(), Tickets: a.svc, Understander: b.understand, Answerer: b.answer,
		Escalation: gateway.EscalationPolicy{MinConfidence: cfg.KB.MinConfidence},
		Vision:     classifier, Fetchers: ch.fetchers(), MaxMediaBytes: max(cfg.Vision.MaxBytes, cfg.Speech.MaxBytes),
		Speech: gateway.Speech{Service: speech.svc, InlineMax: cfg.Speech.InlineMax}, ConversationIdle: cfg.Channels.ConversationIdle}
	ingress, process := deps.Pipelines(pipeline.NewMetrics(a.registry), log)
	worker := &gateway.Worker{Store: a.store, Process: process, Outbound: ch.outbound, Log: log,
		Lease: cfg.Queue.Lease, MaxAttempts: cfg.Queue.MaxAttempts, Speech: deps.SpeechResolver()}
	srv := gateway.New(gateway.Options{Tickets: a.svc, Auth: auth, Log: log, Registerer: a.registry, Gatherer: a.registry,
		Ingress: ingress, Process: process, Outbound: ch.outbound, Wake: worker.Wake,
		Telegram: ch.telegram, Slack: ch.slack, Webhook: ch.webhook, WeCom: ch.wecom,
		Limits: gateway.RateLimits{Redis: a.rdb, Prefix: cfg.Redis.KeyPrefix + ":rl",
			PerIPPerMinute: cfg.Limits.PerIPPerMinute, PerCustomerPerMinute: cfg.Limits.PerCustomerPerMinute},
		MaxBodyBytes: cfg.HTTP.MaxBodyBytes, TrustedProxies: cfg.HTTP.TrustedProxies, AtRiskFraction: cfg.SLA.AtRiskFraction, TLS: cfg.HTTP.TLSEnabled(),
		Models: modelReg, Vision: classifier, MaxImageBytes: cfg.Vision.MaxBytes, Speech: speech.svc,
		TokenTTL: cfg.Auth.TokenTTL, AnonymousChat: cfg.Auth.AnonymousChat, Suggest: b.answer, AllowedOrigins: cfg.HTTP.AllowedOrigins,
		UI: web.Handler(),
		Ready: []gateway.Checker{
			{Name: "postgres", Check: a.store.Ping},
			{Name: "redis", Check: func(ctx context.Context) error { return a.rdb.Ping(ctx).Err() }},
			{Name: "vision", Check: visionReady(clf, whyNoVision, modelReg), Optional: true},
			{Name: "speech", Check: speech.ready, Optional: true},
		}})

	bg, stopBG := context.WithCancel(ctx)
	var wg sync.WaitGroup
	ready := make(chan struct{})
	watcher := &tickets.SLAWatcher{Store: a.store, Router: a.router, Metrics: a.metrics, Log: log,
		AtRiskFraction: cfg.SLA.AtRiskFraction, Now: time.Now}
	wg.Go(func() { a.svc.RunEvents(bg, func() { close(ready) }) })
	wg.Go(func() { watcher.Run(bg, cfg.SLA.CheckInterval) })
	wg.Go(func() { a.store.RunArchiver(bg, log, cfg.Archive.After, cfg.Archive.Interval) })
	wg.Go(func() { modelReg.Watch(bg, cfg.Models.WatchInterval) })
	for range cfg.Queue.Workers {
		wg.Go(func() { worker.Run(bg) })
	}
	defer func() { stopBG(); wg.Wait() }()
	select {
	case <-ready:
	case <-ctx.Done():
		return ctx.Err()
	}

	hs := &http.Server{Addr: cfg.HTTP.Addr, Handler: srv.Handler(), ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: cfg.HTTP.ReadTimeout, WriteTimeout: cfg.HTTP.WriteTimeout}
	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.HTTP.Addr, err)
	}
	log.Info("switchboard is serving", "addr", ln.Addr().String(), "tls", cfg.HTTP.TLSEnabled(),
		"console", "/ui/console/", "supervisor", "/ui/supervisor/", "chat_demo", "/ui/chat.html")
	if n, err := a.store.CountStaffAccounts(ctx); err == nil && n == 0 {
		log.Warn("no staff can sign in to the console yet: create a sign-in with `switchboard users set NAME --role supervisor` (password on stdin)")
	}
	if listening != nil {
		listening(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() {
		if cfg.HTTP.TLSEnabled() {
			errc <- hs.ServeTLS(ln, cfg.HTTP.TLSCertFile, cfg.HTTP.TLSKeyFile)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.HTTP.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// fetchers are the channels that deliver media by reference.
func (c channelSet) fetchers() map[string]gateway.MediaFetcher {
	out := map[string]gateway.MediaFetcher{}
	if c.telegram != nil {
		out["telegram"] = c.telegram
	}
	if c.wecom != nil {
		out["wecom"] = c.wecom
	}
	return out
}

// channelSet holds the configured webhook channels.
type channelSet struct {
	telegram *gateway.Telegram
	slack    *gateway.Slack
	webhook  *gateway.Webhook
	wecom    *gateway.WeCom
	outbound map[string]gateway.Sender
}

// channels builds the webhook channels that have their secrets configured.
func channels(cfg config.Config) (channelSet, error) {
	c := cfg.Channels
	set := channelSet{outbound: map[string]gateway.Sender{}}
	client := &http.Client{Timeout: 15 * time.Second}
	if c.Telegram.SecretToken != "" {
		set.telegram = &gateway.Telegram{BotToken: c.Telegram.BotToken, SecretToken: c.Telegram.SecretToken, APIBase: c.Telegram.APIBase, Client: client}
		set.outbound["telegram"] = set.telegram
	}
	if c.Slack.SigningSecret != "" {
		set.slack = &gateway.Slack{SigningSecret: c.Slack.SigningSecret, BotToken: c.Slack.BotToken, APIBase: c.Slack.APIBase, Client: client}
		set.outbound["slack"] = set.slack
	}
	if c.Webhook.Secret != "" {
		set.webhook = &gateway.Webhook{Secret: c.Webhook.Secret, CallbackURL: c.Webhook.CallbackURL, Client: client}
		set.outbound["webhook"] = set.webhook
	}
	if w := c.WeCom; w.Token != "" {
		wc, err := gateway.NewWeCom(w.CorpID, w.AgentID, w.Secret, w.Token, w.EncodingAESKey, w.APIBase, client)
		if err != nil {
			return set, err
		}
		set.wecom = wc
		set.outbound["wecom"] = wc
	}
	return set, nil
}

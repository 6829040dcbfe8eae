package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/switchboard-cs/switchboard/asr/pocketsphinx"
	"github.com/switchboard-cs/switchboard/asr/vosk"
	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/internal/embedded"
	"github.com/switchboard-cs/switchboard/kb"
	"github.com/switchboard-cs/switchboard/models/ort"
	"github.com/switchboard-cs/switchboard/nlp/ner"
	"github.com/switchboard-cs/switchboard/vision"
)

// check is one line of the doctor's report.
type check struct {
	Name     string `json:"name"`
	Status   string `json:"status"` // ok, missing, unreachable, optional
	Detail   string `json:"detail"`
	Fix      string `json:"fix,omitempty"`
	Required bool   `json:"required"`
}

func doctorCmd(f *rootFlags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Show what is configured, reachable and missing, each with the command that fixes it",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.load()
			if err != nil {
				return fmt.Errorf("configuration: %w", err)
			}
			checks := runChecks(cmd.Context(), cfg, f.configPath)
			if asJSON {
				if err := json.NewEncoder(cmd.OutOrStdout()).Encode(checks); err != nil {
					return err
				}
			} else {
				printChecks(cmd.OutOrStdout(), checks)
			}
			for _, c := range checks {
				if c.Required && c.Status != "ok" {
					return fmt.Errorf("%s is %s", c.Name, c.Status)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func runChecks(ctx context.Context, cfg config.Config, path string) []check {
	src := "embedded defaults (no file)"
	if path != "" {
		src = path
	}
	out := []check{{Name: "config", Status: "ok", Detail: src, Required: true}}
	out = append(out, checkPostgres(ctx, cfg), checkRedis(ctx, cfg), checkDataDir(cfg))
	out = append(out, checkPostgresRole(ctx, cfg))
	out = append(out, checkBinary("redis-server (tests, bench)", func() error { _, err := embedded.FindRedisServer(); return err },
		"apt-get install -y redis-server"))
	out = append(out, checkONNXRuntime(cfg))
	out = append(out, checkSpeechLibraries(cfg)...)
	out = append(out, checkSpeech(ctx, cfg))
	out = append(out, checkModels(ctx, cfg)...)
	return append(out, checkKB(ctx, cfg), checkPIITagger(cfg), checkSentiment(cfg), checkVideo(), checkChannels(cfg))
}

// checkSentiment reports the sentiment model of quality inspection.
func checkSentiment(cfg config.Config) check {
	c := check{Name: "sentiment model (quality inspection)"}
	if cfg.SentimentModel() == "" {
		c.Status, c.Detail = "optional", "quality.sentiment_model is off: replies are inspected by their rules alone, without the customer's mood"
		return c
	}
	m, err := loadSentiment(cfg)
	switch {
	case err != nil:
		c.Status, c.Detail, c.Fix = "missing", err.Error(), "switchboard quality train (writes it anew), or set quality.sentiment_model to off"
	case m == nil:
		c.Status, c.Detail = "optional", "no model at "+cfg.SentimentModel()+": replies are inspected by their rules alone, without the customer's mood"
		c.Fix = "scripts/fetch-sentiment-data.sh && switchboard quality train (with the shared data beside the checkout; make run does it)"
	default:
		c.Status, c.Detail = "ok", fmt.Sprintf("%s: %v", cfg.SentimentModel(), m.Languages())
	}
	return c
}

// checkPIITagger reports redaction's name and address tagger.
func checkPIITagger(cfg config.Config) check {
	c := check{Name: "name and address tagger (redaction)"}
	path := cfg.PIITaggerModel()
	if path == "" {
		c.Status, c.Detail = "optional", "pii.tagger_model is off: names and addresses are found by their cues alone"
		return c
	}
	m, err := ner.Load(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.Status, c.Detail = "optional", "no tagger at "+path+": names and addresses are found by their cues alone"
		c.Fix = "switchboard pii train (with the shared data beside the checkout; make run does it)"
	case err != nil:
		c.Status, c.Detail, c.Fix = "missing", err.Error(), "switchboard pii train (writes it anew), or set pii.tagger_model to off"
	default:
		c.Status, c.Detail = "ok", path+": "+m.Info.String()
	}
	return c
}

// checkKB reports the knowledge base the respond stage answers from.
func checkKB(ctx context.Context, cfg config.Config) (c check) {
	c = check{Name: "knowledge base", Required: true}
	k, err := openKB(ctx, cfg)
	if err != nil {
		c.Status, c.Detail = "unreachable", err.Error()
		c.Fix = "check kb.dir / kb.qdrant_addr, or unset SWITCHBOARD_QDRANT_ADDR to use the embedded index"
		return c
	}
	defer k.Close()
	dense := ""
	if k.Encoder != nil {
		dense = fmt.Sprintf("; dense encoder %s (%d dimensions)", encoderName(cfg), k.Encoder.Dim())
	}
	defer func() { c.Detail += dense }()
	emb, ok := k.Index.(*kb.Embedded)
	switch {
	case !ok:
		c.Status, c.Detail = "ok", "Qdrant at "+cfg.KB.QdrantAddr+", collection "+cfg.KB.QdrantCollection
	case emb.Len() == 0:
		c.Status, c.Required = "optional", false
		c.Detail = "empty embedded index at " + cfg.KBDir() + ": every question is handed to a human"
		c.Fix = "switchboard kb ingest PATH (FAQ CSV/JSON, Markdown, HTML or text)"
	default:
		c.Status, c.Detail = "ok", fmt.Sprintf("embedded index at %s with %d chunks", cfg.KBDir(), emb.Len())
	}
	return c
}

// checkChannels lists the webhook channels that are switched on (their inbound secret is
// set) and reports one ok only when the credentials its replies need are set too.
func checkChannels(cfg config.Config) check {
	var on, broken, fixes []string
	for _, ch := range channelNeeds(cfg.Channels) {
		if !ch.on {
			continue
		}
		on = append(on, ch.name)
		if len(ch.missing) > 0 {
			broken = append(broken, ch.name+" cannot reply: "+strings.Join(ch.missing, ", ")+" not set")
			fixes = append(fixes, "set "+strings.Join(ch.missing, ", "))
		}
	}
	switch {
	case len(on) == 0:
		return check{Name: "channels", Status: "optional", Detail: "REST and web chat only; no webhook channel configured",
			Fix: "set SWITCHBOARD_TELEGRAM_SECRET_TOKEN, SWITCHBOARD_SLACK_SIGNING_SECRET, SWITCHBOARD_WECOM_TOKEN or SWITCHBOARD_WEBHOOK_SECRET (see docs/configuration.md)"}
	case len(broken) > 0:
		return check{Name: "channels", Status: "missing", Detail: strings.Join(broken, "; "),
			Fix: strings.Join(fixes, "; ") + " (see docs/configuration.md)"}
	}
	return check{Name: "channels", Status: "ok", Detail: "REST, web chat, " + strings.Join(on, ", ")}
}

// channelNeed is one webhook channel: on when its inbound secret is set, and the
// variables its replies need that are empty.
type channelNeed struct {
	name    string
	on      bool
	missing []string
}

// channelNeeds lists the webhook channels in name order.
func channelNeeds(ch config.ChannelsConfig) []channelNeed {
	need := func(name string, on bool, creds ...[2]string) channelNeed {
		n := channelNeed{name: name, on: on}
		for _, c := range creds {
			if strings.TrimSpace(c[1]) == "" {
				n.missing = append(n.missing, c[0])
			}
		}
		return n
	}
	return []channelNeed{
		need("slack", ch.Slack.SigningSecret != "", [2]string{"SWITCHBOARD_SLACK_BOT_TOKEN", ch.Slack.BotToken}),
		need("telegram", ch.Telegram.SecretToken != "", [2]string{"SWITCHBOARD_TELEGRAM_BOT_TOKEN", ch.Telegram.BotToken}),
		need("webhook", ch.Webhook.Secret != "", [2]string{"SWITCHBOARD_WEBHOOK_CALLBACK_URL", ch.Webhook.CallbackURL}),
		need("wecom", ch.WeCom.Token != "", [2]string{"SWITCHBOARD_WECOM_CORP_ID", ch.WeCom.CorpID},
			[2]string{"SWITCHBOARD_WECOM_SECRET", ch.WeCom.Secret}, [2]string{"SWITCHBOARD_WECOM_AGENT_ID", ch.WeCom.AgentID}),
	}
}

// checkModels lists the ONNX models in the model repository folder.
func checkModels(ctx context.Context, cfg config.Config) []check {
	dir := cfg.ModelsDir()
	c := check{Name: "models"}
	reg, err := openModels(ctx, cfg, nil, nil)
	if err != nil {
		c.Status, c.Detail = "unreachable", err.Error()
		c.Fix = "check models.dir"
		return []check{c}
	}
	defer reg.Close()
	list := reg.List()
	var serving, refused []string
	for _, m := range list {
		for _, v := range m.Versions {
			if slices.Contains(v.Roles, "active") {
				serving = append(serving, m.Name+"/"+v.Version)
			}
			if v.Error != "" {
				refused = append(refused, m.Name+"/"+v.Version+": "+v.Error)
			}
		}
	}
	switch {
	case len(list) == 0:
		c.Status, c.Detail = "optional", "no models under "+dir+"; the vision stage stays off"
		c.Fix = "switchboard models push NAME model.onnx manifest.yaml with a trained image classifier " +
			"(make models exports an untrained ResNet50 whose labels mean nothing: for plumbing and benchmarks only)"
	case len(refused) > 0:
		c.Status, c.Detail = "optional", fmt.Sprintf("serving %v; refused: %s", serving, strings.Join(refused, "; "))
		c.Fix = "switchboard models list; fix or remove the refused versions"
	default:
		c.Status, c.Detail = "ok", fmt.Sprintf("serving %v from %s", serving, dir)
	}
	v := check{Name: "vision"}
	if clf, err := openVision(cfg, reg, nil); err != nil {
		v.Status, v.Detail, v.Fix = "optional", "off: "+err.Error(), "push a trained image classifier (switchboard models push), or set vision.model"
	} else {
		v.Status, v.Detail = "ok", "photos are classified by model "+clf.Model()
		if err := vision.TurboJPEG(); err != nil {
			v.Detail += "; " + err.Error()
		}
	}
	return []check{c, v}
}

func checkPostgres(ctx context.Context, cfg config.Config) check {
	c := check{Name: "postgres", Required: true}
	if cfg.Postgres.DSN == "" {
		dir, err := embedded.FindPostgres()
		if err != nil {
			c.Status, c.Detail, c.Fix = "missing", "embedded PostgreSQL needs a local installation", "apt-get install -y postgresql"
			return c
		}
		c.Status, c.Detail = "ok", fmt.Sprintf("embedded: binaries in %s, data in %s", dir, cfg.PGEmbeddedDir())
		if in, live, _ := embedded.LiveInstance(cfg.DataDir); live && in.PostgresAddr != "" {
			c.Detail += fmt.Sprintf("; running under %s on %s (commands use it)", in, in.PostgresAddr)
		}
		return c
	}
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(pctx, cfg.Postgres.DSN)
	if err != nil {
		c.Status, c.Detail = "unreachable", err.Error()
		c.Fix = "start PostgreSQL, or unset SWITCHBOARD_PG_DSN to use the embedded one"
		return c
	}
	defer conn.Close(ctx)
	c.Status, c.Detail = "ok", "configured DSN answers ("+conn.Config().Host+")"
	return c
}

func checkRedis(ctx context.Context, cfg config.Config) check {
	c := check{Name: "redis", Required: true}
	if cfg.Redis.Addr == "" && len(cfg.Redis.ClusterAddrs) == 0 {
		c.Status, c.Detail = "ok", "in-process miniredis (state rebuilt from PostgreSQL at start)"
		return c
	}
	rdb := newRedisClient(cfg.Redis)
	defer rdb.Close()
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		c.Status, c.Detail = "unreachable", err.Error()
		c.Fix = "start Redis (redis-server --daemonize yes), or unset SWITCHBOARD_REDIS_ADDR to use the in-process one"
		return c
	}
	c.Status, c.Detail = "ok", "configured Redis answers"
	return c
}

func checkDataDir(cfg config.Config) check {
	c := check{Name: "data dir", Required: true, Detail: cfg.DataDir}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		c.Status, c.Fix = "missing", "mkdir -p "+cfg.DataDir+" and make it writable, or set SWITCHBOARD_DATA_DIR"
		c.Detail = err.Error()
		return c
	}
	probe := filepath.Join(cfg.DataDir, ".doctor")
	if err := os.WriteFile(probe, nil, 0o600); err != nil {
		c.Status, c.Detail, c.Fix = "missing", err.Error(), "make "+cfg.DataDir+" writable, or set SWITCHBOARD_DATA_DIR"
		return c
	}
	os.Remove(probe)
	c.Status = "ok"
	return c
}

func checkBinary(name string, find func() error, fix string) check {
	if err := find(); err != nil {
		return check{Name: name, Status: "missing", Detail: err.Error(), Fix: fix}
	}
	return check{Name: name, Status: "ok", Detail: "found"}
}

// checkONNXRuntime loads ONNX Runtime the way the ONNX stages do.
func checkONNXRuntime(cfg config.Config) check {
	c := check{Name: "ONNX Runtime (encoder, vision, models)", Required: cfg.KB.EncoderModel != ""}
	path, err := ort.Init(cfg.Models.ONNXRuntimeLib)
	if err != nil {
		c.Status, c.Detail = "optional", err.Error()+"; the ONNX stages stay off"
		if c.Required {
			c.Status = "missing"
		}
		c.Fix = "scripts/fetch-onnxruntime.sh (or set models.onnxruntime_lib / SWITCHBOARD_ORT_LIB)"
		return c
	}
	c.Status, c.Detail = "ok", fmt.Sprintf("version %s from %s", ort.Version(), path)
	return c
}

func printChecks(w io.Writer, checks []check) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tSTATUS\tDETAIL")
	for _, c := range checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, c.Status, c.Detail)
	}
	tw.Flush()
	for _, c := range checks {
		if c.Status != "ok" && c.Fix != "" {
			fmt.Fprintf(w, "\nfix %s:\n  %s\n", c.Name, c.Fix)
		}
	}
}

// checkSpeech loads the engines of speech.engines as serve does.
func checkSpeech(ctx context.Context, cfg config.Config) check {
	c := check{Name: "speech (voice notes, /v1/asr/ws)"}
	set, err := openSpeech(ctx, cfg, nil)
	if err != nil {
		c.Status, c.Detail, c.Fix = "error", err.Error(), "fix speech.engines / speech.vosk_models / speech.phrases_file"
		return c
	}
	defer set.Close()
	var on []string
	for _, e := range set.engines {
		on = append(on, e.Language()+": "+e.Name())
	}
	switch why := set.ready(ctx); { // no engine configured is a reason too
	case set.svc == nil:
		c.Status, c.Detail = "optional", "off: "+why.Error()
		c.Fix = "apt-get install -y libpocketsphinx3 pocketsphinx-en-us (make deps does), or configure a Vosk model"
	case why != nil:
		c.Status, c.Detail = "optional", strings.Join(on, ", ")+"; off: "+why.Error()
	default:
		c.Status, c.Detail = "ok", strings.Join(on, ", ")+"; default language "+set.svc.DefaultLanguage()
	}
	return c
}

// checkSpeechLibraries loads the speech engines' native libraries (not their models).
func checkSpeechLibraries(cfg config.Config) []check {
	v := check{Name: "Vosk library (speech)", Status: "ok"}
	if lib, err := vosk.LoadLibrary(cfg.Speech.VoskLib); err != nil {
		v.Status, v.Detail = "optional", err.Error()
		v.Fix = "make deps (scripts/fetch-vosk.sh), or set speech.vosk_lib / SWITCHBOARD_VOSK_LIB"
	} else {
		v.Detail = lib
	}
	p := check{Name: "PocketSphinx (speech)", Status: "ok", Detail: "libpocketsphinx and the model at " + pocketsphinxModelDir(cfg)}
	if err := pocketsphinx.Check(pocketsphinx.Config{ModelDir: cfg.Speech.PocketSphinxModel}); err != nil {
		p.Status, p.Detail = "optional", err.Error()
		p.Fix = "apt-get install -y libpocketsphinx3 pocketsphinx-en-us (make deps does)"
	}
	return []check{v, p}
}

func pocketsphinxModelDir(cfg config.Config) string {
	if cfg.Speech.PocketSphinxModel != "" {
		return cfg.Speech.PocketSphinxModel
	}
	return pocketsphinx.DefaultModelDir
}

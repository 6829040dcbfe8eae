package tickets

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// CRMRecord is what a company's CRM knows of a customer: its id there, the VIP tier
// (0–3) routing weighs, tags, the account and its owner. The customer's name, when the
// CRM has one, is stored as the customer's display name (sealed), not here.
type CRMRecord struct {
	ID string `json:"id,omitempty"`
	// Tier is nil when the CRM gave none: the customer's VIP tier is then left as it is.
	Tier     *int      `json:"tier,omitempty"`
	Tags     []string  `json:"tags,omitempty"`
	Account  string    `json:"account,omitempty"`
	Owner    string    `json:"owner,omitempty"`
	SyncedAt time.Time `json:"synced_at"`
	Name     string    `json:"-"`
}

// Identity is who a customer is to a CRM lookup: the channel and the customer's id on
// it, and their email and phone (decrypted from the vault). A lookup sends only the
// fields its connector is allowed to receive.
type Identity struct {
	Channel, ChannelID, Email, Phone string
}

// CustomerDirectory looks a customer up in the company's CRM; serve adapts a
// connector (internal/connector) to it. found is false when the CRM has no such
// customer or cannot be asked with what is known of them; an error is a failed lookup
// (timeout, the CRM down, its circuit open), retried later.
type CustomerDirectory interface {
	LookupCustomer(ctx context.Context, id Identity) (rec CRMRecord, found bool, err error)
}

// CRMEnricher looks up the customer of each new conversation in the CRM once, after
// the conversation's first message was stored and acknowledged, and fills the customer
// record: the CRM's tier becomes the customer's VIP tier (the escalation's routing
// weighs it), the name their display name, and the tags, account and owner are kept
// with it. Replicas share the work (a conversation is claimed with a lease); a lookup
// that fails is tried again after RetryAfter until the conversation is Window old.
type CRMEnricher struct {
	Store     *Store
	Directory CustomerDirectory
	Log       *slog.Logger
	Now       func() time.Time
	// Poll is how often new conversations are looked for (default 500 ms); Batch how
	// many one pass looks up (default 20); Window how old a conversation may be and still
	// be looked up (default 1 h); RetryAfter the wait after a failed lookup (30 s), and
	// twice the longest a lookup may take.
	Poll, Window, RetryAfter time.Duration
	Batch                    int
	lookups                  *prometheus.CounterVec
}

// NewCRMEnricher returns an enricher with its metric registered on reg:
// switchboard_crm_lookups_total{outcome=found|not_found|failed}.
func NewCRMEnricher(store *Store, dir CustomerDirectory, log *slog.Logger, reg prometheus.Registerer) *CRMEnricher {
	e := &CRMEnricher{Store: store, Directory: dir, Log: log, Now: time.Now,
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_crm_lookups_total",
			Help: "Lookups of new conversations' customers in the CRM, by outcome (found, not_found, failed).",
		}, []string{"outcome"})}
	if reg != nil {
		reg.MustRegister(e.lookups)
	}
	return e
}

func (e *CRMEnricher) defaults() {
	if e.Poll <= 0 {
		e.Poll = 500 * time.Millisecond
	}
	if e.Window <= 0 {
		e.Window = time.Hour
	}
	if e.RetryAfter <= 0 {
		e.RetryAfter = 30 * time.Second
	}
	if e.Batch <= 0 {
		e.Batch = 20
	}
}

// Run looks up new conversations' customers until ctx ends.
func (e *CRMEnricher) Run(ctx context.Context) {
	e.defaults()
	tick := time.NewTicker(e.Poll)
	defer tick.Stop()
	for {
		if _, err := e.RunOnce(ctx); err != nil && ctx.Err() == nil {
			e.Log.Warn("crm lookups", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// RunOnce looks up the customers of up to Batch conversations due for a lookup, one
// at a time: each is claimed for RetryAfter and its lookup is cut off well before that,
// so no other replica claims it while it is asked. It returns how many it claimed.
func (e *CRMEnricher) RunOnce(ctx context.Context) (int, error) {
	e.defaults()
	n := 0
	for ; n < e.Batch; n++ {
		var conversation, customer, channel string
		err := e.Store.primary.QueryRow(ctx, `UPDATE conversations c SET crm_lease_until = now() + $2::interval
			FROM (SELECT id FROM conversations
				WHERE crm_checked_at IS NULL AND created_at > now() - $1::interval
				  AND (crm_lease_until IS NULL OR crm_lease_until < now())
				ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED) d
			WHERE c.id = d.id RETURNING c.id, c.customer_id, c.channel`, e.Window, e.RetryAfter).Scan(&conversation, &customer, &channel)
		if errors.Is(err, pgx.ErrNoRows) {
			return n, nil
		}
		if err != nil {
			return n, mapPgErr(err, "crm lookups")
		}
		lookup, cancel := context.WithTimeout(ctx, e.RetryAfter/2)
		err = e.enrich(lookup, conversation, customer, channel)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return n + 1, ctx.Err()
			}
			e.lookups.WithLabelValues("failed").Inc()
			// the lease runs out after RetryAfter and a later pass tries again
			e.Log.Warn("crm lookup failed; tried again later", "conversation", conversation, "err", err)
		}
	}
	return n, nil
}

// enrich looks one conversation's customer up and stores what the CRM said; the
// conversation is then done whatever the CRM said (found or not).
func (e *CRMEnricher) enrich(ctx context.Context, conversation, customerID, channel string) error {
	c, err := e.Store.GetCustomer(ctx, customerID)
	if err != nil {
		return err
	}
	rec, found, err := e.Directory.LookupCustomer(ctx, Identity{Channel: channel, ChannelID: c.PseudonymousID, Email: c.Email, Phone: c.Phone})
	if err != nil {
		return err
	}
	if found {
		if rec.Tier != nil {
			tier := max(0, min(3, *rec.Tier))
			rec.Tier = &tier
		}
		rec.SyncedAt = e.Now().UTC().Truncate(time.Second)
		if rec.Name != "" {
			if _, err := e.Store.UpsertCustomer(ctx, Customer{PseudonymousID: c.PseudonymousID, DisplayName: rec.Name}, false); err != nil {
				return err
			}
		}
		raw, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if _, err := e.Store.primary.Exec(ctx, `UPDATE customers SET crm = $2, vip_tier = coalesce($3, vip_tier) WHERE id = $1`,
			customerID, raw, rec.Tier); err != nil {
			return mapPgErr(err, "customer "+customerID)
		}
		e.lookups.WithLabelValues("found").Inc()
	} else {
		e.lookups.WithLabelValues("not_found").Inc()
	}
	_, err = e.Store.primary.Exec(ctx, `UPDATE conversations SET crm_checked_at = now(), crm_lease_until = NULL WHERE id = $1`, conversation)
	return mapPgErr(err, "conversation "+conversation)
}

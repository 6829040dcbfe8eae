package tickets

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// CannedResponse is a reply an agent inserts by its shortcut ("/refund"): shared by the
// team (Owner empty) or an agent's own, in a language (Lang "zh", "en", or empty for
// any). Body may hold the variables of CannedVariables, filled in by RenderCanned.
type CannedResponse struct {
	ID        int64     `json:"id"`
	Owner     string    `json:"owner"` // "" shared, else the agent's id
	Shortcut  string    `json:"shortcut"`
	Lang      string    `json:"lang"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	UpdatedBy string    `json:"updated_by"`
	UpdatedAt time.Time `json:"updated_at"`
}

// CannedVariables are the variables a canned response's body may hold.
var CannedVariables = []string{"customer.name", "agent.name", "ticket.id"}

var (
	shortcutRe    = regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N}_-]{0,31}$`)
	cannedVarRe   = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)
	cannedLangs   = []string{"", "zh", "en"}
	maxCannedBody = 4000 // characters
)

// normalize checks c and puts its fields in their stored form.
func (c *CannedResponse) normalize() error {
	c.Shortcut = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(c.Shortcut), "/"))
	if !shortcutRe.MatchString(c.Shortcut) {
		return fmt.Errorf("shortcut %q: 1 to 32 letters, digits, - and _ (\"/refund\", \"/退款\"): %w", c.Shortcut, ErrInvalid)
	}
	c.Lang = strings.ToLower(strings.TrimSpace(c.Lang))
	if !slices.Contains(cannedLangs, c.Lang) {
		return fmt.Errorf("lang %q: zh, en, or empty for any language: %w", c.Lang, ErrInvalid)
	}
	c.Title = strings.TrimSpace(c.Title)
	if c.Title == "" {
		c.Title = "/" + c.Shortcut
	}
	if utf8.RuneCountInString(c.Title) > 100 {
		return fmt.Errorf("title: at most 100 characters: %w", ErrInvalid)
	}
	c.Body = strings.TrimSpace(c.Body)
	if c.Body == "" || utf8.RuneCountInString(c.Body) > maxCannedBody {
		return fmt.Errorf("body: 1 to %d characters: %w", maxCannedBody, ErrInvalid)
	}
	for _, m := range cannedVarRe.FindAllStringSubmatch(c.Body, -1) {
		if !slices.Contains(CannedVariables, m[1]) {
			return fmt.Errorf("body: unknown variable {{%s}}; known: {{%s}}: %w", m[1], strings.Join(CannedVariables, "}}, {{"), ErrInvalid)
		}
	}
	return nil
}

// CannedResponses lists the canned responses agentID may use: the shared ones and their
// own, by shortcut, then shared before own, then language.
func (s *Directory) CannedResponses(ctx context.Context, agentID string) ([]CannedResponse, error) {
	return s.store.cannedResponses(ctx, agentID)
}

// PutCanned creates (ID 0) or updates a canned response; shared selects a shared one
// (only a supervisor or admin creates or changes those) rather than the actor's own.
// The change and its audit event commit together.
func (s *Directory) PutCanned(ctx context.Context, actor Actor, c CannedResponse, shared bool) (CannedResponse, error) {
	if err := c.normalize(); err != nil {
		return CannedResponse{}, err
	}
	c.Owner = actor.ID
	if shared {
		c.Owner = ""
	}
	if c.ID != 0 {
		old, err := s.store.cannedResponse(ctx, c.ID)
		if err != nil {
			return CannedResponse{}, err
		}
		if err := mayEditCanned(actor, old); err != nil {
			return CannedResponse{}, err
		}
		c.Owner = old.Owner // a response stays shared or personal
	}
	if c.Owner == "" && !actor.Supervisor {
		return CannedResponse{}, fmt.Errorf("shared canned responses are a supervisor's: %w", ErrForbidden)
	}
	c.UpdatedBy = actor.ID
	rec := AuditRecord{Actor: actor.ID, Action: "canned.put", Target: "/" + c.Shortcut,
		Detail: map[string]any{"id": c.ID, "shared": c.Owner == "", "lang": c.Lang}}
	err := s.store.Audited(ctx, rec, func(tx pgx.Tx) error {
		var err error
		c, err = putCanned(ctx, tx, c)
		return err
	})
	if err != nil {
		return CannedResponse{}, err
	}
	return c, nil
}

// DeleteCanned deletes a canned response: an agent their own, a supervisor any.
func (s *Directory) DeleteCanned(ctx context.Context, actor Actor, id int64) error {
	old, err := s.store.cannedResponse(ctx, id)
	if err != nil {
		return err
	}
	if err := mayEditCanned(actor, old); err != nil {
		return err
	}
	rec := AuditRecord{Actor: actor.ID, Action: "canned.delete", Target: "/" + old.Shortcut,
		Detail: map[string]any{"id": id, "shared": old.Owner == "", "lang": old.Lang}}
	return s.store.Audited(ctx, rec, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM canned_responses WHERE id = $1`, id)
		return mapPgErr(err, "canned response")
	})
}

// mayEditCanned: a shared response is a supervisor's to change, a personal one its
// owner's (or a supervisor's); another agent's is not found, as it is not listed.
func mayEditCanned(actor Actor, c CannedResponse) error {
	switch {
	case actor.Supervisor:
		return nil
	case c.Owner == "":
		return fmt.Errorf("shared canned responses are a supervisor's: %w", ErrForbidden)
	case c.Owner != actor.ID:
		return fmt.Errorf("canned response %d: %w", c.ID, ErrNotFound)
	}
	return nil
}

// RenderedCanned is a canned response filled in for a ticket.
type RenderedCanned struct {
	Text     string         `json:"text"`
	Response CannedResponse `json:"response"`
}

// RenderCanned fills in the canned response shortcut for the ticket id, which the actor
// must see: the actor's own before the shared one, in lang before the one for any
// language before another.
func (s *Service) RenderCanned(ctx context.Context, actor Actor, id, shortcut, lang string) (RenderedCanned, error) {
	t, err := s.visibleTicket(ctx, actor, id)
	if err != nil {
		return RenderedCanned{}, err
	}
	all, err := s.store.cannedResponses(ctx, actor.ID)
	if err != nil {
		return RenderedCanned{}, err
	}
	shortcut = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(shortcut), "/"))
	best, rank := CannedResponse{}, -1
	for _, c := range all {
		if c.Shortcut != shortcut {
			continue
		}
		r := 0
		if c.Owner != "" {
			r += 4
		}
		switch c.Lang {
		case lang:
			r += 2
		case "":
			r++
		}
		if r > rank {
			best, rank = c, r
		}
	}
	if rank < 0 {
		return RenderedCanned{}, fmt.Errorf("canned response /%s: %w", shortcut, ErrNotFound)
	}
	agentName := actor.ID
	if a, err := s.store.GetAgent(ctx, actor.ID); err == nil && a.Name != "" {
		agentName = a.Name
	}
	values := map[string]string{"customer.name": t.CustomerName, "agent.name": agentName, "ticket.id": t.ID}
	blank := false
	text := cannedVarRe.ReplaceAllStringFunc(best.Body, func(m string) string {
		v := values[cannedVarRe.FindStringSubmatch(m)[1]]
		blank = blank || v == ""
		return v
	})
	if blank { // an anonymous visitor has no name: "Hello {{customer.name}}, …" reads "Hello, …"
		text = strings.TrimSpace(doubleBlanksRe.ReplaceAllString(blankBeforePunctRe.ReplaceAllString(text, "$1"), " "))
	}
	return RenderedCanned{Text: text, Response: best}, nil
}

var (
	blankBeforePunctRe = regexp.MustCompile(`[ \t]+([,.!?;:，。！？；：])`)
	doubleBlanksRe     = regexp.MustCompile(`[ \t]{2,}`)
)

const cannedCols = `id, owner, shortcut, lang, title, body, updated_by, updated_at`

func scanCanned(r pgx.Row) (CannedResponse, error) {
	var c CannedResponse
	err := r.Scan(&c.ID, &c.Owner, &c.Shortcut, &c.Lang, &c.Title, &c.Body, &c.UpdatedBy, &c.UpdatedAt)
	return c, err
}

func (s *TicketRecords) cannedResponses(ctx context.Context, agentID string) ([]CannedResponse, error) {
	rows, err := s.primary.Query(ctx, `SELECT `+cannedCols+` FROM canned_responses
		WHERE owner = '' OR owner = $1 ORDER BY shortcut, owner <> '', lang`, agentID)
	if err != nil {
		return nil, mapPgErr(err, "canned responses")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (CannedResponse, error) { return scanCanned(r) })
	return out, mapPgErr(err, "canned responses")
}

func (s *TicketRecords) cannedResponse(ctx context.Context, id int64) (CannedResponse, error) {
	c, err := scanCanned(s.primary.QueryRow(ctx, `SELECT `+cannedCols+` FROM canned_responses WHERE id = $1`, id))
	return c, mapPgErr(err, fmt.Sprintf("canned response %d", id))
}

func putCanned(ctx context.Context, q dbtx, c CannedResponse) (CannedResponse, error) {
	what := fmt.Sprintf("canned response /%s (%s)", c.Shortcut, cmp.Or(c.Lang, "any language"))
	if c.ID == 0 {
		out, err := scanCanned(q.QueryRow(ctx, `INSERT INTO canned_responses (owner, shortcut, lang, title, body, updated_by)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+cannedCols, c.Owner, c.Shortcut, c.Lang, c.Title, c.Body, c.UpdatedBy))
		return out, mapPgErr(err, what)
	}
	out, err := scanCanned(q.QueryRow(ctx, `UPDATE canned_responses SET shortcut = $2, lang = $3, title = $4, body = $5,
		updated_by = $6, updated_at = now() WHERE id = $1 RETURNING `+cannedCols, c.ID, c.Shortcut, c.Lang, c.Title, c.Body, c.UpdatedBy))
	return out, mapPgErr(err, what)
}

package gateway

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard-cs/switchboard/tickets/webhooks"
)

// TestWebhookDeliveryLog: an admin reads the delivery log (filtered, paged) and sends a
// failed delivery again; a pending one cannot be, bad parameters are 400s, and no one
// else reads the log.
func TestWebhookDeliveryLog(t *testing.T) {
	in := newInstance(t, newPool(t), "hooks"+strings.ToLower(t.Name()))
	base := in.http.URL
	ada, sam := in.token(t, "ada", RoleAdmin), in.token(t, "sam", RoleSupervisor)
	ids := map[string]int64{}
	for _, st := range []string{"delivered", "failed", "pending"} {
		var id int64
		if err := in.pool.QueryRow(context.Background(), `INSERT INTO webhook_deliveries (endpoint, event_type, event_id, payload, status, attempts)
			VALUES ('crm', 'ticket.created', $1, '{"id": "x"}', $2, 1) RETURNING id`, "audit:"+st, st).Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids[st] = id
	}
	var page struct {
		Deliveries []webhooks.Delivery `json:"deliveries"`
	}
	mustCall(t, 200, base, ada, "GET", "/v1/webhooks/deliveries", nil, &page)
	if len(page.Deliveries) != 3 || page.Deliveries[0].ID != ids["pending"] {
		t.Fatalf("log %+v, want 3, newest first", page.Deliveries)
	}
	mustCall(t, 200, base, ada, "GET", "/v1/webhooks/deliveries?status=failed&endpoint=crm", nil, &page)
	if len(page.Deliveries) != 1 || page.Deliveries[0].ID != ids["failed"] {
		t.Errorf("failed ones: %+v", page.Deliveries)
	}
	mustCall(t, 200, base, ada, "GET", "/v1/webhooks/deliveries?limit=1&before="+strconv.FormatInt(ids["pending"], 10), nil, &page)
	if len(page.Deliveries) != 1 || page.Deliveries[0].ID != ids["failed"] {
		t.Errorf("page before the newest: %+v", page.Deliveries)
	}
	var again webhooks.Delivery
	mustCall(t, 200, base, ada, "POST", "/v1/webhooks/deliveries/"+strconv.FormatInt(ids["failed"], 10)+"/redeliver", nil, &again)
	if again.Status != "pending" || again.Attempts != 0 {
		t.Errorf("redelivered: %+v", again)
	}
	mustCall(t, 409, base, ada, "POST", "/v1/webhooks/deliveries/"+strconv.FormatInt(ids["pending"], 10)+"/redeliver", nil, nil)
	mustCall(t, 404, base, ada, "POST", "/v1/webhooks/deliveries/999999/redeliver", nil, nil)
	mustCall(t, 404, base, ada, "POST", "/v1/webhooks/deliveries/x/redeliver", nil, nil)
	for _, q := range []string{"?limit=0", "?limit=501", "?before=x", "?status=lost"} {
		mustCall(t, 400, base, ada, "GET", "/v1/webhooks/deliveries"+q, nil, nil)
	}
	mustCall(t, 403, base, sam, "GET", "/v1/webhooks/deliveries", nil, nil)
}

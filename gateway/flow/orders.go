package flow

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"text/template"

	"golang.org/x/text/width"

	"github.com/switchboard-cs/switchboard/gateway/pipeline"
)

// OrderLookup finds an order in the company's ERP; serve adapts a connector
// (internal/connector) to it. customerRef is the asking customer (their pseudonymous
// id), whose identity the lookup may send as far as the connector allows. An order
// that does not exist, or is someone else's, is ErrOrderNotFound; any other error is a
// failure of the lookup, and the turn escalates with it.
type OrderLookup interface {
	Order(ctx context.Context, id, customerRef string) (Order, error)
}

// ErrOrderNotFound: the ERP has no order of that number for this customer.
var ErrOrderNotFound = errors.New("order not found")

// Order is what the ERP said of an order: its fields by name (status, carrier, eta, …),
// and whether it is known to be the asking customer's (Verified: the ERP's record named
// one of their identities). Of an order not verified, only the status and the expected
// date are told.
type Order struct {
	ID       string
	Fields   map[string]string
	Verified bool
}

// Order fields an answer may show: what a parcel's status is made of, never a name or an
// address (the answer is stored as the bot's reply). An order not verified as the
// customer's shows only coarseOrderFields.
var (
	orderFields       = []string{"status", "carrier", "tracking", "eta", "items", "shipped_at", "delivered_at"}
	coarseOrderFields = []string{"status", "eta"}
)

// OrderTool answers "where is my order 1234567" from the ERP: the order number (which
// redaction keeps) goes to Lookup, the answer is Answers' template in the customer's
// language over the order's fields ({{.id}}, {{.status}}, …).
type OrderTool struct {
	Lookup OrderLookup
	// Answers and NotFound are templates by language ("en", "zh"); missing ones are the
	// built-in ones (DefaultOrderAnswers).
	Answers  map[string]string
	NotFound map[string]string

	answers, notFound map[string]*template.Template
}

// DefaultOrderAnswers are the built-in answers, by language.
var DefaultOrderAnswers = map[string]string{
	"en": `Order {{.id}} is {{.status}}{{with .carrier}}, with {{.}}{{end}}{{with .tracking}} (tracking {{.}}){{end}}{{with .eta}}; expected {{.}}{{end}}.`,
	"zh": `订单 {{.id}} 的状态：{{.status}}{{with .carrier}}，承运：{{.}}{{end}}{{with .tracking}}（运单号 {{.}}）{{end}}{{with .eta}}，预计 {{.}} 送达{{end}}。`,
}

// DefaultOrderNotFound are the built-in answers for an order the ERP does not have.
var DefaultOrderNotFound = map[string]string{
	"en": `I could not find order {{.id}}. Please check the number; it is on your confirmation email.`,
	"zh": `没有找到订单 {{.id}}，请核对订单号（可在下单确认信息中找到）。`,
}

// Compile parses the templates (the built-in ones where none is given); serve calls it
// at start, so a bad template stops it with the reason.
func (o *OrderTool) Compile() error {
	var err error
	if o.answers, err = compileByLang("orders.answers", o.Answers, DefaultOrderAnswers); err != nil {
		return err
	}
	o.notFound, err = compileByLang("orders.not_found", o.NotFound, DefaultOrderNotFound)
	return err
}

func compileByLang(what string, given, defaults map[string]string) (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	for lang, def := range defaults {
		src := def
		if s, ok := given[lang]; ok && strings.TrimSpace(s) != "" {
			src = s
		}
		t, err := template.New(what + "." + lang).Option("missingkey=zero").Parse(src)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", what, lang, err)
		}
		out[lang] = t
	}
	for lang := range given {
		if _, ok := defaults[lang]; !ok {
			return nil, fmt.Errorf("%s: language %q: en or zh", what, lang)
		}
	}
	return out, nil
}

// English: "order" (with "number", "no.", "#" or "id", and "is") then the number; a
// question about where it is or when it comes. Chinese: 订单(号) then the number, or the
// number then 订单, and 到哪/物流/发货/没收到…. Messages about a refund, a return, a
// cancellation, an address or an invoice are not order-status questions.
var (
	orderRefEN = regexp.MustCompile(`(?i)\border\b(\s+(?:number|no\.?|num|id))?(?:\s+is)?\s*:?\s*(#)?([a-z0-9][a-z0-9-]{3,24})\b`)
	orderRefZH = []*regexp.Regexp{
		regexp.MustCompile(`订单(号码|编号|号)?(?:是|为)?\s*[:：#]?\s*([A-Za-z0-9][A-Za-z0-9-]{3,24})`),
		regexp.MustCompile(`()([0-9][0-9-]{3,24})\s*(?:这个|这笔|的)?订单`),
	}
	orderAskEN  = regexp.MustCompile(`(?i)\b(where|status|track|tracking|when|arrive|arriving|arrived|deliver|delivered|delivery|ship|shipped|shipping|eta|late|update)\b`)
	orderAskZH  = regexp.MustCompile(`到哪|哪里|在哪|物流|状态|发货|到货|送到|什么时候|多久|查询|查一下|查下|进度|快递|没收到|还没到`)
	orderNotEN  = regexp.MustCompile(`(?i)\b(refunds?|return(?:ing|ed)?|cancel(?:led|ling)?|address|invoices?|exchange|receipt)\b|\bto order\b`)
	orderNotZH  = regexp.MustCompile(`退|换货|取消|地址|发票|收据`)
	fourDigits  = regexp.MustCompile(`[0-9].*[0-9].*[0-9].*[0-9]`)
	orderQuoted = "#"
)

// orderQuery is an order-status question: the order's number, whether the message
// named it as one ("order number", "#", 订单号: a strong reference; an unknown order is
// then answered as such, else the knowledge base answers), and its language.
type orderQuery struct {
	id     string
	strong bool
	lang   string
}

// OrderQuery finds the order a message asks about: its number, when the message names
// one (with at least four digits) and asks where it is, its status or when it comes.
func OrderQuery(text string) (string, bool) {
	q, ok := findOrderQuery(text)
	return q.id, ok
}

func findOrderQuery(text string) (orderQuery, bool) {
	text = width.Fold.String(text) // full-width digits and letters as ASCII
	if orderAskEN.MatchString(text) && !orderNotEN.MatchString(text) {
		for _, m := range orderRefEN.FindAllStringSubmatch(text, -1) {
			if fourDigits.MatchString(m[3]) {
				return orderQuery{id: strings.ToUpper(m[3]), strong: m[1] != "" || m[2] == orderQuoted, lang: "en"}, true
			}
		}
	}
	if orderAskZH.MatchString(text) && !orderNotZH.MatchString(text) {
		for _, re := range orderRefZH {
			for _, m := range re.FindAllStringSubmatch(text, -1) {
				if fourDigits.MatchString(m[2]) {
					return orderQuery{id: strings.ToUpper(m[2]), strong: m[1] != "", lang: "zh"}, true
				}
			}
		}
	}
	return orderQuery{}, false
}

// answer writes the reply to an order (or its absence) in the customer's language, over
// the fields an answer may show.
func (o *OrderTool) answer(byLang map[string]*template.Template, lang, id string, fields map[string]string, shown []string) (string, error) {
	t, ok := byLang[lang]
	if !ok {
		t = byLang["en"]
	}
	data := map[string]string{}
	for _, k := range shown {
		if v, ok := fields[k]; ok {
			data[k] = v
		}
	}
	data["id"] = id
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	return strings.TrimSpace(b.String()), nil
}

// orderStage answers a question about an order from the ERP. A lookup that fails (the
// ERP down, slow or answering nonsense, its circuit open) leaves the turn to escalate
// with what failed; an unknown order is answered when the message named it as an order
// number, else the knowledge base answers the message.
func orderStage(tool *OrderTool) pipeline.Stage {
	return pipeline.StageFunc(func(ctx context.Context, t *pipeline.Turn) error {
		q, ok := findOrderQuery(t.Text)
		if !ok {
			return nil
		}
		lang := cmp.Or(t.Language, q.lang)
		o, err := tool.Lookup.Order(ctx, q.id, t.CustomerRef)
		var reply string
		switch {
		case errors.Is(err, ErrOrderNotFound) && !q.strong:
			return nil // perhaps not an order number after all
		case errors.Is(err, ErrOrderNotFound):
			reply, err = tool.answer(tool.notFound, lang, q.id, nil, nil)
		case err == nil:
			shown := coarseOrderFields
			if o.Verified {
				shown = orderFields
			}
			reply, err = tool.answer(tool.answers, lang, q.id, o.Fields, shown)
		default:
			t.ToolFailure = fmt.Sprintf("order %s: %v", q.id, err)
			return nil
		}
		if err != nil {
			t.ToolFailure = fmt.Sprintf("order %s: answer template: %v", q.id, err)
			return nil
		}
		t.Reply, t.Citations, t.Confidence, t.ToolAnswered = reply, nil, 1, true
		if t.Intent == "" || t.IntentConfidence < 0.5 {
			t.Intent, t.IntentConfidence = "order_status", 1
		}
		return nil
	})
}

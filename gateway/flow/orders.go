package flow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"text/template"
	"unicode"

	"github.com/switchboard-cs/switchboard/gateway/pipeline"
)

// OrderLookup finds an order in the company's ERP; serve adapts a connector
// (internal/connector) to it. An order that does not exist is ErrOrderNotFound; any
// other error is a failure of the lookup, and the turn escalates with it.
type OrderLookup interface {
	Order(ctx context.Context, id string) (Order, error)
}

// ErrOrderNotFound: the ERP has no order of that number.
var ErrOrderNotFound = errors.New("order not found")

// Order is what the ERP said of an order: its fields by name (status, carrier, eta, …).
type Order struct {
	ID     string
	Fields map[string]string
}

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

// English: "order" (with "number", "no.", "#" or "id") then the number; a question about
// where it is or when it comes. Chinese: 订单(号) then the number, and 到哪/物流/发货….
var (
	orderRefEN = regexp.MustCompile(`(?i)\border\b(?:\s+(?:number|no\.?|num|id))?\s*[:#]?\s*#?([a-z0-9][a-z0-9-]{4,24})\b`)
	orderRefZH = regexp.MustCompile(`订单(?:号|编号)?\s*[:：#]?\s*([A-Za-z0-9][A-Za-z0-9-]{4,24})`)
	orderAskEN = regexp.MustCompile(`(?i)\b(where|status|track|tracking|when|arrive|arriving|arrived|deliver|delivered|delivery|ship|shipped|shipping|eta|late|update)\b`)
	orderAskZH = regexp.MustCompile(`到哪|哪里|在哪|物流|状态|发货|到货|送到|什么时候|多久|查询|查一下|查下|进度|快递`)
)

// OrderQuery finds the order a message asks about: its number, when the message names
// one (with at least four digits) and asks where it is, its status or when it comes.
func OrderQuery(text string) (string, bool) {
	for _, p := range []struct{ ref, ask *regexp.Regexp }{{orderRefEN, orderAskEN}, {orderRefZH, orderAskZH}} {
		m := p.ref.FindStringSubmatch(text)
		if m == nil || !p.ask.MatchString(text) {
			continue
		}
		digits := 0
		for _, r := range m[1] {
			if unicode.IsDigit(r) {
				digits++
			}
		}
		if digits >= 4 {
			return strings.ToUpper(m[1]), true
		}
	}
	return "", false
}

// answer writes the reply to an order (or its absence) in the customer's language.
func (o *OrderTool) answer(byLang map[string]*template.Template, lang, id string, fields map[string]string) (string, error) {
	t, ok := byLang[lang]
	if !ok {
		t = byLang["en"]
	}
	data := map[string]string{}
	for k, v := range fields {
		data[k] = v
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
// with what failed; an unknown order is answered, not escalated.
func orderStage(tool *OrderTool) pipeline.Stage {
	return pipeline.StageFunc(func(ctx context.Context, t *pipeline.Turn) error {
		id, ok := OrderQuery(t.Text)
		if !ok {
			return nil
		}
		o, err := tool.Lookup.Order(ctx, id)
		var reply string
		switch {
		case errors.Is(err, ErrOrderNotFound):
			reply, err = tool.answer(tool.notFound, t.Language, id, nil)
		case err == nil:
			reply, err = tool.answer(tool.answers, t.Language, id, o.Fields)
		default:
			t.ToolFailure = fmt.Sprintf("order %s: %v", id, err)
			return nil
		}
		if err != nil {
			t.ToolFailure = fmt.Sprintf("order %s: answer template: %v", id, err)
			return nil
		}
		t.Reply, t.Citations, t.Confidence, t.ToolAnswered = reply, nil, 1, true
		if t.Intent == "" || t.IntentConfidence < 0.5 {
			t.Intent, t.IntentConfidence = "order_status", 1
		}
		return nil
	})
}

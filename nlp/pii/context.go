package pii

import (
	"strings"
	"unicode/utf8"
)

// Context rules reject numbers whose surroundings say they are not personal data: a label
// naming an order or other business number right before ("订单号：6222…", "Order #…"), a
// currency before ("¥13812345678") or a currency unit after ("13812345678元").

// contextWindow is how many bytes around a candidate the rules look at.
const contextWindow = 48

// nonPersonalLabels end the text before a number that is an order, invoice, tracking or
// similar business number. Matching is on lower-cased text with trailing punctuation
// such as "：", "#" and "是" removed.
var nonPersonalLabels = []string{
	"订单号", "订单编号", "订单", "单号", "流水号", "交易号", "工单号", "发票号", "合同号",
	"快递号", "物流号", "批次号", "货号", "商品编号", "序列号", "编号", "订单号码",
	"order", "order no", "order number", "order id", "invoice", "invoice no",
	"invoice number", "tracking", "tracking no", "tracking number", "ref", "reference",
	"transaction", "transaction id", "serial", "serial no", "sku",
}

// labelPunct is stripped from the end of the preceding text before matching a label.
const labelPunct = " \t\u00a0\u3000:：#＃=＝.。是为(（\"'“”‘’-"

// currencyBefore are symbols and codes of a currency written before an amount.
var currencyBefore = []string{"¥", "￥", "$", "＄", "€", "£", "rmb", "cny", "usd", "hkd", "eur"}

// unitsAfter are currency units written after an amount.
var unitsAfter = []string{"元", "块", "圆", "万", "亿", "美元", "港币", "rmb", "cny", "usd", "yuan", "dollars"}

// blanks are the spaces between a number and a currency before or a unit after it.
const blanks = " \t\u00a0\u3000"

// rejectedByContext applies the context rules to the candidate text[start:end]: a label
// ends the window before it (after punctuation and a copula are taken off: "my order
// number is 0244…"), a currency right before, a unit right after.
func (sc *scan) rejectedByContext(text string, start, end int) bool {
	low := sc.lowered(text)
	lo := start - len(tail(text[:start], contextWindow))
	p := trimLeftOf(low, lo, start, labelPunct)
	for _, copula := range []string{" is", " was", " are"} {
		if strings.HasSuffix(low[lo:p], copula) {
			p = trimLeftOf(low, lo, p-len(copula), labelPunct)
			break
		}
	}
	if sc.cueEndingAt(text, cueLabel, lo, p) || sc.cueEndingAt(text, cueCurrency, lo, trimLeftOf(low, lo, start, blanks)) {
		return true
	}
	hi := end + len(head(text[end:], contextWindow))
	return sc.cueStartingAt(text, cueUnit, trimRightOf(low, end, hi, blanks), hi)
}

func isASCIILetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

// tail returns at most the last n bytes of s, starting on a rune boundary.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := len(s) - n
	for i < len(s) && !utf8.RuneStart(s[i]) {
		i++
	}
	return s[i:]
}

// head returns at most the first n bytes of s, ending on a rune boundary.
func head(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

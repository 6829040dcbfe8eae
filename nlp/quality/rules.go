// Package quality inspects human agents' replies (智能质检): a reply's text is checked
// against a skill group's rules — a greeting in the first reply and a closing in the
// last, empathy, promises the company may not keep, rude or dismissive wording, a
// customer's personal data typed out, length — in English and Chinese, and scored. It
// computes only; the ticket core stores the findings and aggregates them per
// conversation and agent.
package quality

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Phrases are a rule's cues per language. English cues match whole words, case
// insensitive; Chinese cues match as written.
type Phrases struct {
	EN []string `yaml:"en"`
	ZH []string `yaml:"zh"`
}

// Rules is one rule set: the cues of each check, the length bounds and the weight
// each finding takes off a reply's score (out of 100).
type Rules struct {
	Greeting Phrases `yaml:"greeting"`
	Closing  Phrases `yaml:"closing"`
	Empathy  Phrases `yaml:"empathy"`
	// Promises are commitments the company may not keep ("I guarantee", "保证"); a cue
	// with a negation just before it ("I can't guarantee", "无法保证") is not one.
	Promises Phrases `yaml:"promises"`
	// Rude are rude, blaming or dismissive phrases; Forbidden are words an operator bans
	// outright (a competitor's name, internal jargon). Both are findings wherever they are.
	Rude      Phrases `yaml:"rude"`
	Forbidden Phrases `yaml:"forbidden"`
	// Negations are the cues that turn a promise cue into a hedge when they come within
	// a few words (English) or characters (Chinese) before it.
	Negations Phrases `yaml:"negations"`
	// MinRunes and MaxRunes bound a reply's length (0: no bound).
	MinRunes int `yaml:"min_runes"`
	MaxRunes int `yaml:"max_runes"`
	// Weights is what each finding (a Check name) takes off, or adds to, the score.
	Weights map[Check]int `yaml:"weights"`
}

// Check names one rule's finding.
type Check string

// The checks, in the order findings are reported.
const (
	MissingGreeting Check = "missing_greeting" // the first reply does not greet
	MissingClosing  Check = "missing_closing"  // the last reply does not close
	Empathy         Check = "empathy"          // acknowledges the customer's trouble (adds to the score)
	Promise         Check = "promise"
	Rude            Check = "rude"
	Forbidden       Check = "forbidden"
	PII             Check = "pii" // a customer's personal data typed out
	TooShort        Check = "too_short"
	TooLong         Check = "too_long"
)

// Checks lists every check.
var Checks = []Check{MissingGreeting, MissingClosing, Empathy, Promise, Rude, Forbidden, PII, TooShort, TooLong}

// DefaultRules are the built-in rules: cues of customer service in both languages.
func DefaultRules() Rules {
	return Rules{
		Greeting: Phrases{
			EN: []string{"hello", "hi", "hey", "good morning", "good afternoon", "good evening", "greetings", "welcome",
				"thanks for contacting", "thank you for contacting", "thanks for reaching out", "thank you for reaching out",
				"thanks for getting in touch", "thank you for getting in touch", "thank you for calling", "thanks for calling",
				"my name is", "you're speaking with", "you are speaking with", "you're chatting with", "you are chatting with"},
			ZH: []string{"您好", "你好", "亲，", "亲,", "亲~", "亲～", "亲亲", "亲 ", "早上好", "上午好", "中午好", "下午好", "晚上好",
				"欢迎", "很高兴为您服务", "很高兴为你服务", "竭诚为您服务", "我是客服", "客服小", "工号", "感谢您的来电", "感谢您联系"},
		},
		Closing: Phrases{
			EN: []string{"anything else", "is there anything", "have a great", "have a good", "have a nice", "have a wonderful",
				"have a lovely", "goodbye", "good bye", "bye", "take care", "thank you for contacting", "thanks for contacting",
				"thank you for choosing", "thanks for choosing", "glad i could help", "happy to help", "glad to help",
				"feel free to reach out", "feel free to contact", "don't hesitate to", "do not hesitate to", "enjoy your",
				"thanks for your patience today", "thank you for your time"},
			ZH: []string{"还有其他", "还有什么", "其他问题", "其它问题", "祝您", "祝你", "生活愉快", "再见", "拜拜", "感谢您的支持",
				"感谢您的耐心", "欢迎再次", "欢迎下次", "随时联系", "随时找我", "有问题随时", "期待再次", "期待下次", "感谢您的来电",
				"感谢您的咨询", "感谢您选择", "满意的话", "评价"},
		},
		Empathy: Phrases{
			EN: []string{"i understand", "i completely understand", "i totally understand", "i can understand", "i fully understand",
				"understand how", "understand your", "sorry for the", "sorry about the", "sorry to hear", "sorry for any",
				"sorry that you", "sorry you've", "sorry you have", "apologize for", "apologise for", "apologies for",
				"my apologies", "we apologize", "we apologise", "i apologize", "i apologise", "sincere apologies",
				"so sorry", "really sorry", "very sorry", "truly sorry", "how frustrating", "must be frustrating",
				"must have been", "that must be", "i know how", "i can imagine", "i hear you", "inconvenience"},
			ZH: []string{"理解您", "理解你", "非常理解", "能理解", "明白您的", "抱歉", "歉意", "对不起", "不便", "让您久等",
				"让您等待", "您久等了", "辛苦您", "体谅", "着急", "心情", "委屈", "给您添麻烦", "给您带来"},
		},
		Promises: Phrases{
			EN: []string{"guarantee", "guaranteed", "guarantees", "i promise", "we promise", "i assure you", "we assure you",
				"100%", "100 percent", "definitely will", "will definitely", "definitely be", "definitely get", "definitely arrive",
				"for sure", "absolutely will", "will absolutely", "certainly will", "will certainly", "without fail",
				"no matter what", "you have my word"},
			ZH: []string{"保证", "肯定会", "肯定能", "肯定可以", "肯定给", "绝对", "一定会", "一定能", "一定可以", "一定给", "一定到",
				"一定退", "百分之百", "100%", "包您", "包你", "承诺", "打包票"},
		},
		Rude: Phrases{
			EN: []string{"your problem", "your fault", "not my problem", "not our problem", "read the faq", "read the manual",
				"read the instructions", "read the description", "are you even", "did you even", "can't you read",
				"calm down", "stupid", "idiot", "dumb", "whatever", "i already told you", "i've already told you",
				"as i said", "like i said", "as i already said", "deal with it", "not my job", "stop wasting",
				"figure it out", "is that so hard", "how many times", "ridiculous", "nonsense", "shut up", "get lost",
				"take it or leave it", "not my concern", "go complain", "pay attention", "use your brain"},
			ZH: []string{"你自己看", "自己去看", "自己看", "这都不会", "这都不懂", "爱买不买", "爱要不要", "烦不烦", "我说了",
				"我都说了", "说过了", "说了多少遍", "听不懂", "跟你说了", "有病", "活该", "你自己的问题", "关我什么事",
				"关我啥事", "随便你", "爱咋咋", "别问了", "别烦", "看不懂吗", "能不能看清楚", "不会看吗", "你懂不懂", "笨",
				"傻", "找别人去", "不归我管", "我也没办法，你", "投诉也没用", "你想怎样"},
		},
		Negations: Phrases{
			EN: []string{"not", "can't", "cannot", "can not", "cant", "won't", "wont", "don't", "dont", "do not",
				"unable to", "never", "no", "isn't", "aren't", "couldn't", "wouldn't", "without", "nor"},
			ZH: []string{"无法", "不能", "不敢", "没法", "没办法", "不可以", "难以", "不好", "不", "没有", "未", "别"},
		},
		MinRunes: 2,
		MaxRunes: 800,
		Weights: map[Check]int{MissingGreeting: 10, MissingClosing: 10, Empathy: -5, Promise: 20, Rude: 40,
			Forbidden: 20, PII: 30, TooShort: 5, TooLong: 5},
	}
}

// RuleSet is a deployment's rules: the default set and, per skill group, the sets
// that replace it there.
type RuleSet struct {
	Default Rules            `yaml:"default"`
	Groups  map[string]Rules `yaml:"groups"`
}

// For returns the rules of a skill group (the default ones for a group without its own).
func (s RuleSet) For(group string) Rules {
	if r, ok := s.Groups[group]; ok {
		return r
	}
	return s.Default
}

// ParseRuleSet reads a rule set from YAML. Each set (the default one, and each group's)
// starts from DefaultRules: a list of cues the YAML gives replaces the built-in one, a
// weight it gives replaces that check's. Unknown keys, unknown checks in weights, empty
// cues and inverted length bounds are errors.
func ParseRuleSet(data []byte) (RuleSet, error) {
	var raw struct {
		Default yaml.Node            `yaml:"default"`
		Groups  map[string]yaml.Node `yaml:"groups"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil {
		return RuleSet{}, fmt.Errorf("quality rules: %w", err)
	}
	set := RuleSet{Default: DefaultRules(), Groups: map[string]Rules{}}
	if err := decodeOver(&raw.Default, &set.Default, "default"); err != nil {
		return RuleSet{}, err
	}
	for name, node := range raw.Groups {
		r := DefaultRules()
		if err := decodeOver(&node, &r, "groups."+name); err != nil {
			return RuleSet{}, err
		}
		set.Groups[name] = r
	}
	return set, nil
}

// decodeOver decodes node over r (fields it names replace r's) and validates the result.
func decodeOver(node *yaml.Node, r *Rules, where string) error {
	if node.Kind != 0 {
		weights := r.Weights
		r.Weights = nil
		b, err := yaml.Marshal(node)
		if err != nil {
			return fmt.Errorf("quality rules: %s: %w", where, err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(r); err != nil {
			return fmt.Errorf("quality rules: %s: %w", where, err)
		}
		for c, w := range r.Weights {
			weights[c] = w
		}
		r.Weights = weights
	}
	for c := range r.Weights {
		if !slices.Contains(Checks, c) {
			return fmt.Errorf("quality rules: %s.weights: unknown check %q (known: %v)", where, c, Checks)
		}
	}
	for _, p := range []Phrases{r.Greeting, r.Closing, r.Empathy, r.Promises, r.Rude, r.Forbidden, r.Negations} {
		for _, cue := range append(slices.Clone(p.EN), p.ZH...) {
			if strings.TrimSpace(cue) == "" {
				return fmt.Errorf("quality rules: %s: an empty cue", where)
			}
		}
	}
	if r.MinRunes < 0 || r.MaxRunes < 0 || (r.MaxRunes > 0 && r.MinRunes > r.MaxRunes) {
		return fmt.Errorf("quality rules: %s: min_runes %d and max_runes %d: want 0 ≤ min ≤ max (0: no bound)", where, r.MinRunes, r.MaxRunes)
	}
	return nil
}

// Package wecom is the WeCom (企业微信) self-built app channel: encrypted XML callbacks
// in (signed, with a 5-minute replay window), message/send out, voice notes and photos
// fetched by media_id.
package wecom

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-cs/switchboard/gateway/channel"
	"github.com/switchboard-cs/switchboard/gateway/pipeline"
)

// Kind registers the channel: settings corp_id, agent_id, secret, token (on when set),
// encoding_aes_key and api_base. Its path also answers WeCom's URL verification (GET).
var Kind = channel.Kind{Name: "wecom", Methods: []string{http.MethodGet, http.MethodPost},
	Open: func(s channel.Settings, client *http.Client) (channel.Channel, error) {
		if s["token"] == "" {
			return nil, nil
		}
		return New(s["corp_id"], s["agent_id"], s["secret"], s["token"], s["encoding_aes_key"], s["api_base"], client)
	}}

// Channel is one WeCom app.
type Channel struct {
	CorpID, AgentID, Secret string // API credentials
	APIBase                 string // https://qyapi.weixin.qq.com
	Client                  *http.Client
	Now                     func() time.Time // the clock callbacks' timestamps are checked against (nil: time.Now)
	crypt                   *crypt

	mu      sync.Mutex
	token   string
	expires time.Time
}

// New configures the channel; token and encodingAESKey are the callback settings of the
// app.
func New(corpID, agentID, secret, token, encodingAESKey, apiBase string, client *http.Client) (*Channel, error) {
	c, err := newCrypt(token, encodingAESKey, corpID)
	if err != nil {
		return nil, err
	}
	return &Channel{CorpID: corpID, AgentID: agentID, Secret: secret, APIBase: strings.TrimRight(apiBase, "/"),
		Client: channel.Client(client), crypt: c}, nil
}

// Name is "wecom".
func (*Channel) Name() string { return Kind.Name }

// Seal encrypts a message as WeCom does (tests and passive replies use it) and returns
// the Encrypt value with its msg_signature.
func (wc *Channel) Seal(msg []byte, timestamp, nonce string) (encrypted, signature string, err error) {
	encrypted, err = wc.crypt.encrypt(msg)
	return encrypted, wc.crypt.signature(timestamp, nonce, encrypted), err
}

// Sign is the msg_signature of a callback carrying encrypted at timestamp with nonce.
func (wc *Channel) Sign(timestamp, nonce, encrypted string) string {
	return wc.crypt.signature(timestamp, nonce, encrypted)
}

type envelope struct {
	Encrypt string `xml:"Encrypt"`
}

type message struct {
	FromUserName string `xml:"FromUserName"`
	MsgType      string `xml:"MsgType"`
	Content      string `xml:"Content"`
	MsgID        string `xml:"MsgId"`
	MediaID      string `xml:"MediaId"`
	Format       string `xml:"Format"`
}

type address struct {
	ToUser string `json:"touser"`
}

// maxSkew is how far a callback's signed timestamp may be from the clock: an older one is
// a replay (as Slack's and the generic webhook's windows).
const maxSkew = 5 * time.Minute

// verify checks a callback's signature, then that its timestamp is fresh.
func (wc *Channel) verify(sig, timestamp, nonce, encrypted string) error {
	if err := wc.crypt.verify(sig, timestamp, nonce, encrypted); err != nil {
		return err
	}
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: WeCom timestamp missing or not unix seconds", channel.ErrUnauthenticated)
	}
	now := time.Now
	if wc.Now != nil {
		now = wc.Now
	}
	if d := now().Sub(time.Unix(sec, 0)); d > maxSkew || d < -maxSkew {
		return fmt.Errorf("%w: WeCom timestamp is %s off (more than 5 minutes): a replay?", channel.ErrUnauthenticated, d.Round(time.Second))
	}
	return nil
}

// emptyOK is WeCom's acknowledgement: an empty answer (replies go out through
// message/send).
var emptyOK = channel.Response{Status: http.StatusOK, ContentType: "text/plain; charset=utf-8"}

// Ack answers an empty 200.
func (*Channel) Ack([]*pipeline.Turn) channel.Response { return emptyOK }

// Receive answers WeCom's URL verification (GET with echostr) and reads callbacks (POST):
// a user's text, voice note or image.
func (wc *Channel) Receive(r *http.Request) (channel.Delivery, error) {
	q := r.URL.Query()
	if r.Method == http.MethodGet {
		echo := q.Get("echostr")
		if err := wc.verify(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), echo); err != nil {
			return channel.Delivery{}, err
		}
		msg, err := wc.crypt.decrypt(echo)
		if err != nil {
			return channel.Delivery{}, fmt.Errorf("%w: %v", channel.ErrBadRequest, err)
		}
		return channel.Delivery{Answer: &channel.Response{Status: http.StatusOK, ContentType: "text/plain; charset=utf-8", Body: msg}}, nil
	}
	var env envelope
	if err := xml.NewDecoder(r.Body).Decode(&env); err != nil || env.Encrypt == "" {
		return channel.Delivery{}, fmt.Errorf("%w: WeCom callback: an <Encrypt> element is required", channel.ErrBadRequest)
	}
	if err := wc.verify(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), env.Encrypt); err != nil {
		return channel.Delivery{}, err
	}
	plain, err := wc.crypt.decrypt(env.Encrypt)
	if err != nil {
		return channel.Delivery{}, fmt.Errorf("%w: %v", channel.ErrBadRequest, err)
	}
	var m message
	if err := xml.Unmarshal(plain, &m); err != nil || m.FromUserName == "" {
		return channel.Delivery{}, fmt.Errorf("%w: WeCom message XML", channel.ErrBadRequest)
	}
	t := &pipeline.Turn{Channel: Kind.Name, ChannelMessageID: m.MsgID, CustomerRef: "wecom:" + wc.CorpID + ":" + m.FromUserName,
		Region: "CN"}
	t.Thread = "app:" + wc.AgentID
	t.ReplyTo, _ = json.Marshal(address{ToUser: m.FromUserName})
	switch m.MsgType {
	case "text":
		if strings.TrimSpace(m.Content) == "" {
			return channel.Delivery{Answer: &emptyOK}, nil // nothing was said: nothing to answer
		}
		t.Parts = []pipeline.Part{{Kind: pipeline.PartText, Text: m.Content}}
	case "voice":
		t.Parts = []pipeline.Part{{Kind: pipeline.PartAudio, MIME: "audio/amr", Ref: m.MediaID}}
	case "image":
		t.Parts = []pipeline.Part{{Kind: pipeline.PartImage, MIME: "image/jpeg", Ref: m.MediaID}}
	default:
		return channel.Delivery{Answer: &emptyOK}, nil // events and other types: nothing to answer
	}
	if t.ChannelMessageID == "" {
		return channel.Delivery{}, fmt.Errorf("%w: WeCom message without MsgId", channel.ErrBadRequest)
	}
	return channel.Delivery{Turns: []*pipeline.Turn{t}}, nil
}

// Send delivers text with message/send, fetching and caching the access token.
func (wc *Channel) Send(ctx context.Context, replyTo json.RawMessage, text string) error {
	var addr address
	if err := json.Unmarshal(replyTo, &addr); err != nil || addr.ToUser == "" {
		return fmt.Errorf("wecom: reply address %s: no touser", replyTo)
	}
	tok, err := wc.accessToken(ctx)
	if err != nil {
		return err
	}
	var res struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	msg := map[string]any{"touser": addr.ToUser, "msgtype": "text", "agentid": wc.AgentID, "text": map[string]string{"content": text}}
	if err := channel.PostJSON(ctx, wc.Client, wc.APIBase+"/cgi-bin/message/send?access_token="+url.QueryEscape(tok), nil, msg, &res); err != nil {
		return fmt.Errorf("wecom: %w", err)
	}
	if res.ErrCode != 0 {
		if res.ErrCode == 40014 || res.ErrCode == 42001 { // invalid or expired token: fetch anew next time
			wc.ExpireToken()
		}
		return fmt.Errorf("wecom: message/send: %d %s", res.ErrCode, res.ErrMsg)
	}
	return nil
}

// FetchMedia downloads a temporary medium by media_id (media/get).
func (wc *Channel) FetchMedia(ctx context.Context, ref string, max int64) ([]byte, error) {
	tok, err := wc.accessToken(ctx)
	if err != nil {
		return nil, err
	}
	u := wc.APIBase + "/cgi-bin/media/get?access_token=" + url.QueryEscape(tok) + "&media_id=" + url.QueryEscape(ref)
	resp, data, err := channel.Get(ctx, wc.Client, u, max)
	if err != nil {
		return nil, fmt.Errorf("wecom: media/get: %w", err)
	}
	// errors come back as JSON instead of the file
	if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/json") || strings.HasPrefix(ct, "text/plain") {
		var e struct {
			ErrCode int    `json:"errcode"`
			ErrMsg  string `json:"errmsg"`
		}
		if json.Unmarshal(data, &e) == nil && e.ErrCode != 0 {
			return nil, fmt.Errorf("wecom: media/get: %d %s", e.ErrCode, e.ErrMsg)
		}
	}
	return data, nil
}

// ExpireToken drops the cached access token: the next call asks gettoken for a new one.
func (wc *Channel) ExpireToken() {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	wc.token = ""
}

func (wc *Channel) accessToken(ctx context.Context) (string, error) {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	if wc.token != "" && time.Now().Before(wc.expires) {
		return wc.token, nil
	}
	u := wc.APIBase + "/cgi-bin/gettoken?corpid=" + url.QueryEscape(wc.CorpID) + "&corpsecret=" + url.QueryEscape(wc.Secret)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("wecom: gettoken: %w", channel.RedactErr(err))
	}
	resp, err := wc.Client.Do(req)
	if err != nil {
		return "", fmt.Errorf("wecom: gettoken: %w", channel.RedactErr(err))
	}
	defer resp.Body.Close()
	var res struct {
		ErrCode     int    `json:"errcode"`
		ErrMsg      string `json:"errmsg"`
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || res.ErrCode != 0 || res.AccessToken == "" {
		return "", fmt.Errorf("wecom: gettoken: %d %s (%v)", res.ErrCode, res.ErrMsg, channel.RedactErr(err))
	}
	wc.token = res.AccessToken
	wc.expires = time.Now().Add(time.Duration(res.ExpiresIn)*time.Second - time.Minute)
	return wc.token, nil
}

package gateway

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

	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/gateway/pipeline"
)

// WeCom is the WeCom (企业微信) self-built app channel: encrypted XML
// callbacks in, message/send out.
type WeCom struct {
	CorpID, AgentID, Secret string // API credentials
	APIBase                 string // https://qyapi.weixin.qq.com
	Client                  *http.Client
	Now                     func() time.Time // the clock callbacks' timestamps are checked against (nil: time.Now)
	crypt                   *wecomCrypt

	mu      sync.Mutex
	token   string
	expires time.Time
}

// NewWeCom configures the channel; token and encodingAESKey are the
// callback settings of the app.
func NewWeCom(corpID, agentID, secret, token, encodingAESKey, apiBase string, client *http.Client) (*WeCom, error) {
	c, err := newWeComCrypt(token, encodingAESKey, corpID)
	if err != nil {
		return nil, err
	}
	if client == nil {
		client = http.DefaultClient
	}
	return &WeCom{CorpID: corpID, AgentID: agentID, Secret: secret, APIBase: strings.TrimRight(apiBase, "/"), Client: client, crypt: c}, nil
}

// Seal encrypts a message as WeCom does (tests and passive replies use it)
// and returns the Encrypt value with its msg_signature.
func (wc *WeCom) Seal(msg []byte, timestamp, nonce string) (encrypted, signature string, err error) {
	encrypted, err = wc.crypt.encrypt(msg)
	return encrypted, wc.crypt.signature(timestamp, nonce, encrypted), err
}

type wecomEnvelope struct {
	Encrypt string `xml:"Encrypt"`
}

type wecomMessage struct {
	FromUserName string `xml:"FromUserName"`
	MsgType      string `xml:"MsgType"`
	Content      string `xml:"Content"`
	MsgID        string `xml:"MsgId"`
	MediaID      string `xml:"MediaId"`
	Format       string `xml:"Format"`
}

type wecomAddress struct {
	ToUser string `json:"touser"`
}

// wecomMaxSkew is how far a callback's signed timestamp may be from the clock:
// an older one is a replay (as Slack's and the generic webhook's windows).
const wecomMaxSkew = 5 * time.Minute

// verify checks a callback's signature, then that its timestamp is fresh.
func (wc *WeCom) verify(sig, timestamp, nonce, encrypted string) error {
	if err := wc.crypt.verify(sig, timestamp, nonce, encrypted); err != nil {
		return err
	}
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: WeCom timestamp missing or not unix seconds", errUnauthenticated)
	}
	now := time.Now
	if wc.Now != nil {
		now = wc.Now
	}
	if d := now().Sub(time.Unix(sec, 0)); d > wecomMaxSkew || d < -wecomMaxSkew {
		return fmt.Errorf("%w: WeCom timestamp is %s off (more than 5 minutes): a replay?", errUnauthenticated, d.Round(time.Second))
	}
	return nil
}

// wecomVerify answers WeCom's URL verification (GET with echostr).
func (s *Server) wecomVerify(c *gin.Context) {
	wc := s.opts.WeCom
	if wc == nil {
		s.fail(c, errChannelOff)
		return
	}
	echo := c.Query("echostr")
	if err := wc.verify(c.Query("msg_signature"), c.Query("timestamp"), c.Query("nonce"), echo); err != nil {
		s.fail(c, err)
		return
	}
	msg, err := wc.crypt.decrypt(echo)
	if err != nil {
		s.fail(c, fmt.Errorf("%w: %v", errBadRequest, err))
		return
	}
	c.Data(http.StatusOK, "text/plain; charset=utf-8", msg)
}

func (s *Server) wecomCallback(c *gin.Context) {
	wc := s.opts.WeCom
	if wc == nil {
		s.fail(c, errChannelOff)
		return
	}
	var env wecomEnvelope
	if err := xml.NewDecoder(c.Request.Body).Decode(&env); err != nil || env.Encrypt == "" {
		s.fail(c, fmt.Errorf("%w: WeCom callback: an <Encrypt> element is required", errBadRequest))
		return
	}
	if err := wc.verify(c.Query("msg_signature"), c.Query("timestamp"), c.Query("nonce"), env.Encrypt); err != nil {
		s.fail(c, err)
		return
	}
	plain, err := wc.crypt.decrypt(env.Encrypt)
	if err != nil {
		s.fail(c, fmt.Errorf("%w: %v", errBadRequest, err))
		return
	}
	var m wecomMessage
	if err := xml.Unmarshal(plain, &m); err != nil || m.FromUserName == "" {
		s.fail(c, fmt.Errorf("%w: WeCom message XML", errBadRequest))
		return
	}
	t := &pipeline.Turn{Channel: "wecom", ChannelMessageID: m.MsgID, CustomerRef: "wecom:" + wc.CorpID + ":" + m.FromUserName}
	t.Thread = "app:" + wc.AgentID
	t.ReplyTo, _ = json.Marshal(wecomAddress{ToUser: m.FromUserName})
	switch m.MsgType {
	case "text":
		if strings.TrimSpace(m.Content) == "" {
			c.String(http.StatusOK, "") // nothing was said: nothing to answer
			return
		}
		t.Parts = []pipeline.Part{{Kind: pipeline.PartText, Text: m.Content}}
	case "voice":
		t.Parts = []pipeline.Part{{Kind: pipeline.PartAudio, MIME: "audio/amr", Ref: m.MediaID}}
	case "image":
		t.Parts = []pipeline.Part{{Kind: pipeline.PartImage, MIME: "image/jpeg", Ref: m.MediaID}}
	default:
		c.String(http.StatusOK, "") // events and other types: nothing to answer
		return
	}
	if t.ChannelMessageID == "" {
		s.fail(c, fmt.Errorf("%w: WeCom message without MsgId", errBadRequest))
		return
	}
	if s.ingest(c, t) {
		c.String(http.StatusOK, "") // an empty answer: the reply goes out through message/send
	}
}

// Send delivers text with message/send, fetching and caching the access token.
func (wc *WeCom) Send(ctx context.Context, replyTo json.RawMessage, text string) error {
	var addr wecomAddress
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
	if err := postJSON(ctx, wc.Client, wc.APIBase+"/cgi-bin/message/send?access_token="+url.QueryEscape(tok), nil, msg, &res); err != nil {
		return fmt.Errorf("wecom: %w", err)
	}
	if res.ErrCode != 0 {
		if res.ErrCode == 40014 || res.ErrCode == 42001 { // invalid or expired token: fetch anew next time
			wc.mu.Lock()
			wc.token = ""
			wc.mu.Unlock()
		}
		return fmt.Errorf("wecom: message/send: %d %s", res.ErrCode, res.ErrMsg)
	}
	return nil
}

func (wc *WeCom) accessToken(ctx context.Context) (string, error) {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	if wc.token != "" && time.Now().Before(wc.expires) {
		return wc.token, nil
	}
	u := wc.APIBase + "/cgi-bin/gettoken?corpid=" + url.QueryEscape(wc.CorpID) + "&corpsecret=" + url.QueryEscape(wc.Secret)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("wecom: gettoken: %w", redactErr(err))
	}
	resp, err := wc.Client.Do(req)
	if err != nil {
		return "", fmt.Errorf("wecom: gettoken: %w", redactErr(err))
	}
	defer resp.Body.Close()
	var res struct {
		ErrCode     int    `json:"errcode"`
		ErrMsg      string `json:"errmsg"`
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || res.ErrCode != 0 || res.AccessToken == "" {
		return "", fmt.Errorf("wecom: gettoken: %d %s (%v)", res.ErrCode, res.ErrMsg, redactErr(err))
	}
	wc.token = res.AccessToken
	wc.expires = time.Now().Add(time.Duration(res.ExpiresIn)*time.Second - time.Minute)
	return wc.token, nil
}

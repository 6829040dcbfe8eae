package connector

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Default HMAC header names and the signature version prefix.
const (
	DefaultSignatureHeader = "X-Switchboard-Signature"
	DefaultTimestampHeader = "X-Switchboard-Timestamp"
	SignatureVersion       = "v1"
)

// authenticator adds credentials to one outgoing request.
type authenticator interface {
	// authorize sets the request's credentials; body is the exact body sent.
	authorize(ctx context.Context, req *http.Request, body []byte) error
	// rejected is told that the remote system answered 401; true if a cached token
	// was dropped (so one more attempt with a fresh token makes sense).
	rejected() bool
}

type noAuth struct{}

func (noAuth) authorize(context.Context, *http.Request, []byte) error { return nil }
func (noAuth) rejected() bool                                         { return false }

type bearerAuth struct{ token string }

func (b bearerAuth) authorize(_ context.Context, req *http.Request, _ []byte) error {
	req.Header.Set("Authorization", "Bearer "+b.token)
	return nil
}
func (bearerAuth) rejected() bool { return false }

// hmacAuth signs "<timestamp>.<METHOD>.<path?query>.<body>" with HMAC-SHA256.
type hmacAuth struct {
	secret           []byte
	header, tsHeader string
	now              func() time.Time
}

func (h hmacAuth) authorize(_ context.Context, req *http.Request, body []byte) error {
	ts := strconv.FormatInt(h.now().Unix(), 10)
	req.Header.Set(h.tsHeader, ts)
	req.Header.Set(h.header, SignatureVersion+"="+Sign(h.secret, ts, req.Method, req.URL.RequestURI(), body))
	return nil
}
func (hmacAuth) rejected() bool { return false }

// Sign returns the hex HMAC-SHA256, keyed with secret, of
// "<timestamp>.<METHOD>.<requestURI>.<body>", where timestamp is the decimal Unix time
// in seconds sent in the timestamp header and requestURI is the escaped path and query
// exactly as in the request line. A receiver recomputes it to verify a request
// (docs/connectors.md).
func Sign(secret []byte, timestamp, method, requestURI string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp + "." + method + "." + requestURI + "."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// oauthAuth fetches client-credentials tokens with the call's context, caches the
// token until shortly before it expires, and drops it after a 401.
type oauthAuth struct {
	cfg    *clientcredentials.Config
	client *http.Client

	mu  sync.Mutex
	tok *oauth2.Token
}

func (o *oauthAuth) authorize(ctx context.Context, req *http.Request, _ []byte) error {
	tok, err := o.token(ctx)
	if err != nil {
		return err
	}
	tok.SetAuthHeader(req)
	return nil
}

func (o *oauthAuth) token(ctx context.Context) (*oauth2.Token, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.tok.Valid() {
		return o.tok, nil
	}
	tok, err := o.cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, o.client))
	if err != nil {
		return nil, tokenError(ctx, err)
	}
	o.tok = tok
	return tok, nil
}

func (o *oauthAuth) rejected() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	dropped := o.tok != nil
	o.tok = nil
	return dropped
}

var oauthCode = regexp.MustCompile(`^[a-z_]{1,40}$`)

// tokenError classifies a token fetch failure without its body, URL or credentials:
// a 4xx from the token endpoint is ErrAuth, 5xx ErrUnavailable, transport failures as
// for any request.
func tokenError(ctx context.Context, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		code := ""
		if oauthCode.MatchString(re.ErrorCode) {
			code = " (" + re.ErrorCode + ")"
		}
		if re.Response.StatusCode >= 500 {
			return fmt.Errorf("%w: oauth2 token endpoint answered %d%s", ErrUnavailable, re.Response.StatusCode, code)
		}
		return fmt.Errorf("%w: oauth2 token endpoint answered %d%s", ErrAuth, re.Response.StatusCode, code)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return transportError(ctx, "oauth2 token endpoint", ue.Err)
	}
	// oauth2 reports a token answer it cannot read by text only.
	return fmt.Errorf("%w: oauth2 token endpoint gave no usable token", ErrAuth)
}

// newAuth builds the authenticator of a (defaulted) AuthConfig.
func newAuth(a AuthConfig, client *http.Client, now func() time.Time, getenv func(string) string) (authenticator, error) {
	secret := func(key string, v Secret, env string) (string, error) {
		switch {
		case v != "" && env != "":
			return "", fmt.Errorf("%w: auth: set %s or %s_env, not both", ErrConfig, key, key)
		case env != "":
			if s := getenv(env); s != "" {
				return s, nil
			}
			return "", fmt.Errorf("%w: auth: %s_env: environment variable %s is empty or unset", ErrConfig, key, env)
		case v == "":
			return "", fmt.Errorf("%w: auth: %s type needs %s or %s_env", ErrConfig, a.Type, key, key)
		}
		return string(v), nil
	}
	switch a.Type {
	case AuthNone:
		return noAuth{}, nil
	case AuthBearer:
		tok, err := secret("token", a.Token, a.TokenEnv)
		return bearerAuth{token: tok}, err
	case AuthHMAC:
		s, err := secret("secret", a.Secret, a.SecretEnv)
		if err != nil {
			return nil, err
		}
		h := hmacAuth{secret: []byte(s), header: a.Header, tsHeader: a.TimestampHeader, now: now}
		if h.header == "" {
			h.header = DefaultSignatureHeader
		}
		if h.tsHeader == "" {
			h.tsHeader = DefaultTimestampHeader
		}
		return h, nil
	case AuthOAuth2:
		return newOAuth(a, client, secret)
	}
	return nil, fmt.Errorf("%w: auth: unknown type %q (none, bearer, hmac, oauth2)", ErrConfig, a.Type)
}

func newOAuth(a AuthConfig, client *http.Client, secret func(string, Secret, string) (string, error)) (authenticator, error) {
	u, err := url.Parse(a.TokenURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%w: auth: token_url must be an absolute http(s) URL", ErrConfig)
	}
	if a.ClientID == "" {
		return nil, fmt.Errorf("%w: auth: oauth2 needs client_id", ErrConfig)
	}
	s, err := secret("client_secret", a.ClientSecret, a.ClientSecretEnv)
	if err != nil {
		return nil, err
	}
	styles := map[string]oauth2.AuthStyle{"": oauth2.AuthStyleAutoDetect,
		"header": oauth2.AuthStyleInHeader, "params": oauth2.AuthStyleInParams}
	style, ok := styles[a.AuthStyle]
	if !ok {
		return nil, fmt.Errorf("%w: auth: auth_style %q is not header or params", ErrConfig, a.AuthStyle)
	}
	params := url.Values{}
	for k, v := range a.TokenParams {
		params.Set(k, v)
	}
	return &oauthAuth{client: client, cfg: &clientcredentials.Config{ClientID: a.ClientID, ClientSecret: s,
		TokenURL: a.TokenURL, Scopes: a.Scopes, EndpointParams: params, AuthStyle: style}}, nil
}

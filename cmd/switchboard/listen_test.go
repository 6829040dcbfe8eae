package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/gateway"
	"github.com/switchboard-cs/switchboard/internal/config"
)

// selfSigned writes a certificate for 127.0.0.1 and its key under dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestHSTSBehindAProxy: http.hsts sends Strict-Transport-Security from a plain-HTTP
// listener (TLS terminated by a proxy); without it and without TLS there is none.
func TestHSTSBehindAProxy(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*config.HTTPConfig)
		want bool
	}{
		{"plain HTTP", func(*config.HTTPConfig) {}, false},
		{"behind a TLS proxy", func(c *config.HTTPConfig) { c.HSTS = true }, true},
		{"TLS here", func(c *config.HTTPConfig) { c.TLSCertFile, c.TLSKeyFile = "c.pem", "k.pem" }, true},
	} {
		cfg := config.Default().HTTP
		tc.set(&cfg)
		reg := prometheus.NewRegistry()
		srv := gateway.New(gateway.Options{Log: slog.New(slog.DiscardHandler), Registerer: reg, Gatherer: reg, TLS: hsts(cfg)})
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		if got := rec.Header().Get("Strict-Transport-Security") != ""; got != tc.want {
			t.Errorf("%s: HSTS sent %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestTLSRefusesOldClients: the API listener pins TLS 1.2 as its minimum, so a TLS 1.1
// client is refused even where GODEBUG (tls10server=1) would lower Go's default.
func TestTLSRefusesOldClients(t *testing.T) {
	t.Setenv("GODEBUG", "tls10server=1")
	cfg := config.Default().HTTP
	cfg.Addr = "127.0.0.1:0"
	cfg.TLSCertFile, cfg.TLSKeyFile = selfSigned(t, t.TempDir())
	reg := prometheus.NewRegistry()
	srv := gateway.New(gateway.Options{Log: slog.New(slog.DiscardHandler), Registerer: reg, Gatherer: reg})
	lns, err := listen(cfg, srv)
	if err != nil {
		t.Fatal(err)
	}
	errc := lns.serve()
	defer func() {
		if err := lns.shutdown(context.Background()); err != nil {
			t.Error(err)
		}
		<-errc
	}()
	addr, _ := lns.addrs()
	for _, tc := range []struct {
		name    string
		version uint16
		ok      bool
	}{{"TLS 1.0", tls.VersionTLS10, false}, {"TLS 1.1", tls.VersionTLS11, false}, {"TLS 1.2", tls.VersionTLS12, true}, {"TLS 1.3", tls.VersionTLS13, true}} {
		conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MinVersion: tc.version, MaxVersion: tc.version})
		if conn != nil {
			conn.Close()
		}
		if (err == nil) != tc.ok {
			t.Errorf("%s client: err %v, want accepted=%v", tc.name, err, tc.ok)
		}
	}
}

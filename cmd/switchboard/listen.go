package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/switchboard-cs/switchboard/gateway"
	"github.com/switchboard-cs/switchboard/internal/config"
)

// listeners are serve's HTTP servers: the API (with TLS when configured) and, with
// http.admin_addr, the admin one for /metrics and the probes.
type listeners struct {
	cfg     config.HTTPConfig
	api     *http.Server
	apiLn   net.Listener
	admin   *http.Server // nil without http.admin_addr
	adminLn net.Listener
}

// hsts reports whether responses carry Strict-Transport-Security: with TLS here, or with
// http.hsts when a proxy in front terminates it.
func hsts(cfg config.HTTPConfig) bool { return cfg.TLSEnabled() || cfg.HSTS }

// tlsConfig pins the oldest TLS version the API accepts, whatever Go's defaults (or a
// GODEBUG setting) would allow.
func tlsConfig() *tls.Config { return &tls.Config{MinVersion: tls.VersionTLS12} }

// listen binds the API listener (and the admin one) for srv.
func listen(cfg config.HTTPConfig, srv *gateway.Server) (*listeners, error) {
	l := &listeners{cfg: cfg, api: &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: cfg.ReadTimeout, WriteTimeout: cfg.WriteTimeout, TLSConfig: tlsConfig()}}
	// Shutdown does not touch hijacked connections: close the WebSockets ourselves.
	l.api.RegisterOnShutdown(srv.CloseSockets)
	var err error
	if l.apiLn, err = net.Listen("tcp", cfg.Addr); err != nil {
		return nil, fmt.Errorf("listen %s: %w", cfg.Addr, err)
	}
	if cfg.AdminAddr != "" {
		l.admin = &http.Server{Handler: srv.AdminHandler(), ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout: cfg.ReadTimeout, WriteTimeout: cfg.WriteTimeout}
		if l.adminLn, err = net.Listen("tcp", cfg.AdminAddr); err != nil {
			l.apiLn.Close()
			return nil, fmt.Errorf("listen %s (http.admin_addr): %w", cfg.AdminAddr, err)
		}
	}
	return l, nil
}

// addrs returns the bound API and admin addresses ("" without an admin listener).
func (l *listeners) addrs() (api, admin string) {
	if l.adminLn != nil {
		admin = l.adminLn.Addr().String()
	}
	return l.apiLn.Addr().String(), admin
}

// serve runs both servers; the channel gets the first one's failure.
func (l *listeners) serve() <-chan error {
	errc := make(chan error, 2)
	go func() {
		if l.cfg.TLSEnabled() {
			errc <- l.api.ServeTLS(l.apiLn, l.cfg.TLSCertFile, l.cfg.TLSKeyFile)
		} else {
			errc <- l.api.Serve(l.apiLn)
		}
	}()
	if l.admin != nil {
		go func() { errc <- l.admin.Serve(l.adminLn) }()
	}
	return errc
}

// shutdown drains both servers (and closes the WebSockets) within ctx.
func (l *listeners) shutdown(ctx context.Context) error {
	var errs []error
	if err := l.api.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, err)
	}
	if l.admin != nil {
		if err := l.admin.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Package config loads Switchboard's settings before any message flows: cmd/switchboard
// reads one YAML file plus SWITCHBOARD_* environment overrides at start-up and hands each
// section to the package it configures (gateway, tickets, stores, security).
//
// Precedence is environment over file over [Default]. Decoding is strict: an unknown YAML
// key is an error that names its line, and [Config.Validate] reports every invalid value
// with the key to fix. Every key and environment variable is documented in
// docs/configuration.md; a test keeps that table and this package in step.
package config

package main

import (
	"testing"

	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// TestMain stops what the tests started (private PostgreSQL and Redis servers, template
// databases) and fails when a goroutine of an in-process serve outlived its stop.
func TestMain(m *testing.M) { testenv.MainCheckingLeaks(m) }

// Package pipeline runs one customer turn through ordered steps and holds the Turn they
// share. The steps themselves (fetch, speech, vision, redact, persist; speech_deferred,
// handover, understand, respond, escalate) are gateway/flow's. The pipeline, not the
// stages, owns timing, timeouts, metrics, logging, a trace span per stage, panic
// containment and the degraded/fail-closed policy.
package pipeline

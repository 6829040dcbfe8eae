// Package safe is plumbing for the background goroutines of every stage of the flow
// (queue workers, event listeners, watchers, WebSocket readers): it turns a panic into an
// error with the stack in the log and a count in switchboard_panics_total{where}, so one
// bad turn or event cannot take the process down.
package safe

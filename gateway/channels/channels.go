// Package channels is the one list of channel plugins: the server mounts
// /v1/channels/<name> for each, and `serve` opens the configured ones from their
// settings. A new channel is a package under gateway/channel and a line here.
package channels

import (
	"fmt"
	"net/http"

	"github.com/switchboard-cs/switchboard/gateway/channel"
	"github.com/switchboard-cs/switchboard/gateway/channel/slack"
	"github.com/switchboard-cs/switchboard/gateway/channel/telegram"
	"github.com/switchboard-cs/switchboard/gateway/channel/webhook"
	"github.com/switchboard-cs/switchboard/gateway/channel/wecom"
)

// All are the channels Switchboard speaks, in the order their routes are mounted.
var All = []channel.Kind{
	telegram.Kind,
	slack.Kind,
	webhook.Kind,
	wecom.Kind,
}

// Open builds the channels whose settings turn them on (settings by channel name), each
// with client for its platform's API.
func Open(settings map[string]channel.Settings, client *http.Client) ([]channel.Channel, error) {
	var out []channel.Channel
	for _, k := range All {
		ch, err := k.Open(settings[k.Name], client)
		if err != nil {
			return nil, fmt.Errorf("channels.%s: %w", k.Name, err)
		}
		if ch != nil {
			out = append(out, ch)
		}
	}
	return out, nil
}

package flow

import (
	"testing"

	"github.com/switchboard-cs/switchboard/gateway/pipeline"
)

func TestPhotoMarker(t *testing.T) {
	for _, tc := range []struct {
		labels     []pipeline.Label
		categories []string
		want       string
	}{
		{[]pipeline.Label{{Name: "pelican", Score: 0.97}, {Name: "spoonbill", Score: 0.02}}, []string{"sea birds", "odd,name"},
			"[photo: pelican 97% | category: sea birds, odd name]"},
		{nil, nil, "[photo: unrecognised]"},
		{[]pipeline.Label{{Name: "a]b", Score: 0.5}, {Name: "c", Score: 0.3}, {Name: "d", Score: 0.1}, {Name: "e", Score: 0.06}}, nil,
			"[photo: a b 50%, c 30%, d 10%]"},
	} {
		if got := photoMarker(tc.labels, tc.categories); got != tc.want {
			t.Errorf("photoMarker(%v, %v) = %q, want %q", tc.labels, tc.categories, got, tc.want)
		}
	}
}

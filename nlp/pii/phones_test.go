package pii

import (
	"context"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nyaruka/phonenumbers"
)

// TestNationalNumberMatchesTheParser checks the fast path that builds a national number
// without libphonenumber's parser against the parser itself, on random digit strings of
// phone lengths (with and without the trunk prefix) in every default region: the same
// validity and the same E.164 form.
func TestNationalNumberMatchesTheParser(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	lengths := regionLengths()
	checked, valid := 0, 0
	for _, reg := range DefaultPhoneRegions {
		n := lengths[reg]
		for range 3000 {
			d := strconv.Itoa(rng.IntN(9) + 1)
			if rng.IntN(2) == 0 {
				d = n.prefix
			}
			for len(d) < minPhoneDigits+rng.IntN(maxPhoneDigits-minPhoneDigits) {
				d += strconv.Itoa(rng.IntN(10))
			}
			want, err := phonenumbers.Parse(d, reg)
			wantOK := err == nil && phonenumbers.IsValidNumberForRegion(want, reg)
			got, err := n.number(d, reg)
			gotOK := err == nil && phonenumbers.IsValidNumberForRegion(got, reg)
			checked++
			if gotOK != wantOK {
				t.Errorf("%s %s: valid %v, the parser says %v", reg, d, gotOK, wantOK)
				continue
			}
			if wantOK {
				valid++
				if g, w := phonenumbers.Format(got, phonenumbers.E164), phonenumbers.Format(want, phonenumbers.E164); g != w {
					t.Errorf("%s %s: %s, the parser says %s", reg, d, g, w)
				}
			}
		}
	}
	if valid < checked/50 {
		t.Errorf("only %d of %d random numbers valid: the test says nothing", valid, checked)
	}
}

// TestPhoneNotations redacts phone numbers written the ways customers write them in the
// regions the issue names, and leaves look-alikes alone.
func TestPhoneNotations(t *testing.T) {
	redactsTo(t, NewRedactor(), []redaction{
		{"call me on 020 7946 0958 please", "call me on [PHONE_1] please"},                   // UK London
		{"my mobile is 07700 900123", "my mobile is [PHONE_1]"},                              // UK mobile
		{"reach me at +44 20 7946 0958", "reach me at [PHONE_1]"},                            // UK international
		{"ring 0412 345 678 after 5", "ring [PHONE_1] after 5"},                              // AU mobile
		{"Sydney office (02) 9374 4000", "Sydney office [PHONE_1]"},                          // AU landline
		{"WhatsApp +61 412 345 678", "WhatsApp [PHONE_1]"},                                   // AU international
		{"我的电话 2345 6789", "我的电话 [PHONE_1]"},                                                 // HK, cued
		{"please call 9123 4567 tomorrow", "please call [PHONE_1] tomorrow"},                 // SG mobile
		{"+852 2345 6789 is our shop", "[PHONE_1] is our shop"},                              // HK international
		{"台北 (02) 2345-6789 找我", "台北 [PHONE_1] 找我"},                                          // TW landline
		{"手機 0912-345-678", "手機 [PHONE_1]"},                                                  // TW mobile
		{"Tel. 030 12345678", "Tel. [PHONE_1]"},                                              // DE Berlin
		{"appelez le 01 23 45 67 89", "appelez le [PHONE_1]"},                                // FR
		{"bel 06-12345678", "bel [PHONE_1]"},                                                 // NL mobile
		{"chiamami al 347 123 4567", "chiamami al [PHONE_1]"},                                // IT mobile (cue "call" absent: validity)
		{"Fax: 259.735.7502x459", "Fax: [PHONE_1]"},                                          // dotted with an extension
		{"desk +1-903-140-4508 ext. 769", "desk [PHONE_1]"},                                  // extension written out
		{"call 0049 30 12345678", "call [PHONE_1]"},                                          // 00 instead of +
		{"Order 4823 1190 ships Monday", "Order 4823 1190 ships Monday"},                     // order number
		{"delivery on 12.05.2024 between 9 and 5", "delivery on 12.05.2024 between 9 and 5"}, // dotted date
		{"server 192.168.10.20 is down", "server [IP_1] is down"},                            // an IP, not a phone
		{"zip code 75534-030", "zip code 75534-030"},                                         // postal code
		{"part 123-45-67890 in stock", "part 123-45-67890 in stock"},                         // part number
		{"it costs 1,299.99 dollars", "it costs 1,299.99 dollars"},                           // price
		{"On 2007-01-17 23:08:55 it failed", "On 2007-01-17 23:08:55 it failed"},             // timestamp
		{"海曙区苏家小区178-1217-802", "[ADDRESS_1]"},                                               // building-unit-room
	})
}

// redaction is a text and what redaction must make of it.
type redaction struct{ in, want string }

// redactsTo redacts each text with r as a subtest and compares the result.
func redactsTo(t *testing.T, r *Redactor, tests []redaction) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			res, err := r.Redact(context.Background(), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, res.Text); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestCustomerRegionFirst reads a number in the customer's region's notation first: an
// 8-digit number written in groups is Hong Kong's for a Hong Kong customer, and the
// placeholders' values are the E.164 numbers of that region.
func TestCustomerRegionFirst(t *testing.T) {
	r := NewRedactor(WithPhoneRegions("US", "GB"))
	text := "text me at 2345 6789"
	res, _ := r.Redact(context.Background(), text)
	if len(res.Spans) != 1 { // cued: redacted whatever the region
		t.Fatalf("spans %+v", res.Spans)
	}
	plain := "2345 6789 is my number"
	if res, _ := r.Redact(context.Background(), plain); len(res.Spans) != 0 {
		t.Errorf("US and GB: %q is nobody's number, got %+v", plain, res.Spans)
	}
	if res, _ := r.Redact(WithRegion(context.Background(), "hk"), plain); len(res.Spans) != 1 || res.Spans[0].Type != TypePhone {
		t.Errorf("a Hong Kong customer: %q holds a phone number, got %+v", plain, res.Spans)
	}
	if got := WithRegion(context.Background(), "XX"); got.Value(regionKey{}) != nil {
		t.Error("an unknown region must be ignored")
	}
}

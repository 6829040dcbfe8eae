package tickets

import (
	"fmt"
	"time"
)

// SLAPolicy sets the first-response and resolution targets for one
// priority. Targets count business time: that of the calendar of the skill
// group a ticket is filed under when the group has one (Calendar); otherwise,
// with BusinessStart/End empty the clock runs around the clock, else only
// inside the window on BusinessDays (0 = Sunday) in Timezone.
type SLAPolicy struct {
	Priority             Priority `json:"priority"`
	FirstResponseMinutes int      `json:"first_response_minutes"`
	ResolutionMinutes    int      `json:"resolution_minutes"`
	Timezone             string   `json:"timezone"`
	BusinessDays         []int    `json:"business_days"`
	BusinessStart        string   `json:"business_start,omitempty"` // "09:00"
	BusinessEnd          string   `json:"business_end,omitempty"`   // "18:00"
}

// Validate reports the first thing wrong with the policy.
func (p SLAPolicy) Validate() error {
	if !p.Priority.Valid() {
		return fmt.Errorf("sla policy priority %q: want urgent, high, normal or low: %w", p.Priority, ErrInvalid)
	}
	if p.FirstResponseMinutes <= 0 || p.ResolutionMinutes <= 0 {
		return fmt.Errorf("sla policy minutes must be > 0: %w", ErrInvalid)
	}
	if p.ResolutionMinutes < p.FirstResponseMinutes {
		return fmt.Errorf("sla policy resolution_minutes must be ≥ first_response_minutes: %w", ErrInvalid)
	}
	_, err := p.hours()
	return err
}

// Deadlines returns the first-response and resolution deadlines for a
// ticket created at created, counted in the policy's own business hours.
func (p SLAPolicy) Deadlines(created time.Time) (firstResponse, resolution time.Time, err error) {
	return p.DeadlinesIn(nil, created)
}

// DeadlinesIn is Deadlines counted in cal's business time (holidays skipped) when
// cal is not nil: the calendar of the skill group a ticket is filed under takes
// the place of the policy's hours; the targets stay the policy's.
func (p SLAPolicy) DeadlinesIn(cal *Calendar, created time.Time) (firstResponse, resolution time.Time, err error) {
	var h businessHours
	if cal != nil {
		h, err = cal.hours()
	} else {
		h, err = p.hours()
	}
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	firstResponse = h.add(created, time.Duration(p.FirstResponseMinutes)*time.Minute)
	resolution = h.add(created, time.Duration(p.ResolutionMinutes)*time.Minute)
	return firstResponse, resolution, nil
}

func (p SLAPolicy) hours() (businessHours, error) {
	tz := p.Timezone
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return businessHours{}, fmt.Errorf("sla policy timezone %q: %w", tz, ErrInvalid)
	}
	h := businessHours{loc: loc}
	if p.BusinessStart == "" && p.BusinessEnd == "" {
		h.always = true
		return h, nil
	}
	var sp span
	if sp.start, err = clockOffset(p.BusinessStart); err != nil {
		return businessHours{}, err
	}
	if sp.end, err = clockOffset(p.BusinessEnd); err != nil {
		return businessHours{}, err
	}
	if sp.start >= sp.end {
		return businessHours{}, fmt.Errorf("sla policy business_start must be before business_end: %w", ErrInvalid)
	}
	if len(p.BusinessDays) == 0 {
		return businessHours{}, fmt.Errorf("sla policy with business hours needs business_days: %w", ErrInvalid)
	}
	for _, d := range p.BusinessDays {
		if d < 0 || d > 6 {
			return businessHours{}, fmt.Errorf("sla policy business day %d: want 0 (Sunday) to 6: %w", d, ErrInvalid)
		}
		if len(h.week[d]) == 0 {
			h.week[d] = []span{sp}
		}
	}
	return h, nil
}

// clockOffset reads a policy's "HH:MM" as minutes since midnight.
func clockOffset(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("sla policy time %q: want HH:MM: %w", s, ErrInvalid)
	}
	return t.Hour()*60 + t.Minute(), nil
}

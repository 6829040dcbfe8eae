package tickets

import (
	"fmt"
	"slices"
	"time"
)

// SLAPolicy sets the first-response and resolution targets for one
// priority. Targets count business time: with BusinessStart/End empty the
// clock runs around the clock, otherwise only inside the window on
// BusinessDays (0 = Sunday) in Timezone.
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
// ticket created at created.
func (p SLAPolicy) Deadlines(created time.Time) (firstResponse, resolution time.Time, err error) {
	h, err := p.hours()
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	firstResponse = h.add(created, time.Duration(p.FirstResponseMinutes)*time.Minute)
	resolution = h.add(created, time.Duration(p.ResolutionMinutes)*time.Minute)
	return firstResponse, resolution, nil
}

type businessHours struct {
	loc        *time.Location
	days       []time.Weekday
	start, end time.Duration // since local midnight; both 0 = always open
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
		return h, nil
	}
	if h.start, err = clockOffset(p.BusinessStart); err != nil {
		return businessHours{}, err
	}
	if h.end, err = clockOffset(p.BusinessEnd); err != nil {
		return businessHours{}, err
	}
	if h.start >= h.end {
		return businessHours{}, fmt.Errorf("sla policy business_start must be before business_end: %w", ErrInvalid)
	}
	if len(p.BusinessDays) == 0 {
		return businessHours{}, fmt.Errorf("sla policy with business hours needs business_days: %w", ErrInvalid)
	}
	for _, d := range p.BusinessDays {
		if d < 0 || d > 6 {
			return businessHours{}, fmt.Errorf("sla policy business day %d: want 0 (Sunday) to 6: %w", d, ErrInvalid)
		}
		h.days = append(h.days, time.Weekday(d))
	}
	return h, nil
}

func clockOffset(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("sla policy time %q: want HH:MM: %w", s, ErrInvalid)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// add moves d of business time forward from t.
func (h businessHours) add(t time.Time, d time.Duration) time.Time {
	if h.start == 0 && h.end == 0 {
		return t.Add(d)
	}
	cur := t.In(h.loc)
	for range 400 { // at most a year and a bit of days; policies are hours to weeks
		y, m, day := cur.Date()
		if slices.Contains(h.days, cur.Weekday()) {
			open := time.Date(y, m, day, 0, 0, 0, 0, h.loc).Add(h.start)
			closeAt := time.Date(y, m, day, 0, 0, 0, 0, h.loc).Add(h.end)
			if cur.Before(open) {
				cur = open
			}
			if cur.Before(closeAt) {
				if left := closeAt.Sub(cur); d <= left {
					return cur.Add(d)
				} else {
					d -= left
				}
			}
		}
		cur = time.Date(y, m, day+1, 0, 0, 0, 0, h.loc)
	}
	return cur.Add(d)
}

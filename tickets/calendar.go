package tickets

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// Calendar is when a skill group works: weekly opening hours in an IANA time
// zone, and holidays (dates in that zone) closed all day. The SLA clocks of the
// group's tickets run only while it is open (setDeadlines), and a customer whose
// ticket waits while it is closed is told when it opens next (AfterHours).
type Calendar struct {
	Timezone string         `json:"timezone"` // IANA, e.g. "Asia/Shanghai"
	Hours    []OpeningHours `json:"hours"`
	Holidays []Holiday      `json:"holidays,omitempty"`
}

// OpeningHours is one interval of opening on each of Days. A day may have several
// (a lunch break is two); they may not overlap. An interval ends by midnight: a
// night shift is one ending at "24:00" and one starting at "00:00" the next day,
// and the clock runs on across midnight.
type OpeningHours struct {
	Days  []int  `json:"days"`  // 0 = Sunday … 6 = Saturday
	Start string `json:"start"` // "09:00"
	End   string `json:"end"`   // "18:00"; "24:00" is the day's end
}

// Holiday is a date (in the calendar's time zone) the group is closed all day.
type Holiday struct {
	Date string `json:"date"` // "2026-10-01"
	Name string `json:"name,omitempty"`
}

// Calendar limits: anything more is invalid.
const (
	maxHolidays     = 366
	maxOpeningHours = 50
	maxHolidayName  = 100
)

var clockRe = regexp.MustCompile(`^([01][0-9]|2[0-3]):([0-5][0-9])$`)

// parseClock reads "HH:MM" as minutes since midnight; allowMidnight admits "24:00".
func parseClock(s string, allowMidnight bool) (int, error) {
	if allowMidnight && s == "24:00" {
		return 24 * 60, nil
	}
	m := clockRe.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("time %q: want HH:MM: %w", s, ErrInvalid)
	}
	h, _ := strconv.Atoi(m[1])
	mm, _ := strconv.Atoi(m[2])
	return h*60 + mm, nil
}

// normalize checks the calendar and puts it in order: days and holidays sorted.
// Every fault is ErrInvalid, with a message saying what is wrong.
func (c *Calendar) normalize() error {
	if _, err := c.hours(); err != nil {
		return err
	}
	for i := range c.Hours {
		slices.Sort(c.Hours[i].Days)
	}
	slices.SortFunc(c.Holidays, func(a, b Holiday) int {
		if a.Date < b.Date {
			return -1
		}
		if a.Date > b.Date {
			return 1
		}
		return 0
	})
	return nil
}

// hours validates the calendar and compiles it.
func (c Calendar) hours() (businessHours, error) {
	if c.Timezone == "" || c.Timezone == "Local" {
		return businessHours{}, fmt.Errorf("calendar timezone %q: want an IANA zone such as Asia/Shanghai: %w", c.Timezone, ErrInvalid)
	}
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return businessHours{}, fmt.Errorf("calendar timezone %q: unknown zone: %w", c.Timezone, ErrInvalid)
	}
	h := businessHours{loc: loc}
	if len(c.Hours) == 0 || len(c.Hours) > maxOpeningHours {
		return businessHours{}, fmt.Errorf("calendar hours: want 1 to %d opening intervals, got %d: %w", maxOpeningHours, len(c.Hours), ErrInvalid)
	}
	for _, oh := range c.Hours {
		sp, err := oh.span()
		if err != nil {
			return businessHours{}, err
		}
		if len(oh.Days) == 0 {
			return businessHours{}, fmt.Errorf("calendar hours %s–%s: no days: %w", oh.Start, oh.End, ErrInvalid)
		}
		for _, d := range oh.Days {
			if d < 0 || d > 6 {
				return businessHours{}, fmt.Errorf("calendar day %d: want 0 (Sunday) to 6 (Saturday): %w", d, ErrInvalid)
			}
			for _, other := range h.week[d] {
				if sp.start < other.end && other.start < sp.end {
					return businessHours{}, fmt.Errorf("calendar hours %s–%s overlap other hours on %s: %w",
						oh.Start, oh.End, time.Weekday(d), ErrInvalid)
				}
			}
			h.week[d] = append(h.week[d], sp)
		}
	}
	for d := range h.week {
		slices.SortFunc(h.week[d], func(a, b span) int { return a.start - b.start })
	}
	if len(c.Holidays) > maxHolidays {
		return businessHours{}, fmt.Errorf("calendar holidays: at most %d, got %d: %w", maxHolidays, len(c.Holidays), ErrInvalid)
	}
	h.holidays = make(map[civilDate]bool, len(c.Holidays))
	for _, hd := range c.Holidays {
		day, err := time.Parse(time.DateOnly, hd.Date)
		if err != nil {
			return businessHours{}, fmt.Errorf("calendar holiday %q: want YYYY-MM-DD: %w", hd.Date, ErrInvalid)
		}
		if len(hd.Name) > maxHolidayName || !utf8.ValidString(hd.Name) {
			return businessHours{}, fmt.Errorf("calendar holiday %s: name at most %d bytes of UTF-8: %w", hd.Date, maxHolidayName, ErrInvalid)
		}
		key := civilOf(day)
		if h.holidays[key] {
			return businessHours{}, fmt.Errorf("calendar holiday %s: listed twice: %w", hd.Date, ErrInvalid)
		}
		h.holidays[key] = true
	}
	return h, nil
}

func (oh OpeningHours) span() (span, error) {
	start, err := parseClock(oh.Start, false)
	if err != nil {
		return span{}, fmt.Errorf("calendar start: %w", err)
	}
	end, err := parseClock(oh.End, true)
	if err != nil {
		return span{}, fmt.Errorf("calendar end: %w", err)
	}
	if end <= start {
		return span{}, fmt.Errorf("calendar hours %s–%s: the end must be after the start (split a night shift at 24:00): %w",
			oh.Start, oh.End, ErrInvalid)
	}
	return span{start: start, end: end}, nil
}

// businessHours is compiled opening time: intervals by weekday in a zone, minus
// holidays. always: open around the clock.
type businessHours struct {
	loc      *time.Location
	always   bool
	week     [7][]span // by time.Weekday, sorted by start
	holidays map[civilDate]bool
}

// span is an opening interval in minutes since local midnight (end ≤ 24 h).
type span struct{ start, end int }

// civilDate is a calendar date, free of any zone.
type civilDate struct {
	y int
	m time.Month
	d int
}

func civilOf(t time.Time) civilDate {
	y, m, d := t.Date()
	return civilDate{y, m, d}
}

// plus is the date n days later.
func (c civilDate) plus(n int) civilDate {
	return civilOf(time.Date(c.y, c.m, c.d+n, 12, 0, 0, 0, time.UTC))
}

func (c civilDate) weekday() time.Weekday {
	return time.Date(c.y, c.m, c.d, 12, 0, 0, 0, time.UTC).Weekday()
}

// at is the instant of the wall clock minute on date c in loc; time.Date moves a
// minute a DST change skips forward, and 24:00 is the next midnight.
func (c civilDate) at(minute int, loc *time.Location) time.Time {
	return time.Date(c.y, c.m, c.d, 0, minute, 0, 0, loc)
}

// maxScanDays bounds the walk over the calendar: a year of holidays and more.
const maxScanDays = 3 * 366

// openings calls fn with each opening interval from the local date of t on, in
// order, until fn returns false or maxScanDays have passed.
func (h businessHours) openings(t time.Time, fn func(open, closeAt time.Time) bool) {
	day := civilOf(t.In(h.loc))
	for range maxScanDays {
		if !h.holidays[day] {
			for _, sp := range h.week[day.weekday()] {
				if !fn(day.at(sp.start, h.loc), day.at(sp.end, h.loc)) {
					return
				}
			}
		}
		day = day.plus(1)
	}
}

// add moves d of business time forward from t. Adjacent intervals (18:00 to 24:00,
// then 00:00 on) count as one: the clock runs on across midnight.
func (h businessHours) add(t time.Time, d time.Duration) time.Time {
	if h.always {
		return t.Add(d)
	}
	cur, done := t, false
	h.openings(t, func(open, closeAt time.Time) bool {
		if !cur.Before(closeAt) {
			return true
		}
		if cur.Before(open) {
			cur = open
		}
		if left := closeAt.Sub(cur); d <= left {
			cur, done = cur.Add(d), true
			return false
		}
		d -= closeAt.Sub(cur)
		cur = closeAt
		return true
	})
	if !done { // no opening for years: the wall clock is the best guess left
		return cur.Add(d)
	}
	return cur
}

// nextOpen says whether the hours are open at t and, when not, when they open
// next (ok false: not within maxScanDays).
func (h businessHours) nextOpen(t time.Time) (openNow bool, opens time.Time, ok bool) {
	if h.always {
		return true, t, true
	}
	h.openings(t, func(open, closeAt time.Time) bool {
		if !t.Before(closeAt) || !open.Before(closeAt) {
			return true
		}
		openNow, opens, ok = !t.Before(open), open, true
		return false
	})
	if openNow {
		opens = t
	}
	return openNow, opens, ok
}

package main

// The IANA time zone database is embedded, so that skill-group calendars, SLA business
// hours and report time zones work on a host without /usr/share/zoneinfo (a slim
// container image).
import _ "time/tzdata"
